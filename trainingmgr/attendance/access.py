"""How a trainee reaches the signing page: a personal link, the room's rotating QR code plus a one-time
code, or the trainer's kiosk (which needs the trainer's login, see views.py).

- Personal link: an itsdangerous token naming one enrolment and one slot, valid ATTENDANCE_LINK_MAX_AGE_DAYS.
- QR code: ``<period>.<mac>`` where period = Unix time // ATTENDANCE_QR_PERIOD_SECONDS and mac an HMAC of
  (slot, period) under the SECRET_KEY. The code of the current and of the previous period are accepted:
  a code older than two periods is stale.
- One-time code: 6 digits e-mailed to the trainee chosen on the QR page; stored as an HMAC, valid
  ATTENDANCE_CODE_MINUTES, ATTENDANCE_CODE_ATTEMPTS tries, used once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select, update

from ..core.errors import ConflictError, PermissionDenied, ValidationError
from ..core.formatting import count_fr
from ..core.timeutil import utcnow
from ..core.tokens import LinkExpired, make_token, read_personal_link
from ..enrolments.models import Enrolment
from ..extensions import db
from ..sessions.models import Slot
from .models import SigningCode
from .services import check_can_sign, refused

LINK_PURPOSE = "attendance-sign"


# --------------------------------------------------------------------------- personal links


def signing_token(enrolment: Enrolment, slot: Slot) -> str:
    return make_token(LINK_PURPOSE, {"e": enrolment.id, "s": slot.id})


def read_signing_token(token: str) -> tuple[int, int]:
    """(enrolment id, slot id) of a personal signing link; 403 tampered, 410 expired."""
    payload = read_personal_link(LINK_PURPOSE, token, current_app.config["ATTENDANCE_LINK_MAX_AGE_DAYS"] * 86400,
                                 refused)
    enrolment_id, slot_id = payload.get("e"), payload.get("s")
    if not isinstance(enrolment_id, int) or not isinstance(slot_id, int):
        refused("lien falsifié", token=token[:16])
        raise PermissionDenied("Ce lien n'est pas valide.")
    return enrolment_id, slot_id


# --------------------------------------------------------------------------- the room's QR code


def _period_seconds() -> int:
    return current_app.config["ATTENDANCE_QR_PERIOD_SECONDS"]


def qr_period(now: dt.datetime | None = None) -> int:
    return int((now or utcnow()).timestamp()) // _period_seconds()


def _mac(slot_id: int, period: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"attendance-qr:{slot_id}:{period}".encode(), hashlib.sha256).hexdigest()[:20]


def qr_code(slot: Slot, now: dt.datetime | None = None) -> str:
    period = qr_period(now)
    return f"{period}.{_mac(slot.id, period)}"


def seconds_to_next_code(now: dt.datetime | None = None) -> int:
    now = now or utcnow()
    period = _period_seconds()
    return period - int(now.timestamp()) % period


def check_qr_code(slot: Slot, code: str, now: dt.datetime | None = None, ip: str = "") -> None:
    """Accept the code shown now or during the previous period; refuse (and log) anything else."""
    period_text, _, mac = (code or "").partition(".")
    if not period_text.isdigit() or len(period_text) > 12 or not hmac.compare_digest(
            _mac(slot.id, int(period_text)), mac):
        refused("QR code falsifié", slot=slot.id, ip=ip)
        raise PermissionDenied("Ce QR code n'est pas valide : scannez celui affiché dans la salle.")
    age = qr_period(now) - int(period_text)
    if age < 0 or age > 1:
        refused("QR code périmé", slot=slot.id, age_periods=age, ip=ip)
        raise LinkExpired("Ce QR code a expiré : scannez de nouveau celui affiché dans la salle (il change "
                          "toutes les 30 secondes).")


# --------------------------------------------------------------------------- one-time codes


def _code_hash(code_id_seed: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"attendance-code:{code_id_seed}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(slot: Slot, enrolment: Enrolment, *, ip: str = "", now: dt.datetime | None = None) -> str:
    """A fresh 6-digit code for ``enrolment`` on ``slot`` (earlier ones stop working). Returns the code,
    which the caller e-mails; only its HMAC is stored."""
    now = now or utcnow()
    check_can_sign(slot, enrolment, now)
    db.session.execute(update(SigningCode).where(SigningCode.enrolment_id == enrolment.id,
                                                 SigningCode.slot_id == slot.id, SigningCode.used_at.is_(None))
                       .values(used_at=now))
    code = f"{secrets.randbelow(10 ** 6):06d}"
    minutes = current_app.config["ATTENDANCE_CODE_MINUTES"]
    row = SigningCode(enrolment_id=enrolment.id, slot_id=slot.id, created_at=now,
                      expires_at=now + dt.timedelta(minutes=minutes), ip=(ip or "")[:45], code_hash="")
    db.session.add(row)
    db.session.flush()
    row.code_hash = _code_hash(str(row.id), code)
    return code


def check_code(slot: Slot, enrolment: Enrolment, code: str, *, ip: str = "",
               now: dt.datetime | None = None) -> None:
    """Use the one-time code: right, not expired, not used, within the allowed attempts. The attempt is
    counted even when the caller then rolls back (it is committed here)."""
    now = now or utcnow()
    code = "".join((code or "").split())
    row = db.session.scalar(select(SigningCode).where(
        SigningCode.enrolment_id == enrolment.id, SigningCode.slot_id == slot.id, SigningCode.used_at.is_(None)
    ).order_by(SigningCode.id.desc()).limit(1))
    if row is None:
        raise ConflictError("Aucun code en cours pour vous : demandez-en un nouveau.")
    if now > row.expires_at:
        row.used_at = now
        db.session.commit()
        raise LinkExpired("Ce code a expiré : demandez-en un nouveau.")
    if not code.isdigit() or len(code) != 6:
        raise ValidationError("Le code reçu par e-mail compte 6 chiffres.", field="code")
    row.attempts += 1
    if not hmac.compare_digest(_code_hash(str(row.id), code), row.code_hash):
        attempts_left = current_app.config["ATTENDANCE_CODE_ATTEMPTS"] - row.attempts
        if attempts_left <= 0:
            row.used_at = now
        db.session.commit()
        refused("code à usage unique erroné", enrolment=enrolment.id, slot=slot.id, ip=ip)
        if attempts_left <= 0:
            raise PermissionDenied("Code erroné, trop d'essais : demandez un nouveau code.")
        raise ValidationError(f"Code erroné. Il vous reste {count_fr(attempts_left, 'essai')}.", field="code")
    row.used_at = now
