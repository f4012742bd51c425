"""Pre-registration from the public catalogue: CSRF, honeypot, rate limit, consent."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..core.responses import fail

from ..core.view_actions import form_page, run_form
from ..extensions import limiter
from ..sessions.services import get_public_session
from . import services
from .forms import PublicRequestForm

bp = Blueprint("public_enrol", __name__, url_prefix="/catalogue")


def _limit() -> str:
    return current_app.config["PUBLIC_FORM_RATE_LIMIT"]


@bp.route("/<slug>/sessions/<int:session_id>/inscription", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def request_form(slug: str, session_id: int):
    session = get_public_session(session_id)
    if session.course.slug != slug:
        fail(404, "Session introuvable.")
    if not session.takes_enrolments:
        fail(410, "Les inscriptions à cette session sont closes. Contactez-nous pour une autre date.")
    form = PublicRequestForm()
    if form.is_submitted() and form.website.data:
        # A robot filled the hidden field: answer as if all went well, keep nothing.
        return render_template("enrolments/request_thanks.html", session=session, created=True)
    ok, result = run_form(form, lambda: services.request_enrolment(session, form.data_for_service()))
    if ok:
        _, created = result
        return render_template("enrolments/request_thanks.html", session=session, created=created)
    return form_page("enrolments/request_form.html", form, session=session)
