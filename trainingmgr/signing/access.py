"""How a signatory reaches the signing page and proves who they are: a personal link, then a one-time code.

- Link: an itsdangerous token naming one signatory and its ``link_nonce`` (purpose "document-sign", at most
  SIGNATURE_LINK_MAX_AGE_DAYS old). A new link (the advisor's « Renvoyer le lien ») changes the nonce: the older
  links answer 410. A signed, refused, cancelled or expired request answers 410 too: a link is spent once used.
- Code: 6 digits e-mailed to the signatory's address, stored as an HMAC, valid SIGNATURE_CODE_MINUTES, used once;
  SIGNATURE_CODE_ATTEMPTS wrong tries spend it. After SIGNATURE_CODES_MAX codes the signatory is locked until the
  advisor sends a new link (25 tries in all out of a million codes).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

from flask import current_app

from ..core.errors import ConflictError, PermissionDenied, ValidationError
from ..core.formatting import count_fr, date_fr
from ..core.timeutil import paris_date, utcnow
from ..core.tokens import LinkExpired, make_token, read_personal_link
from ..extensions import db
from .models import RequestStatus, Signatory, SignatoryStatus

LINK_PURPOSE = "document-sign"
log = logging.getLogger("trainingmgr.signing")

CLOSED_MESSAGES = {
    "completed": "Ce document a été signé par tous les signataires : ce lien ne sert plus.",
    "refused": "La signature de ce document a été refusée : ce lien ne sert plus.",
    "cancelled": "Cette demande de signature a été annulée par l'organisme de formation : ce lien ne sert plus.",
    "expired": "Le délai de signature de ce document est dépassé : demandez un nouvel envoi à l'organisme.",
}


def refused(reason: str, **details) -> None:
    """Log a refused attempt (the link is cut to its first characters)."""
    log.warning("Signature électronique refusée : %s %s", reason, details)


def new_nonce() -> str:
    return secrets.token_hex(16)


def signing_token(signatory: Signatory) -> str:
    return make_token(LINK_PURPOSE, {"s": signatory.id, "n": signatory.link_nonce})


def read_link(token: str) -> Signatory:
    """The signatory of a personal link, whose request is still open: 403 tampered or foreign, 410 expired,
    replaced, or spent."""
    payload = read_personal_link(LINK_PURPOSE, token, current_app.config["SIGNATURE_LINK_MAX_AGE_DAYS"] * 86400,
                                 refused)
    signatory_id, nonce = payload.get("s"), payload.get("n")
    signatory = db.session.get(Signatory, signatory_id) if isinstance(signatory_id, int) else None
    if signatory is None or not isinstance(nonce, str):
        refused("lien falsifié", token=token[:16])
        raise PermissionDenied("Ce lien de signature n'est pas valide.")
    if not hmac.compare_digest(signatory.link_nonce, nonce):
        refused("lien remplacé", signatory=signatory.id)
        raise LinkExpired("Ce lien a été remplacé par un plus récent : utilisez le dernier e-mail reçu.")
    return signatory


def check_open(signatory: Signatory, now: dt.datetime | None = None) -> None:
    """Refuse a signatory who can no longer act: request closed or past its deadline, already signed or refused,
    not yet invited, or locked."""
    signature_request = signatory.request
    if signature_request.status != RequestStatus.PENDING.value:
        raise LinkExpired(CLOSED_MESSAGES[signature_request.status])
    if paris_date(now or utcnow()) > signature_request.deadline:
        raise LinkExpired(f"Le délai de signature de ce document a pris fin le {date_fr(signature_request.deadline)} : "
                          "demandez un nouvel envoi à l'organisme de formation.")
    if signatory.status == SignatoryStatus.SIGNED.value:
        raise LinkExpired(f"Vous avez signé ce document le {date_fr(paris_date(signatory.signed_at))} : ce lien ne "
                          "sert plus.")
    if signatory.status == SignatoryStatus.REFUSED.value:
        raise LinkExpired("Vous avez refusé de signer ce document : ce lien ne sert plus.")
    if signatory.status == SignatoryStatus.WAITING.value:
        raise ConflictError("Vous signerez une fois que les autres signataires l'auront fait : un e-mail vous "
                            "le dira.")
    if signatory.locked_at is not None:
        raise PermissionDenied("Trop de codes erronés : la signature est bloquée. Demandez un nouveau lien à "
                               "l'organisme de formation.")


# --------------------------------------------------------------------------- one-time codes


def _code_hash(signatory: Signatory, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"document-sign-code:{signatory.id}:{signatory.codes_sent}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_code(signatory: Signatory, now: dt.datetime | None = None) -> str:
    """A fresh 6-digit code (the earlier one stops working); the caller e-mails it. Only its HMAC is kept."""
    now = now or utcnow()
    check_open(signatory, now)
    if signatory.codes_sent >= current_app.config["SIGNATURE_CODES_MAX"]:
        signatory.locked_at = now
        db.session.commit()
        raise PermissionDenied("Trop de codes demandés : la signature est bloquée. Demandez un nouveau lien à "
                               "l'organisme de formation.")
    code = f"{secrets.randbelow(10 ** 6):06d}"
    signatory.codes_sent += 1
    signatory.code_attempts = 0
    signatory.code_hash = _code_hash(signatory, code)
    signatory.code_expires_at = now + dt.timedelta(minutes=current_app.config["SIGNATURE_CODE_MINUTES"])
    return code


def check_code(signatory: Signatory, code: str, now: dt.datetime | None = None, ip: str = "") -> None:
    """Spend the one-time code: right, not expired, within the allowed tries. A wrong try is committed here, so
    that it counts even when the caller rolls back."""
    now = now or utcnow()
    code = "".join((code or "").split())
    if not signatory.code_hash:
        raise ValidationError("Demandez d'abord votre code : il vous sera envoyé par e-mail.", field="code")
    if signatory.code_expires_at is None or now > signatory.code_expires_at:
        _spend(signatory)
        db.session.commit()
        raise ValidationError("Ce code a expiré : demandez-en un nouveau.", field="code")
    if not code.isdigit() or len(code) != 6:
        raise ValidationError("Le code reçu par e-mail compte 6 chiffres.", field="code")
    signatory.code_attempts += 1
    if not hmac.compare_digest(_code_hash(signatory, code), signatory.code_hash):
        left = current_app.config["SIGNATURE_CODE_ATTEMPTS"] - signatory.code_attempts
        if left <= 0:
            _spend(signatory)
            if signatory.codes_sent >= current_app.config["SIGNATURE_CODES_MAX"]:
                signatory.locked_at = now
        db.session.commit()
        refused("code erroné", signatory=signatory.id, ip=ip)
        if signatory.locked_at is not None:
            raise PermissionDenied("Code erroné, trop d'essais : la signature est bloquée. Demandez un nouveau "
                                   "lien à l'organisme de formation.")
        if left <= 0:
            raise ValidationError("Code erroné, trop d'essais : demandez un nouveau code.", field="code")
        raise ValidationError(f"Code erroné. Il vous reste {count_fr(left, 'essai')}.", field="code")
    _spend(signatory)
    signatory.code_checked_at = now


def _spend(signatory: Signatory) -> None:
    signatory.code_hash = ""
    signatory.code_expires_at = None


def reset(signatory: Signatory) -> None:
    """A new link: the older ones stop working, the codes and the lock start afresh."""
    signatory.link_nonce = new_nonce()
    _spend(signatory)
    signatory.code_attempts = 0
    signatory.codes_sent = 0
    signatory.locked_at = None
