"""Complaints and mediation requests from the public (Qualiopi indicator 31).

/reclamation                  the form: anyone (trainee, company, funder, trainer); CSRF, honeypot, consent, rate
                              limit per IP (QUALITY_FORM_RATE_LIMIT, 5 per minute by default)
/reclamation/espace/<token>   the same form opened from the trainee's personal page (/t/<token>): the trainee, the
                              enrolment and its session are linked
/reclamation/suivi/<token>    the requester's follow page: that request only (403 tampered, 410 expired)
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ...core.view_actions import form_page, run_form
from ...enrolments.links import enrolment_from_token
from ...extensions import limiter
from . import services as service
from .forms import PublicRequestForm

bp = Blueprint("complaint_public", __name__, url_prefix="/reclamation")


def _limit() -> str:
    return current_app.config["QUALITY_FORM_RATE_LIMIT"]


@bp.route("", methods=["GET", "POST"])
@bp.route("/espace/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def form(token: str | None = None):
    enrolment = enrolment_from_token(token) if token else None
    if enrolment is not None:
        trainee = enrolment.trainee
        form = PublicRequestForm(data={"requester_role": "trainee", "requester_name": trainee.full_name,
                                       "requester_email": trainee.email, "requester_phone": trainee.phone,
                                       "organisation_name": trainee.company.name if trainee.company else ""})
    else:
        form = PublicRequestForm()
        form.set_sessions(service.public_session_choices(), blank="— aucune en particulier —")
    if form.is_submitted() and form.website.data:
        # A robot filled the hidden field: answer as if all went well, keep nothing.
        return render_template("public/complaint_thanks.html", req=None, follow_url=None)
    ok, created = run_form(form, lambda: service.file_public_request(form.service_data(), enrolment=enrolment))
    if ok:
        return render_template("public/complaint_thanks.html", req=created, follow_url=service.follow_url(created))
    return form_page("public/complaint_form.html", form, enrolment=enrolment, token=token)


@bp.route("/suivi/<token>")
def follow(token: str):
    req = service.request_for_token(token)
    return render_template("public/complaint_follow.html", req=req, timeline=service.public_timeline(req))
