"""The survey page reached from its e-mailed link: /s/<token> (no login; save and resume, then send)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required

from ..core.web import form_page, run_form
from ..extensions import limiter
from ..organisation.services import get_organisation
from . import alerts as alerts_service
from . import editor
from . import surveys
from .forms import AlertForm, QuestionnaireEditForm, answers_form
from .models import QUESTIONNAIRE_KINDS

bp = Blueprint("surveys", __name__, url_prefix="/s")
alerts_bp = Blueprint("survey_alerts", __name__, url_prefix="/evaluations/alerts")
editor_bp = Blueprint("questionnaires", __name__, url_prefix="/evaluations/questionnaires")


def _limit() -> str:
    return current_app.config.get("TRAINEE_FORM_RATE_LIMIT", "30 per minute")


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def answer(token: str):
    invitation = surveys.invitation_from_token(token)
    questionnaire = invitation.questionnaire
    response = surveys.response_of(invitation)
    form = answers_form(questionnaire, response if request.method == "GET" else None)
    submit = request.form.get("action") == "submit"
    ok, _ = run_form(form, lambda: surveys.answer(invitation, form.answers(), submit=submit))
    if ok:
        flash("Merci ! Vos réponses sont envoyées." if submit else
              "Vos réponses sont enregistrées : vous pourrez reprendre plus tard avec le même lien.",
              "success" if submit else "info")
        return redirect(url_for("surveys.answer", token=token))
    return form_page("evaluations/survey.html", form, invitation=invitation, questionnaire=questionnaire,
                     kind_label=QUESTIONNAIRE_KINDS[invitation.kind], org=get_organisation(),
                     session=surveys.session_of(invitation),
                     answered=invitation.responded_at is not None)


@alerts_bp.route("/")
@staff_required
def alerts():
    status = request.args.get("status", "open")
    return render_template("evaluations/alerts.html", alerts=alerts_service.list_alerts(status or None),
                           status=status, statuses=alerts_service.ALERT_STATUSES, form=AlertForm())


@alerts_bp.route("/<int:alert_id>", methods=["POST"])
@staff_required
def close(alert_id: int):
    form = AlertForm()
    ok, alert = run_form(form, lambda: alerts_service.close_alert(alert_id, form.status.data, form.note.data or "",
                                                                 current_user))
    if ok:
        flash("Alerte " + alerts_service.ALERT_STATUSES[alert.status].lower() + ".", "success")
        return redirect(url_for("survey_alerts.alerts"))
    return form_page("evaluations/alerts.html", form, alerts=alerts_service.list_alerts("open"), status="open",
                     statuses=alerts_service.ALERT_STATUSES, failed=alert_id)


# --------------------------------------------------------------------------- editing questionnaires


@editor_bp.route("/")
@staff_required
def questionnaires():
    return render_template("evaluations/questionnaires.html", questionnaires=editor.list_questionnaires(),
                           kinds=QUESTIONNAIRE_KINDS)


BLANK_ROWS = 3


@editor_bp.route("/<int:questionnaire_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(questionnaire_id: int):
    questionnaire = editor.get_questionnaire(questionnaire_id)
    if request.method == "GET":
        rows = [{"kind": q.kind, "text": q.text, "help": q.help, "required": q.required, "role": q.role,
                 "choices": editor.choices_text(q)} for q in questionnaire.questions]
        rows += [{"kind": "scale", "text": "", "help": "", "required": True, "role": "", "choices": ""}] * BLANK_ROWS
        form = QuestionnaireEditForm(data={"title": questionnaire.title, "intro": questionnaire.intro,
                                           "anonymous": questionnaire.anonymous, "questions": rows})
    else:
        form = QuestionnaireEditForm()
    ok, created = run_form(form, lambda: editor.save_new_version(questionnaire, form.edit_data()))
    if ok:
        flash(f"Version {created.version} enregistrée : elle sert aux prochains envois ; les réponses déjà données "
              "restent attachées à la version précédente.", "success")
        return redirect(url_for("questionnaires.edit", questionnaire_id=created.id))
    return form_page("evaluations/questionnaire_edit.html", form, questionnaire=questionnaire,
                     kinds=QUESTIONNAIRE_KINDS)
