"""The survey page reached from its e-mailed link: /s/<token> (no login; save and resume, then send)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from ..core.web import form_page, run_form
from ..extensions import limiter
from ..organisation.services import get_organisation
from . import surveys
from .forms import answers_form
from .models import QUESTIONNAIRE_KINDS

bp = Blueprint("surveys", __name__, url_prefix="/s")


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
                     answered=invitation.responded_at is not None)
