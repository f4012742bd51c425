"""A trainer's periods of unavailability: whole Paris calendar days, declared by the advisor on the trainer's page or
by the trainer in their space. Scheduling the trainer on one of those days is refused like a double booking
(``sessions.services`` asks ``unavailability_on``), naming the period."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..core.errors import ConflictError, ErrorCollector, NotFoundError
from ..core.formatting import date_fr
from ..core.timeutil import paris_today
from ..core.validation import id_or_none, parse_date
from ..extensions import db
from . import providers
from .models import Trainer, TrainerUnavailability

REASON_MAX_LENGTH = 200  # the column's length
# Decision: one declaration covers a year at most; a longer absence is an archived trainer, not a period.
LONGEST_PERIOD_DAYS = 366


def describe(period: TrainerUnavailability) -> str:
    """How messages name a period: « du 02/03/2031 au 06/03/2031 (congés) », « le 03/03/2031 »."""
    if period.starts_on == period.ends_on:
        text = f"le {date_fr(period.starts_on)}"
    else:
        text = f"du {date_fr(period.starts_on)} au {date_fr(period.ends_on)}"
    return f"{text} ({period.reason})" if period.reason else text


def unavailability_on(trainer: Trainer, day: dt.date) -> TrainerUnavailability | None:
    """The trainer's period covering ``day``, if any."""
    return db.session.scalar(
        select(TrainerUnavailability)
        .where(TrainerUnavailability.trainer_id == trainer.id, TrainerUnavailability.starts_on <= day,
               TrainerUnavailability.ends_on >= day)
        .order_by(TrainerUnavailability.starts_on).limit(1))


def list_unavailabilities(trainer: Trainer) -> list[TrainerUnavailability]:
    """The trainer's periods not over yet, in order."""
    return list(db.session.scalars(
        select(TrainerUnavailability)
        .where(TrainerUnavailability.trainer_id == trainer.id, TrainerUnavailability.ends_on >= paris_today())
        .order_by(TrainerUnavailability.starts_on, TrainerUnavailability.id)))


def get_unavailability(trainer: Trainer, period_id) -> TrainerUnavailability:
    """One of ``trainer``'s periods; another trainer's is unknown here (404)."""
    period_id = id_or_none(period_id)
    period = None if period_id is None else db.session.get(TrainerUnavailability, period_id)
    if period is None or period.trainer_id != trainer.id:
        raise NotFoundError("Période d'indisponibilité introuvable.")
    return period


def _clean(data: dict) -> tuple[dt.date, dt.date, str]:
    errors = ErrorCollector()
    starts_on = parse_date(data.get("starts_on"), "starts_on", errors, label="La date de début")
    ends_on = parse_date(data.get("ends_on"), "ends_on", errors, label="La date de fin")
    reason = " ".join(str(data.get("reason") or "").split())
    if len(reason) > REASON_MAX_LENGTH:
        errors.add("reason", f"Le motif ne doit pas dépasser {REASON_MAX_LENGTH} caractères.")
    if starts_on and ends_on:
        if ends_on < starts_on:
            errors.add("ends_on", "La date de fin doit être le jour de début ou après.")
        elif (ends_on - starts_on).days >= LONGEST_PERIOD_DAYS:
            errors.add("ends_on", f"Une période d'indisponibilité dure au plus {LONGEST_PERIOD_DAYS} jours.")
        elif ends_on < paris_today():
            errors.add("ends_on", "Cette période est déjà passée.")
    errors.raise_if_any()
    return starts_on, ends_on, reason


def add_unavailability(trainer: Trainer, data: dict) -> tuple[TrainerUnavailability, list[str]]:
    """Record a period (``starts_on``, ``ends_on``, ``reason``); the warnings name the trainer's slots already
    planned in it, which the advisor has to move: they are not cancelled here."""
    starts_on, ends_on, reason = _clean(data)
    overlapping = db.session.scalar(
        select(TrainerUnavailability)
        .where(TrainerUnavailability.trainer_id == trainer.id, TrainerUnavailability.starts_on <= ends_on,
               TrainerUnavailability.ends_on >= starts_on)
        .order_by(TrainerUnavailability.starts_on).limit(1))
    if overlapping is not None:
        raise ConflictError(f"Cette période chevauche l'indisponibilité déjà déclarée {describe(overlapping)}.",
                            field="starts_on")
    period = TrainerUnavailability(trainer=trainer, starts_on=starts_on, ends_on=ends_on, reason=reason)
    db.session.add(period)
    db.session.flush()
    warnings = [f"Le {date_fr(slot.date)} ({slot.half_day_label.lower()}), {trainer.full_name} est déjà planifié(e) "
                f"sur la session {slot.session.label} : remplacez ce créneau ou son formateur."
                for slot in providers.ask("trainer_slots", trainer, starts_on, ends_on)]
    return period, warnings


def delete_unavailability(period: TrainerUnavailability) -> None:
    db.session.delete(period)
    db.session.flush()
