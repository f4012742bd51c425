"""Which sessions an audit pack follows: those held in the period (ended, their first half-day in it, as the Qualiopi
board counts them), N of them sampled — spread over the courses, the same for a given period so that the page and
the command line agree — or chosen by the advisor among them."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ...core.errors import ValidationError
from ...core.formatting import date_fr
from ...extensions import db
from ...sessions.models import ENDED, Slot, TrainingSession
from ..board.services import MAX_YEAR, MIN_YEAR

DEFAULT_SAMPLE = 3
MAX_SAMPLE = 20
MAX_DAYS = 366 * 3  # a pack covers at most three years (an audit cycle)


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date

    @property
    def label(self) -> str:
        return f"du {date_fr(self.since)} au {date_fr(self.until)}"


def check_period(since: dt.date | None, until: dt.date | None) -> Period:
    """The period asked for; ValidationError (French, on its field) when a date is missing, out of range or the
    period is reversed or longer than three years."""
    if since is None:
        raise ValidationError("Indiquez la date de début de la période.", field="since")
    if until is None:
        raise ValidationError("Indiquez la date de fin de la période.", field="until")
    for name, day in (("since", since), ("until", until)):
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValidationError(f"Date hors limites : {date_fr(day)} (choisissez une date entre {MIN_YEAR} et "
                                  f"{MAX_YEAR}).", field=name)
    if since > until:
        raise ValidationError(f"La date de début ({date_fr(since)}) est postérieure à la date de fin "
                              f"({date_fr(until)}).", field="until")
    if (until - since).days > MAX_DAYS:
        raise ValidationError("Un dossier d'audit couvre au plus trois ans : réduisez la période.", field="since")
    return Period(since, until)


def check_sample(size: int | None) -> int:
    if size is None:
        return DEFAULT_SAMPLE
    if not 1 <= size <= MAX_SAMPLE:
        raise ValidationError(f"Le nombre de sessions de l'échantillon va de 1 à {MAX_SAMPLE}.", field="sample")
    return size


def held_sessions(period: Period) -> list[TrainingSession]:
    """The sessions held in the period (ended; their first half-day in it), by first day then id."""
    first = (select(Slot.session_id, func.min(Slot.date).label("first")).group_by(Slot.session_id)
             .having(func.min(Slot.date) >= period.since, func.min(Slot.date) <= period.until).subquery())
    return list(db.session.scalars(
        select(TrainingSession).join(first, first.c.session_id == TrainingSession.id)
        .where(TrainingSession.status.in_(ENDED))
        .options(selectinload(TrainingSession.slots), joinedload(TrainingSession.course_version))
        .order_by(first.c.first, TrainingSession.id)).unique())


def _draw(period: Period, session_id: int) -> str:
    return hashlib.sha256(f"{period.since}:{period.until}:{session_id}".encode()).hexdigest()


def sample(period: Period, size: int = DEFAULT_SAMPLE, held: list[TrainingSession] | None = None
           ) -> list[TrainingSession]:
    """``size`` sessions held in the period, one course after the other (the courses with the most sessions first),
    drawn within each course by a hash of the period and the session: the same period gives the same sample.
    *decision*: a pseudo-random but reproducible draw, so that an auditor cannot guess it from the list and the
    advisor gets the same sample from the page and the command line."""
    held = held_sessions(period) if held is None else held
    by_course: dict[int, list[TrainingSession]] = defaultdict(list)
    for session in held:
        by_course[session.course_id].append(session)
    queues = [sorted(sessions, key=lambda s: _draw(period, s.id))
              for _, sessions in sorted(by_course.items(), key=lambda item: (-len(item[1]), item[0]))]
    chosen: list[TrainingSession] = []
    while len(chosen) < size and any(queues):
        for queue in queues:
            if queue and len(chosen) < size:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda s: (s.first_date, s.id))


def chosen(period: Period, session_ids: list[int], held: list[TrainingSession] | None = None
           ) -> list[TrainingSession]:
    """The sessions the advisor picked, each held in the period; ValidationError naming the first that is not."""
    held = held_sessions(period) if held is None else held
    by_id = {s.id: s for s in held}
    for session_id in session_ids:
        if session_id not in by_id:
            raise ValidationError(f"La session n° {session_id} n'a pas été réalisée dans la période "
                                  f"{period.label} : elle ne peut pas être échantillonnée.", field="sessions")
    if len(set(session_ids)) > MAX_SAMPLE:
        raise ValidationError(f"Choisissez au plus {MAX_SAMPLE} sessions.", field="sessions")
    picked = [by_id[i] for i in dict.fromkeys(session_ids)]
    return sorted(picked, key=lambda s: (s.first_date, s.id))
