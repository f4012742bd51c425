"""Planned absences: from their personal page, a trainee says they will miss a half-day, and why, until
PLANNED_ABSENCE_HOURS_BEFORE hours (24) before it starts. The announcement is kept beside the register, not in it
(models.PlannedAbsence: the reason is personal data that must stay erasable, the register records what happened);
the grid reads it as a justified absence (services._planned), which the advisor and the trainer see on the sheet.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from ..core.errors import ConflictError, ErrorCollector
from ..core.formatting import date_fr, time_fr
from ..core.persistence import lock_row
from ..core.timeutil import PARIS, utcnow
from ..core.validation import id_or_none
from ..enrolments.models import BOOKED, Enrolment
from ..extensions import db
from ..sessions.models import SessionStatus, Slot
from .models import PlannedAbsence
from .services import slot_label

MAX_REASON = 1000
# Who may announce an absence: a trainee holding a seat (BOOKED) of a session still to come or under way.
TAKING_PLACE = (SessionStatus.OPEN.value, SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value)


def deadline(slot: Slot) -> dt.datetime:
    """The last moment to announce an absence to ``slot``."""
    return slot.starts_at - dt.timedelta(hours=current_app.config["PLANNED_ABSENCE_HOURS_BEFORE"])


def planned_absences(enrolment: Enrolment) -> list[PlannedAbsence]:
    """The absences the trainee announced, in the order of the half-days."""
    found = db.session.scalars(select(PlannedAbsence).where(PlannedAbsence.enrolment_id == enrolment.id))
    return sorted(found, key=lambda p: (p.slot.date, p.slot.start_time))


def can_declare(enrolment: Enrolment) -> bool:
    return enrolment.status in BOOKED and enrolment.session.status in TAKING_PLACE


def declarable_slots(enrolment: Enrolment, now: dt.datetime | None = None) -> list[Slot]:
    """The half-days the trainee may still announce an absence to (not past the deadline, not announced yet)."""
    if not can_declare(enrolment):
        return []
    now = now or utcnow()
    announced = {p.slot_id for p in planned_absences(enrolment)}
    return [slot for slot in sorted(enrolment.session.slots, key=lambda s: (s.date, s.start_time))
            if slot.id not in announced and now <= deadline(slot)]


def declare(enrolment: Enrolment, data: dict, *, ip: str | None = None,
            now: dt.datetime | None = None) -> PlannedAbsence:
    """The trainee announces they will miss a half-day of their session: 422 for a half-day of another session or
    a missing reason, 409 past the deadline, for an enrolment that holds no seat, or a half-day announced already."""
    errors = ErrorCollector()
    slot_id = id_or_none(data.get("slot_id"))
    slot = db.session.get(Slot, slot_id) if slot_id is not None else None
    if slot is None or slot.session_id != enrolment.session_id:
        errors.add("slot_id", "Choisissez une demi-journée de votre formation.")
    raw = data.get("reason")
    reason = " ".join(raw.split()) if isinstance(raw, str) else ""
    if len(reason) < 3:
        errors.add("reason", "Indiquez le motif de votre absence.")
    elif len(reason) > MAX_REASON:
        errors.add("reason", f"Le motif ne doit pas dépasser {MAX_REASON} caractères.")
    errors.raise_if_any()
    if not can_declare(enrolment):
        raise ConflictError(f"Votre inscription est « {enrolment.status_label.lower()} » et la session « "
                            f"{enrolment.session.status_label.lower()} » : il n'y a pas d'absence à signaler.")
    now = now or utcnow()
    limit = deadline(slot)
    if now > limit:
        hours = current_app.config["PLANNED_ABSENCE_HOURS_BEFORE"]
        raise ConflictError(f"Il est trop tard pour signaler une absence au créneau du {slot_label(slot)} : c'était "
                            f"possible jusqu'au {date_fr(limit)} à {time_fr(limit.astimezone(PARIS).time())} "
                            f"({hours} heures avant). Prévenez directement votre conseiller formation.")
    lock_row(Enrolment, enrolment.id)  # one announcement per half-day, even from two tabs at once
    if db.session.scalar(select(PlannedAbsence.id).where(PlannedAbsence.enrolment_id == enrolment.id,
                                                         PlannedAbsence.slot_id == slot.id)) is not None:
        raise ConflictError(f"Vous avez déjà signalé votre absence au créneau du {slot_label(slot)}.")
    absence = PlannedAbsence(session_id=enrolment.session_id, enrolment_id=enrolment.id, slot_id=slot.id,
                             reason=reason, declared_at=now, ip=(ip or "")[:45])
    db.session.add(absence)
    db.session.flush()
    return absence
