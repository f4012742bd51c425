"""The trainee's personal page: reached through a signed, expiring link, no password."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..enrolments.services import enrolment_from_token
from ..organisation.services import get_organisation

bp = Blueprint("trainee", __name__, url_prefix="/t")


@bp.route("/<token>")
def home(token: str):
    enrolment = enrolment_from_token(token)
    return render_template("trainee/home.html", enrolment=enrolment, session=enrolment.session,
                           trainee=enrolment.trainee, org=get_organisation(), token=token)
