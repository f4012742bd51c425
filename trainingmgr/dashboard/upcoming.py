"""The advisor's « Sessions à venir » on the dashboard: every session still to deliver is checked, the first few are
shown in full.

Decision: the table shows the first SHOWN_ROWS sessions to come (soonest first, as before) and says so;
a line gives how many follow and how many of them have something to check, with a link to the sessions list and one
that shows them all here (``?toutes=1``). The warnings are the rules of sessions/services.py (session_warnings),
evaluated for every session on narrow rows (two statements, no ORM object), so that the counts stay exact; only the
rows shown are loaded as sessions. The cost then follows SHOWN_ROWS, not the sessions planned ahead.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from ..catalogue.models import Course, CourseVersion
from ..extensions import db
from ..sessions import services
from ..sessions.models import Slot, TrainingSession, session_trainer

SHOWN_ROWS = 15


@dataclass(frozen=True)
class _Slot:
    """What session_warnings reads of a slot (its trainer: the id, present or not)."""

    date: dt.date
    start_time: dt.time
    end_time: dt.time
    trainer_id: int | None

    @property
    def trainer(self) -> int | None:
        return self.trainer_id

    # The model's own properties, on the narrow row.
    half_day = property(Slot.half_day.fget)
    hours = property(Slot.hours.fget)


@dataclass
class _Version:
    number: int
    duration_hours: Decimal | None = None


@dataclass
class _Course:
    current_version_id: int | None
    current_version: _Version | None


@dataclass
class _Session:
    """What session_warnings reads of a session, from one narrow row (location and client company: present or not)."""

    id: int
    status: str
    format: str
    delivery_mode: str
    location: bool | None
    client_company: bool | None
    min_trainees: int
    price_per_trainee: Decimal | None
    intra_price: Decimal | None
    course_version_id: int
    course_version: _Version
    course: _Course
    trainers: bool
    slots: list[_Slot] = field(default_factory=list)  # complete before first_date and planned_hours are read

    # The model's own properties, on the narrow rows (read once the slots are complete).
    first_date = cached_property(TrainingSession.first_date.fget)
    planned_hours = cached_property(TrainingSession.planned_hours.fget)


@dataclass
class Upcoming:
    """The table: ``sessions`` shown (loaded), ``taken`` and ``warnings`` of every session to come (by id)."""

    sessions: list[TrainingSession]
    taken: dict[int, int]
    warnings: dict[int, list[str]]
    total: int
    flagged: int  # sessions to come with at least one warning
    flagged_hidden: int  # among those not shown
    everything: bool  # every session to come asked for (?toutes=1)

    @property
    def hidden(self) -> int:
        return self.total - len(self.sessions)


@lru_cache(maxsize=1)
def _statements() -> tuple:
    """The three statements, built once per process (``today`` and the ids are parameters): building them cost as
    much as running them."""
    current = aliased(CourseVersion)
    narrow = (
        select(TrainingSession.id, TrainingSession.status, TrainingSession.format, TrainingSession.delivery_mode,
               TrainingSession.location_id, TrainingSession.client_company_id, TrainingSession.min_trainees,
               TrainingSession.price_per_trainee, TrainingSession.intra_price, TrainingSession.course_version_id,
               CourseVersion.number, CourseVersion.duration_hours, Course.current_version_id, current.number,
               exists().where(session_trainer.c.session_id == TrainingSession.id))
        .join(CourseVersion, CourseVersion.id == TrainingSession.course_version_id)
        .join(Course, Course.id == TrainingSession.course_id)
        .outerjoin(current, current.id == Course.current_version_id)
        .where(services.still_to_deliver(bindparam("today"))))
    ids = bindparam("ids", expanding=True)
    slots = (select(Slot.session_id, Slot.date, Slot.start_time, Slot.end_time, Slot.trainer_id)
             .where(Slot.session_id.in_(ids)).order_by(Slot.date, Slot.start_time))
    # What the table prints (not the slots' trainers and rooms): the many-to-one relations in the same statement.
    loaded = select(TrainingSession).where(TrainingSession.id.in_(ids)).options(
        selectinload(TrainingSession.slots), selectinload(TrainingSession.trainers),
        joinedload(TrainingSession.location), joinedload(TrainingSession.course_version),
        joinedload(TrainingSession.client_company))
    return narrow, slots, loaded


def _narrow(today: dt.date) -> list[_Session]:
    """Every session still to deliver as _Session, soonest first: two statements."""
    narrow, slots, _ = _statements()
    rows = db.session.execute(narrow, {"today": today}).all()
    sessions = {
        row[0]: _Session(id=row[0], status=row[1], format=row[2], delivery_mode=row[3], location=row[4] is not None or None,
                         client_company=row[5] is not None or None, min_trainees=row[6], price_per_trainee=row[7],
                         intra_price=row[8], course_version_id=row[9], course_version=_Version(row[10], row[11]),
                         course=_Course(row[12], None if row[13] is None else _Version(row[13])), trainers=bool(row[14]))
        for row in rows}
    if sessions:
        for session_id, *slot in db.session.execute(slots, {"ids": list(sessions)}):
            sessions[session_id].slots.append(_Slot(*slot))
    far = dt.date(9999, 12, 31)
    return sorted(sessions.values(), key=lambda s: (s.first_date or far, s.id))


def _loaded(ids: list[int]) -> list[TrainingSession]:
    """The sessions shown, with what the table prints (not their slots' trainers and rooms), in ``ids``' order."""
    if not ids:
        return []
    found = {s.id: s for s in db.session.scalars(_statements()[2], {"ids": ids}).unique()}
    return [found[i] for i in ids if i in found]


def upcoming(today: dt.date, everything: bool = False) -> Upcoming:
    """The advisor's sessions to come: every one checked, the first SHOWN_ROWS loaded (all with ``everything``)."""
    narrow = _narrow(today)
    taken = services.seats_taken([s.id for s in narrow])
    warnings = {s.id: services.session_warnings(s, taken[s.id]) for s in narrow}  # type: ignore[arg-type]
    shown = narrow if everything else narrow[:SHOWN_ROWS]
    hidden = narrow[len(shown):]
    return Upcoming(sessions=_loaded([s.id for s in shown]), taken=taken, warnings=warnings, total=len(narrow),
                    flagged=sum(1 for w in warnings.values() if w),
                    flagged_hidden=sum(1 for s in hidden if warnings[s.id]), everything=everything)
