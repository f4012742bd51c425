"""The trainee's personal page: reached through a signed, expiring link, no password.

/t/<token>                  the enrolment, its dates, place, convocation, and the positioning questionnaire card
/t/<token>/positionnement   the positioning questionnaire: save and resume later, or send (then read-only)
/t/<token>/absences         POST: announce an absence to a half-day, with its reason (attendance/planned.py)

The link names one enrolment: whatever the page shows or changes is that enrolment's (403 when tampered
with, 410 when expired). POSTs are rate-limited (TRAINEE_FORM_RATE_LIMIT, 30 per minute by default).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from ..attendance import planned as planned_absences
from ..attendance.forms import PlannedAbsenceForm
from ..attendance.portal import attendance_for_trainee
from ..attendance.services import slot_label
from ..documents.portal import trainee_document, trainee_documents
from ..core.responses import attachment, fail
from ..core.view_actions import form_page, run_form
from ..enrolments.links import enrolment_from_token
from ..evaluations.questionnaires import services as evaluations
from ..evaluations.questionnaires.forms import answers_form
from ..extensions import limiter
from ..organisation.services import get_organisation

bp = Blueprint("trainee", __name__, url_prefix="/t")


def _form_limit() -> str:
    return current_app.config.get("TRAINEE_FORM_RATE_LIMIT", "30 per minute")


def _home(token: str, enrolment, absence_form: PlannedAbsenceForm) -> dict:
    questionnaire, response = evaluations.positioning_for(enrolment)
    absence_form.slot_id.choices = [(str(slot.id), slot_label(slot))
                                    for slot in planned_absences.declarable_slots(enrolment)]
    return {"enrolment": enrolment, "session": enrolment.session, "trainee": enrolment.trainee,
            "org": get_organisation(), "token": token, "questionnaire": questionnaire, "response": response,
            "answerable": enrolment.is_live, "attendance": attendance_for_trainee(enrolment),
            "documents": trainee_documents(enrolment), "absence_form": absence_form,
            "absences": planned_absences.planned_absences(enrolment),
            "absence_hours": current_app.config["PLANNED_ABSENCE_HOURS_BEFORE"]}


@bp.route("/<token>")
def home(token: str):
    enrolment = enrolment_from_token(token)
    return render_template("trainee/home.html", **_home(token, enrolment, PlannedAbsenceForm(formdata=None)))


@bp.route("/<token>/absences", methods=["POST"])
@limiter.limit(_form_limit, methods=["POST"])
def absence(token: str):
    enrolment = enrolment_from_token(token)
    form = PlannedAbsenceForm()
    ok, declared = run_form(form, lambda: planned_absences.declare(enrolment, form.data_for_service(),
                                                                   ip=request.remote_addr))
    if ok:
        flash(f"Votre absence du {slot_label(declared.slot)} est signalée : votre formateur et votre conseiller "
              "formation la voient sur la feuille d'émargement.", "success")
        return redirect(url_for("trainee.home", token=token))
    return form_page("trainee/home.html", form, **_home(token, enrolment, form))


@bp.route("/<token>/positionnement", methods=["GET", "POST"])
@limiter.limit(_form_limit, methods=["POST"])
def positioning(token: str):
    enrolment = enrolment_from_token(token)
    questionnaire, response = evaluations.positioning_for(enrolment)
    if questionnaire is None:
        fail(404, "Cette formation n'a pas de questionnaire de positionnement.")
    form = answers_form(questionnaire, response if request.method == "GET" else None)
    submit = request.form.get("action") == "submit"
    ok, _ = run_form(form, lambda: evaluations.answer_positioning(enrolment, form.answers(), submit=submit))
    if ok:
        if submit:
            flash("Merci ! Vos réponses ont été envoyées à votre conseiller formation.", "success")
        else:
            flash("Vos réponses sont enregistrées. Vous pourrez reprendre plus tard avec le même lien.", "info")
        return redirect(url_for("trainee.positioning", token=token))
    questionnaire, response = evaluations.positioning_for(enrolment)
    view = evaluations.response_view(response) if response is not None and response.submitted else None
    return form_page("trainee/positioning.html", form, enrolment=enrolment, session=enrolment.session,
                     trainee=enrolment.trainee, questionnaire=questionnaire, response=response, view=view,
                     answerable=enrolment.is_live, token=token, org=get_organisation())


@bp.route("/<token>/documents/<int:document_id>.<kind>")
def document(token: str, document_id: int, kind: str):
    """One of the trainee's own documents (convocation, contract, attestation, certificate)."""
    enrolment = enrolment_from_token(token)
    data, filename, mimetype = trainee_document(enrolment, document_id, kind)
    return attachment(data, filename, mimetype)
