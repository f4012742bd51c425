"""Signed, expiring links for people without an account (trainees, client contacts)."""
from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import DomainError, PermissionDenied


class LinkExpired(DomainError):
    status_code = 410
    code = "gone"

    def __init__(self, message: str = "Ce lien a expiré. Demandez-en un nouveau à votre conseiller formation."):
        super().__init__(message)


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"trainingmgr.{purpose}")


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> dict:
    """The payload of a link made for ``purpose``; 403 when tampered with or made for another purpose,
    410 when older than ``max_age_seconds``."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise LinkExpired() from None
    except BadSignature:
        raise PermissionDenied("Ce lien n'est pas valide. Vérifiez qu'il est complet ou demandez-en un nouveau.") from None
    if not isinstance(payload, dict):
        raise PermissionDenied("Ce lien n'est pas valide.")
    return payload


def read_personal_link(purpose: str, token: str, max_age_seconds: int, refused) -> dict:
    """``read_token`` for a personal link, each refusal first reported to ``refused(reason, token=…)`` (a logger
    of refused attempts: the token cut to its first characters)."""
    try:
        return read_token(purpose, token, max_age_seconds)
    except LinkExpired:
        refused("lien expiré", token=token[:16])
        raise
    except PermissionDenied:
        refused("lien falsifié", token=token[:16])
        raise


def log_safe_key(prefix: str, secret: str) -> str:
    """A rate-limit key naming a secret (a personal link's token, an e-mail address) by a digest of it: the limiter
    logs its keys when a limit trips, and no token or code may ever reach a log."""
    return f"{prefix}:{hashlib.sha256((secret or '').encode()).hexdigest()[:32]}"
