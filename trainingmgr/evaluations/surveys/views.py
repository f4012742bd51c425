"""The survey page reached from its e-mailed link: /s/<token> (no login; save and resume, then send), and the
advisor's list of survey alerts."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.view_actions import form_page, run_form
from ...extensions import limiter
from ...organisation.services import get_organisation
from ..models import QUESTIONNAIRE_KINDS
from ..questionnaires.forms import answers_form
from . import alerts as alerts_service
from . import services as surveys
from .forms import AlertForm

bp = Blueprint("surveys", __name__, url_prefix="/s")
alerts_bp = Blueprint("survey_alerts", __name__, url_prefix="/evaluations/alerts")


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
