"""What the advisor should look at: weekends and French public holidays, and what keeps a session from running
as planned (session_warnings)."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from flask import current_app

from ...core.formatting import count_fr, date_fr, hours_fr
from ...core.halfday import HALF_DAY_LABELS
from ...core.timeutil import paris_today
from ..models import ENROLLABLE, SessionStatus, TrainingSession
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
    if session.price_per_trainee is None and session.intra_price is None:
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
    version = session.course_version
    if not session.slots:
        warnings.append("Aucun créneau planifié.")
    elif session.planned_hours != version.duration_hours:
        warnings.append(f"Durée planifiée : {hours_fr(session.planned_hours)} au lieu des "
                        f"{hours_fr(version.duration_hours)} de la formation.")
    if not session.trainers:
        warnings.append("Aucun formateur.")
    for slot in session.slots:
        if slot.trainer_id is None and session.trainers:
            warnings.append(f"Créneau sans formateur : {date_fr(slot.date)} ({HALF_DAY_LABELS[slot.half_day]}).")
    if session.delivery_mode != "distanciel" and session.location is None:
        warnings.append("Aucun lieu.")
    if session.format == "intra" and session.client_company is None:
        warnings.append("Session intra sans entreprise cliente.")
    return warnings


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
