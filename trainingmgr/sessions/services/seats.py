"""Seats: how many a session holds (one query for many sessions), the lock that serialises counting them, and
the seat figures of a selection of sessions."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from ...core.numbers import percent
from ...core.persistence import lock_row
from ...enrolments.models import SEAT_HOLDING, Enrolment, EnrolmentStatus
from ...extensions import db
from ..models import TrainingSession


def seats_taken(session_ids) -> dict[int, int]:
    """Seats held per session (confirmed enrolments and those awaiting the prerequisite decision), in one
    query whatever the number of sessions."""
    taken = {session_id: 0 for session_id in session_ids}
    if taken:
        rows = db.session.execute(
            select(Enrolment.session_id, func.count(Enrolment.id))
            .where(Enrolment.session_id.in_(list(taken)), Enrolment.status.in_(SEAT_HOLDING))
            .group_by(Enrolment.session_id)
        )
        taken.update({session_id: count for session_id, count in rows})
    return taken


def lock_session_seats(session_id: int) -> None:
    """Serialise whatever counts or changes this session's seats, until the transaction ends."""
    lock_row(TrainingSession, session_id)


def seats_left(session: TrainingSession, taken: int | None = None) -> int:
    if taken is None:
        taken = seats_taken([session.id])[session.id]
    return max(session.capacity - taken, 0)


def selection_summary(ids) -> SeatSummary:
    """The SeatSummary of the sessions whose ids ``ids`` (a query) selects, in two aggregate queries."""
    sessions, capacity = db.session.execute(
        select(func.count(TrainingSession.id), func.coalesce(func.sum(TrainingSession.capacity), 0))
        .where(TrainingSession.id.in_(ids))).one()
    taken, completed = db.session.execute(select(
        func.count(Enrolment.id).filter(Enrolment.status.in_(SEAT_HOLDING)),
        func.count(Enrolment.id).filter(Enrolment.status == EnrolmentStatus.COMPLETED.value))
        .where(Enrolment.session_id.in_(ids))).one()
    return SeatSummary(sessions=sessions, capacity=int(capacity), taken=taken, completed=completed)


def seats_held_expression():
    """SQL: the seats held in the session of the enclosing query (correlated count)."""
    return (select(func.count(Enrolment.id))
            .where(Enrolment.session_id == TrainingSession.id, Enrolment.status.in_(SEAT_HOLDING))
            .correlate(TrainingSession).scalar_subquery())


@dataclass(frozen=True)
class SeatSummary:
    """The seats of a list of sessions: capacity, seats held; among the seats held, the trainees who completed."""

    sessions: int
    capacity: int
    taken: int
    completed: int

    @property
    def fill_percent(self) -> Decimal | None:
        return percent(self.taken, self.capacity)

    @property
    def completion_percent(self) -> Decimal | None:
        return percent(self.completed, self.taken)

