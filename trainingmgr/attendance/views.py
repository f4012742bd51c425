"""Attendance screens for the trainer and the advisor.

/attendance/slots/<id>            the slot's sheet: statuses, trainer's marks and countersignature, advisor's
                                  corrections and justifications, reminders
/attendance/slots/<id>/qr         the rotating QR code to show in the room (…/qr.svg is the image itself)
/attendance/slots/<id>/kiosk      the staff member's device: each trainee signs in turn (POST: lock the device
                                  in kiosk mode, see kiosk.py); …/kiosk/unlock leaves it with one's password
/attendance/missing               missing signatures and countersignatures across sessions (advisor)
/attendance/records/<id>.png      a drawn signature
"""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, current_app, flash, has_request_context, redirect, render_template, request
from flask import session as flask_session
from flask import url_for
from flask_login import current_user

from ..accounts.permissions import any_role_required, is_api_request, staff_required
from ..core.errors import DomainError, PermissionDenied
from ..core.formatting import count_fr
from ..core.persistence import get_by_id
from ..core.tokens import log_safe_key
from ..core.links import external_url
from ..core.responses import fail
from ..core.view_actions import run_action
from ..extensions import db, limiter
from ..messaging import delivery
from . import access, board, kiosk, services
from .chain import verify_chain
from .forms import ActionForm, CorrectionForm, CountersignForm, JustificationForm, MarkForm, SignatureForm, UnlockForm
from .models import PRESENT_CELLS, AttendanceRecord, WindowState
from .public import _do_sign, _sign_page, window_flags

bp = Blueprint("attendance", __name__, url_prefix="/attendance")


def _client() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}


def _sheet(slot, status: int = 200, **forms):
    session = slot.session
    grid = services.session_grid(session)
    is_trainer = services.trainer_of(current_user, session) is not None
    return render_template(
        "attendance/slot.html", slot=slot, session=session, grid=grid, column=grid.column(slot.id),
        countersignature=grid.countersignatures.get(slot.id), **window_flags(slot), window=services.window(slot),
        is_trainer=is_trainer, is_staff=current_user.is_staff, sign_form=forms.get("sign_form") or CountersignForm(),
        mark_form=forms.get("mark_form") or MarkForm(),
        correction_form=forms.get("correction_form") or CorrectionForm(data={"presence": "present"}),
        justification_form=forms.get("justification_form") or JustificationForm(),
        failed_enrolment=forms.get("enrolment_id"),
    ), status


@bp.route("/slots/<int:slot_id>")
@any_role_required
def slot(slot_id: int):
    return _sheet(services.get_slot(slot_id, current_user))


def run_sheet_action(form, action, success: str, done_url: str):
    """Validate, call the service, commit and redirect to ``done_url``; on refusal roll back, leave the errors (and
    ``form.error_status``) on the form and answer None, for the caller to show the sheet again. Shared with the
    trainer space's sheet (portals/trainer/views.py)."""
    if form.validate_on_submit():
        try:
            action()
        except services.EarlyCountersignature as exc:  # the page asks the question, the drawing kept
            db.session.rollback()
            form.early_question, form.error_status = exc.message, exc.status_code
        except DomainError as exc:
            db.session.rollback()
            form.apply_errors(exc)
        else:
            db.session.commit()
            flash(success, "success")
            return redirect(done_url)
    else:
        form.error_status = 400 if "csrf_token" in form.errors else 422
    form.error_status = getattr(form, "error_status", 422)
    return None


def _run(form, action, slot, form_name: str, success: str, enrolment_id: int | None = None):
    """The sheet's action; on refusal the sheet again with the form's errors."""
    done = run_sheet_action(form, action, success, url_for("attendance.slot", slot_id=slot.id))
    return done or _sheet(slot, form.error_status, **{form_name: form, "enrolment_id": enrolment_id})


@bp.route("/slots/<int:slot_id>/countersign", methods=["POST"])
@any_role_required
def countersign(slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    form = CountersignForm()
    return _run(form, lambda: services.countersign(slot, current_user, **form.signature_data(), **_client()),
                slot, "sign_form", "Feuille signée : le créneau est clos.")


def _row_action(slot_id: int, enrolment_id: int, form_class, service, form_name: str, done: str):
    """A form on one trainee's row of the sheet: ``service(slot, enrolment, data, actor, ip=, user_agent=)``."""
    slot = services.get_slot(slot_id, current_user)
    enrolment = services.get_expected_enrolment(slot, enrolment_id)
    form = form_class()
    return _run(form, lambda: service(slot, enrolment, form.data_for_service(), current_user, **_client()),
                slot, form_name, f"{done} pour {enrolment.trainee.full_name}.", enrolment.id)


@bp.route("/slots/<int:slot_id>/marks/<int:enrolment_id>", methods=["POST"])
@any_role_required
def mark(slot_id: int, enrolment_id: int):
    return _row_action(slot_id, enrolment_id, MarkForm, services.mark_presence, "mark_form", "Relevé enregistré")


@bp.route("/slots/<int:slot_id>/corrections/<int:enrolment_id>", methods=["POST"])
@staff_required
def correction(slot_id: int, enrolment_id: int):
    return _row_action(slot_id, enrolment_id, CorrectionForm, services.correct, "correction_form",
                       "Correction enregistrée")


@bp.route("/slots/<int:slot_id>/justifications/<int:enrolment_id>", methods=["POST"])
@staff_required
def justification(slot_id: int, enrolment_id: int):
    return _row_action(slot_id, enrolment_id, JustificationForm, services.justify, "justification_form",
                       "Justificatif enregistré")


# --------------------------------------------------------------------------- reminders


@bp.route("/slots/<int:slot_id>/remind", methods=["POST"])
@staff_required
def remind(slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    form = ActionForm()
    if not form.validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    enrolment_id = request.form.get("enrolment_id")
    return run_action(
        lambda: board.remind_trainees(slot, current_user,
                                      enrolment_id=int(enrolment_id) if (enrolment_id or "").isdigit() else None),
        lambda sent: f"Rappel mis en file pour {count_fr(sent, 'stagiaire')}. {delivery.queued_note()}" if sent
        else "Aucun stagiaire à relancer.",
        _reminded_back(slot), category=lambda sent: "success" if sent else "info", refused="raise")


@bp.route("/slots/<int:slot_id>/remind-trainer", methods=["POST"])
@staff_required
def remind_trainer(slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    form = ActionForm()
    if not form.validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    return run_action(
        lambda: board.remind_trainer(slot, current_user),
        lambda sent: f"Rappel mis en file pour le formateur ({count_fr(sent, 'e-mail')}). {delivery.queued_note()}"
        if sent else "Aucun formateur avec une adresse e-mail.",
        _reminded_back(slot), category=lambda sent: "success" if sent else "warning", refused="raise")


def _reminded_back(slot) -> str:
    """Back to the page that asked for the reminder (the missing-signatures list), or to the slot's sheet."""
    return (request.form.get("next") if request.form.get("next", "").startswith("/attendance/")
            else url_for("attendance.slot", slot_id=slot.id))


@bp.route("/missing")
@staff_required
def missing():
    return render_template("attendance/missing.html", items=board.missing_signatures(current_user))


# --------------------------------------------------------------------------- QR code and kiosk


@bp.route("/slots/<int:slot_id>/qr")
@any_role_required
def qr(slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    grid = services.session_grid(slot.session)
    counts = grid.counts(slot.id)
    return render_template("attendance/qr.html", slot=slot, session=slot.session, **window_flags(slot),
                           signed=sum(counts.get(status, 0) for status in PRESENT_CELLS), expected=len(grid.rows),
                           period=access._period_seconds())


@bp.route("/slots/<int:slot_id>/qr.svg")
@any_role_required
def qr_svg(slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    if services.window_state(slot) != WindowState.OPEN.value:
        fail(409, "L'émargement de ce créneau n'est pas ouvert.")
    url = external_url("signing.qr_scan", slot_id=slot.id, code=access.qr_code(slot))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=8, border=2, xmldecl=False)
    response = Response(buffer.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Next-Code-In"] = str(access.seconds_to_next_code())
    return response


KIOSK_SESSION_KEY = "kiosk"  # the lock of a device in kiosk mode, in the login's Flask session (kiosk.Lock)


def current_lock() -> kiosk.Lock | None:
    """The lock of this device, if it is in kiosk mode for the logged-in user (dropped once they are not)."""
    if not has_request_context() or KIOSK_SESSION_KEY not in flask_session:
        return None
    lock = kiosk.Lock.from_dict(flask_session.get(KIOSK_SESSION_KEY))
    if lock is None or not current_user.is_authenticated or current_user.id != lock.user_id:
        flask_session.pop(KIOSK_SESSION_KEY, None)  # the login ended: no back office left behind the lock
        return None
    return lock


@bp.before_app_request
def _kiosk_guard():
    """A locked device shows only the kiosk's pages: any other page leads back to its list (kiosk.py). Static files
    and the JSON API (bearer tokens, never the login's cookie) pass without reading the session."""
    if request.endpoint in kiosk.STATIC_ENDPOINTS or is_api_request():
        return None
    lock = current_lock()
    if lock is None or request.path == "/favicon.ico":
        return None
    if request.endpoint in kiosk.KIOSK_ENDPOINTS and (request.view_args or {}).get("slot_id", lock.slot_id) \
            == lock.slot_id:
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("attendance.kiosk", slot_id=lock.slot_id))
    fail(403, "Cet appareil est en mode borne : seuls les stagiaires y signent. Pour en sortir, touchez « Quitter "
              "le mode borne » et saisissez votre mot de passe.")


@bp.app_context_processor
def _kiosk_context() -> dict:
    """``kiosk_lock`` for base.html, which then shows the kiosk's bar instead of the back office's menu."""
    return {"kiosk_lock": current_lock()}


@bp.route("/slots/<int:slot_id>/kiosk", methods=["GET", "POST"], endpoint="kiosk")
@any_role_required
def kiosk_page(slot_id: int):
    """Unlocked: what kiosk mode does and the button that enters it (POST); locked: the trainees to sign."""
    slot = services.get_slot(slot_id, current_user)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
        flask_session[KIOSK_SESSION_KEY] = kiosk.enter(slot, current_user).as_dict()
        return redirect(url_for("attendance.kiosk", slot_id=slot.id))
    grid = services.session_grid(slot.session)
    return render_template("attendance/kiosk.html", slot=slot, session=slot.session, column=grid.column(slot.id),
                           **window_flags(slot), locked=slot.id in grid.countersignatures,
                           device_locked=current_lock() is not None, form=form)


@bp.route("/slots/<int:slot_id>/kiosk/<int:enrolment_id>", methods=["GET", "POST"])
@any_role_required
def kiosk_sign(slot_id: int, enrolment_id: int):
    # One statement loads both (kept here: the session holds them weakly), and for a POST takes the chain's lock on
    # PostgreSQL (services.signing_pair); the checks below then read them from it.
    enrolment, slot, last = services.signing_pair(enrolment_id, slot_id, lock=request.method == "POST")
    slot = services.get_slot(slot_id, current_user)
    enrolment = services.get_expected_enrolment(slot, enrolment_id)
    if current_lock() is None:  # trainees sign only on a locked device
        flash("Passez d'abord l'appareil en mode borne.", "warning")
        return redirect(url_for("attendance.kiosk", slot_id=slot_id))
    form = SignatureForm()
    if request.method == "POST":
        name = enrolment.trainee.full_name
        ok, _ = _do_sign(form, slot, enrolment, "kiosk", actor=current_user, last=last)
        if ok:  # committed: the answer is built from what was read before (no reload)
            flash(f"Signature de {name} enregistrée.", "success")
            if last:  # the end of the session: the page offers the hot survey, then the next one
                return redirect(url_for("attendance.kiosk_sign", slot_id=slot_id, enrolment_id=enrolment_id))
            return redirect(url_for("attendance.kiosk", slot_id=slot_id))
    return _sign_page(form, slot, enrolment, method="kiosk", last=last,
                      action=url_for("attendance.kiosk_sign", slot_id=slot.id, enrolment_id=enrolment.id),
                      back=url_for("attendance.kiosk", slot_id=slot.id))


def _unlock_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _per_user() -> str:
    return log_safe_key("kiosk-unlock", str(current_user.get_id() if current_user.is_authenticated else ""))


@bp.route("/slots/<int:slot_id>/kiosk/unlock", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(_unlock_limit, key_func=_per_user, methods=["POST"],
               deduct_when=lambda response: response.status_code != 302)  # failures only, as the login's
@any_role_required
def kiosk_unlock(slot_id: int):
    """Leave kiosk mode: the password of the staff member logged in on the device."""
    slot = services.get_slot(slot_id, current_user)
    lock = current_lock()
    if lock is None:
        return redirect(url_for("attendance.slot", slot_id=slot.id))
    form = UnlockForm()
    if form.validate_on_submit():
        try:
            kiosk.leave(lock, current_user, form.password.data or "")
        except DomainError as exc:
            form.apply_errors(exc)
        else:
            flask_session.pop(KIOSK_SESSION_KEY, None)
            flash("Mode borne quitté : l'appareil affiche de nouveau le menu.", "success")
            return redirect(url_for("attendance.slot", slot_id=slot.id))
    elif request.method == "POST":
        form.error_status = 400 if "csrf_token" in form.errors else 422
    return render_template("attendance/kiosk_unlock.html", form=form, slot=slot, session=slot.session), \
        (getattr(form, "error_status", 422) if form.errors else 200)


@bp.route("/records/<int:record_id>.png")
@any_role_required
def record_image(record_id: int):
    record = get_by_id(AttendanceRecord, record_id, "Signature introuvable.")
    if not services.session_services.can_view_session(current_user, record.slot.session):
        raise PermissionDenied("Vous n'intervenez pas sur cette session.")
    if not record.image:
        fail(404, "Cette signature n'est pas dessinée.")
    response = Response(record.image, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/sessions/<int:session_id>/verify")
@any_role_required
def verify(session_id: int):
    session = services.session_services.get_session(session_id, current_user)
    check = verify_chain(session.id)
    return render_template("attendance/verify.html", session=session, check=check,
                           records=services.session_records(session.id))
