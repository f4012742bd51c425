"""Revocable personal links for people without an account (a company contact, an external trainer).

A link is an itsdangerous token naming the row and its ``link_nonce``: making a new link changes the nonce, so every
earlier link (and anything that carries the same token, such as an iCal subscription URL) stops working; revoking
empties the nonce. Reading: 403 when tampered with or made for another purpose or row, 410 when older than
``max_age_days`` or revoked / replaced. The refusals are logged (no token in the log but its first characters).
"""
from __future__ import annotations

import hmac
import logging
import secrets

from ..core.errors import PermissionDenied
from ..core.tokens import LinkExpired, make_token, read_personal_link
from ..extensions import db

log = logging.getLogger("trainingmgr.links")


def _refused(reason: str, **details) -> None:
    log.warning("Lien personnel refusé : %s %s", reason, details)


def renew(row) -> str:
    """A new nonce for ``row`` (the earlier links die); the caller makes the token and commits."""
    row.link_nonce = secrets.token_hex(16)
    return row.link_nonce


def revoke(row) -> None:
    row.link_nonce = ""


def token_for(purpose: str, row) -> str:
    """The link's token; a first one is made when ``row`` has none yet."""
    if not row.link_nonce:
        renew(row)
    return make_token(purpose, {"i": row.id, "n": row.link_nonce})


def row_from_token(purpose: str, model, token: str, max_age_days: int):
    """The row a personal link names, if its nonce is still the row's (see the module)."""
    payload = read_personal_link(purpose, token, max_age_days * 86400, _refused)
    row_id, nonce = payload.get("i"), payload.get("n")
    row = db.session.get(model, row_id) if isinstance(row_id, int) else None
    if row is None or not isinstance(nonce, str):
        _refused("lien falsifié", purpose=purpose)
        raise PermissionDenied("Ce lien n'est pas valide.")
    if not row.link_nonce or not hmac.compare_digest(row.link_nonce, nonce):
        _refused("lien révoqué ou remplacé", purpose=purpose, row=row.id)
        raise LinkExpired("Ce lien a été remplacé ou révoqué : demandez-en un nouveau à l'organisme de formation.")
    return row
