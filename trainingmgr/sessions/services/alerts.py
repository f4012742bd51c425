"""What the advisor should look at: weekends and French public holidays, and what keeps a session from running
as planned (session_warnings). The plan's rules (hours_gap, slots_without_trainer, needs_place, intra_without_client,
unpriced, remote_assistance_missing) are read here once: session_warnings words them as warnings,
workflow.confirmation_problems as what keeps the session from being confirmed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

import holidays
from flask import current_app

from ...core.formatting import count_fr, date_fr, hours_fr
from ...core.halfday import HALF_DAY_LABELS
from ...core.timeutil import paris_today
from ...organisation.services import get_organisation
from ..models import ENROLLABLE, REMOTE_MODALITIES, SessionStatus, TrainingSession
from .seats import seats_taken
from .statuses import EDITABLE_STATUSES


@lru_cache(maxsize=64)
def _french_holidays(year: int):
    return holidays.France(years=year, language="fr")


def holiday_name(day: dt.date) -> str | None:
    """The French public holiday falling on ``day``, if any (in French)."""
    return _french_holidays(day.year).get(day)


def date_warnings(day: dt.date) -> list[str]:
    warnings = []
    if day.weekday() >= 5:
        warnings.append(f"Le {date_fr(day)} tombe un {'samedi' if day.weekday() == 5 else 'dimanche'}.")
    name = holiday_name(day)
    if name:
        warnings.append(f"Le {date_fr(day)} est un jour férié ({name}).")
    return warnings


def session_warnings(session: TrainingSession, taken: int | None = None) -> list[str]:
    """What the advisor should look at before the session can run as planned."""
    if session.status in (SessionStatus.CANCELLED.value, SessionStatus.CLOSED.value):
        return []
    warnings = _plan_warnings(session)
    if session.status in ENROLLABLE:  # not the property: dashboard/upcoming.py passes a narrow row
        warnings += _seat_warnings(session, seats_taken([session.id])[session.id] if taken is None else taken)
    if unpriced(session):
        warnings.append("Aucun prix.")
    if session.status in EDITABLE_STATUSES:
        for day in sorted({slot.date for slot in session.slots}):
            warnings.extend(date_warnings(day))
    current = session.course.current_version_id
    if current is not None and current != session.course_version_id and session.status in EDITABLE_STATUSES:
        warnings.append(f"Programme en version {session.course_version.number} ; la formation est passée en version "
                        f"{session.course.current_version.number}.")
    return warnings


def _plan_warnings(session: TrainingSession) -> list[str]:
    """Slots, trainers, place and client still missing."""
    warnings = []
    gap = hours_gap(session)
    if not session.slots:
        warnings.append("Aucun créneau planifié.")
    elif gap is not None:
        warnings.append(f"Durée planifiée : {hours_fr(gap[0])} au lieu des {hours_fr(gap[1])} de la formation.")
    if not session.trainers:
        warnings.append("Aucun formateur.")
    else:
        warnings += [f"Créneau sans formateur : {date_fr(slot.date)} ({HALF_DAY_LABELS[slot.half_day]})."
                     for slot in slots_without_trainer(session)]
    if needs_place(session) and session.location is None:
        warnings.append("Aucun lieu.")
    if intra_without_client(session):
        warnings.append("Session intra sans entreprise cliente.")
    if remote_assistance_missing(session):
        warnings.append("Assistance technique et pédagogique à distance à renseigner dans les paramètres de "
                        "l'organisme (article D6313-3-1).")
    return warnings


# --------------------------------------------------------------------------- the plan's rules
# They read only what dashboard/upcoming.py's narrow rows hold: slots (date, times, trainer), trainers and location
# present or not, format, delivery mode, prices, the course version's duration.


def hours_gap(session: TrainingSession) -> tuple[Decimal, Decimal] | None:
    """(planned, course's) hours when half-days are planned and their total differs from the course's duration."""
    planned, expected = session.planned_hours, session.course_version.duration_hours
    return (planned, expected) if session.slots and planned != expected else None


def slots_without_trainer(session: TrainingSession) -> list:
    """The half-days no trainer teaches (the id first; else the relation, which may be set and not flushed yet: a
    many-to-one with no key loads nothing)."""
    return [slot for slot in session.slots if slot.trainer_id is None and slot.trainer is None]


def needs_place(session: TrainingSession) -> bool:
    """Every session held in a room (all but the remote ones) needs a place."""
    return session.delivery_mode != "distanciel"


def intra_without_client(session: TrainingSession) -> bool:
    return session.format == "intra" and session.client_company is None


def remote_assistance_missing(session: TrainingSession) -> bool:
    """Half-days at a distance while the organisation's settings do not say how a trainee is assisted at a distance:
    the convention, the contract and the programme must (Code du travail D6313-3-1, 1°). The organisation is read only
    for such a session; the dashboard's narrow rows carry no modality (the session page and the API show it)."""
    if not any(getattr(slot, "modality", None) in REMOTE_MODALITIES for slot in session.slots):
        return False
    return not (get_organisation().remote_assistance or "").strip()


def unpriced(session: TrainingSession) -> bool:
    """Neither a price per trainee nor a price for the whole (intra) session."""
    return session.price_per_trainee is None and session.intra_price is None


def _seat_warnings(session: TrainingSession, taken: int) -> list[str]:
    """An open or confirmed session under its minimum (J−n when its start nears), or still open near its start."""
    warnings = []
    if taken < session.min_trainees:
        days_left = (session.first_date - paris_today()).days if session.first_date else None
        if days_left is not None and 0 <= days_left <= current_app.config["MINIMUM_CHECK_DAYS"]:
            warnings.append(f"J−{days_left} et sous le minimum : {count_fr(taken, 'inscrit')} pour "
                            f"{session.min_trainees} minimum. Décidez du maintien de la session.")
        else:
            warnings.append(f"Sous le minimum : {count_fr(taken, 'inscrit')} pour {session.min_trainees} minimum.")
    if session.status == SessionStatus.OPEN.value and session.first_date is not None and taken:
        days_left = (session.first_date - paris_today()).days
        if 0 <= days_left <= current_app.config["CONVOCATION_DAYS_BEFORE"]:
            warnings.append(f"J−{days_left} et session non confirmée : les convocations attendent sa confirmation.")
    return warnings
