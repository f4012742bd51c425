"""The trainer space (no password: the trainer's personal link is the key), made for a phone. portals/trainer/space.py
holds the rules; every page reads the link first (403 tampered, 410 expired or revoked), then refuses with 403 any
session, slot, trainee or record that is not one of the trainer's sessions.

/formateur/<token>                                              half-days to countersign and to come, sessions
/formateur/<token>/creneaux/<slot_id>                           a half-day's sheet: marks and countersignature
/formateur/<token>/creneaux/<slot_id>/releves/<enrolment_id>    (POST) absent, late arrival, early departure
/formateur/<token>/creneaux/<slot_id>/signature                 (POST) the countersignature, which closes the sheet
/formateur/<token>/signatures/<record_id>.png                   a drawn signature of one of those sheets
/formateur/<token>/sessions/<session_id>/positionnement         the trainees' positioning and the advisor's decision
/formateur/<token>/sessions/<session_id>/acquis                 the acquis grid (GET, POST)
/formateur/<token>/resultats                                    the results of the trainer's surveys

POSTs are rate-limited per link (TRAINER_SPACE_RATE_LIMIT).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from ...attendance import services as attendance
from ...attendance.forms import CountersignForm, MarkForm
from ...attendance.views import run_sheet_action
from ...core.errors import ValidationError
from ...core.formatting import count_fr
from ...core.tokens import log_safe_key
from ...core.responses import fail
from ...evaluations.acquis import services as acquis
from ...evaluations.acquis.views import AcquisForm, posted_cells
from ...evaluations.models import ACQUIS_LEVELS
from ...extensions import db, limiter
from ...organisation.services import get_organisation
from ...resources import links
from . import space

bp = Blueprint("trainer_space", __name__, url_prefix="/formateur")


def _per_link() -> str:
    return log_safe_key("trainer-space", request.view_args.get("token", ""))


def _limit() -> str:
    return current_app.config["TRAINER_SPACE_RATE_LIMIT"]


def _client() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}


@bp.route("/<token>")
def home(token: str):
    trainer = links.trainer_from_token(token)
    return render_template("trainer_space/home.html", trainer=trainer, token=token, agenda=space.agenda(trainer),
                           org=get_organisation())


# --------------------------------------------------------------------------- a half-day's sheet


def _sheet(trainer, token: str, slot, status: int = 200, **forms):
    return render_template(
        "trainer_space/slot.html", trainer=trainer, token=token, sheet=space.sheet(trainer, slot),
        sign_form=forms.get("sign_form") or CountersignForm(), mark_form=forms.get("mark_form") or MarkForm(),
        failed_enrolment=forms.get("enrolment_id")), status


def _run(form, action, trainer, token: str, slot, form_name: str, success: str, enrolment_id: int | None = None):
    """The sheet's action (attendance/views.py: run_sheet_action); on refusal the sheet again with the errors."""
    done = run_sheet_action(form, action, success, url_for("trainer_space.slot", token=token, slot_id=slot.id))
    return done or _sheet(trainer, token, slot, form.error_status, **{form_name: form, "enrolment_id": enrolment_id})


@bp.route("/<token>/creneaux/<int:slot_id>")
def slot(token: str, slot_id: int):
    trainer = links.trainer_from_token(token)
    return _sheet(trainer, token, space.get_slot(trainer, slot_id))


@bp.route("/<token>/creneaux/<int:slot_id>/releves/<int:enrolment_id>", methods=["POST"])
@limiter.limit(_limit, key_func=_per_link)
def mark(token: str, slot_id: int, enrolment_id: int):
    trainer = links.trainer_from_token(token)
    found = space.get_slot(trainer, slot_id)
    enrolment = space.expected_enrolment(found, enrolment_id)
    form = MarkForm()
    return _run(form, lambda: attendance.mark_presence_as(found, enrolment, form.data_for_service(), trainer,
                                                          **_client()),
                trainer, token, found, "mark_form", f"Relevé enregistré pour {enrolment.trainee.full_name}.",
                enrolment.id)


@bp.route("/<token>/creneaux/<int:slot_id>/signature", methods=["POST"])
@limiter.limit(_limit, key_func=_per_link)
def countersign(token: str, slot_id: int):
    trainer = links.trainer_from_token(token)
    found = space.get_slot(trainer, slot_id)
    form = CountersignForm()
    return _run(form, lambda: attendance.countersign_as(found, trainer, **form.signature_data(), **_client()),
                trainer, token, found, "sign_form", "Feuille signée : la demi-journée est close.")


@bp.route("/<token>/signatures/<int:record_id>.png")
def signature_image(token: str, record_id: int):
    trainer = links.trainer_from_token(token)
    image = space.signature_image(trainer, record_id)
    if not image:
        fail(404, "Cette signature n'est pas dessinée.")
    response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- the sessions


@bp.route("/<token>/sessions/<int:session_id>/positionnement")
def positioning(token: str, session_id: int):
    trainer = links.trainer_from_token(token)
    session = space.get_session(trainer, session_id)
    return render_template("trainer_space/positioning.html", trainer=trainer, token=token, session=session,
                           summaries=space.positioning(trainer, session), needs=space.needs_analyses(trainer, session))


def _acquis_page(trainer, token: str, session, form, status: int = 200, errors=None, posted=None):
    return render_template(
        "evaluations/acquis.html", session=session, grid=space.acquis_grid(trainer, session), form=form,
        levels=[(level, ACQUIS_LEVELS[level]) for level in acquis.LEVEL_ORDER], open=acquis.is_open(session),
        errors=errors or {}, posted=posted, max_comment=acquis.MAX_COMMENT,
        action=url_for("trainer_space.acquis_grid", token=token, session_id=session.id),
        back=url_for("trainer_space.home", token=token)), status


@bp.route("/<token>/sessions/<int:session_id>/acquis", methods=["GET", "POST"])
@limiter.limit(_limit, key_func=_per_link, methods=["POST"])
def acquis_grid(token: str, session_id: int):
    trainer = links.trainer_from_token(token)
    session = space.get_session(trainer, session_id)
    form = AcquisForm()
    if request.method == "GET":
        return _acquis_page(trainer, token, session, form)
    if not form.validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    try:
        changed = acquis.record_many_by_trainer(session, posted_cells(), trainer)
    except ValidationError as exc:  # 403 and 409 go to the error page, as on the staff's grid
        db.session.rollback()
        form.form_errors = [message for messages in exc.fields.values() for message in messages] or [exc.message]
        return _acquis_page(trainer, token, session, form, exc.status_code, exc.fields, request.form.to_dict())
    db.session.commit()
    flash(f"{count_fr(changed, 'évaluation enregistrée')}." if changed else "Aucune modification.",
          "success" if changed else "info")
    return redirect(url_for("trainer_space.acquis_grid", token=token, session_id=session.id))


@bp.route("/<token>/resultats")
def results(token: str):
    trainer = links.trainer_from_token(token)
    return render_template("trainer_space/results.html", trainer=trainer, token=token,
                           results=space.survey_results(trainer))
