"""The trainee's personal link (/t/<token>) to their enrolment: ``trainee_token`` and ``enrolment_from_token``."""
from __future__ import annotations

from flask import current_app

from ..core.errors import PermissionDenied
from ..core.tokens import make_token, read_token
from ..core.validation import id_or_none
from ..extensions import db
from .models import Enrolment

TOKEN_PURPOSE = "trainee"


def trainee_token(enrolment: Enrolment) -> str:
    return make_token(TOKEN_PURPOSE, {"e": enrolment.id, "t": enrolment.trainee_id})


def enrolment_from_token(token: str) -> Enrolment:
    """The enrolment a trainee's link opens: 403 when tampered with, 410 when expired."""
    max_age = current_app.config["TRAINEE_LINK_MAX_AGE_DAYS"] * 86400
    payload = read_token(TOKEN_PURPOSE, token, max_age)
    enrolment = db.session.get(Enrolment, id_or_none(payload.get("e")) or 0)
    if enrolment is None or enrolment.trainee_id != payload.get("t"):
        raise PermissionDenied("Ce lien n'est pas valide.")
    return enrolment
