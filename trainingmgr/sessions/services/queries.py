"""Reading sessions: the sessions list a page at a time, the public ones, the dashboard's, the calendar's slots.

The list's filters and the dashboard's figures (dashboard/figures.py) share the SQL conditions here (periods,
risk), so that a figure and the list it links to count the same sessions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from ...accounts.models import User
from ...catalogue.models import Course, CourseStatus
from ...core.errors import NotFoundError
from ...core.paging import PER_PAGE, Page, paginate
from ...core.timeutil import paris_today
from ...core.validation import id_or_none
from ...extensions import db
from ...resources.models import Location
from ..models import ENROLLABLE, NOT_CANCELLED, SessionStatus, Slot, TrainingSession
from .access import session_load_options, taught_by, visible_sessions_query
from .seats import SeatSummary, seats_held_expression, seats_taken, selection_summary
from .statuses import API_PUBLIC_STATUSES, UPCOMING_STATUSES


def list_sessions(actor: User, *, course_id: int | None = None, statuses=None, date_from: dt.date | None = None,
                  date_to: dt.date | None = None, dates_of: str = "", at_risk_on: dt.date | None = None,
                  ) -> list[TrainingSession]:
    """The sessions ``actor`` may see. ``dates_of`` says what ``date_from``/``date_to`` bound: "" any slot,
    "start" the first half-day, "end" the last one (PERIOD_EDGES); ``at_risk_on`` keeps the sessions at risk
    on that day (at_risk_condition)."""
    return _sorted(db.session.scalars(_listed(actor, course_id=course_id, statuses=statuses, date_from=date_from,
                                              date_to=date_to, dates_of=dates_of, at_risk_on=at_risk_on)))


def _listed(actor: User, *, course_id=None, statuses=None, date_from=None, date_to=None, dates_of="",
            at_risk_on=None, column=TrainingSession):
    """list_sessions' query, unordered: its sessions with their relations, or only ``column`` of them."""
    query = visible_sessions_query(actor) if column is TrainingSession else select(column)
    if column is not TrainingSession and not actor.is_staff:
        query = query.where(taught_by(actor))
    query = _filter(query, course_id=course_id, statuses=statuses, date_from=date_from, date_to=date_to,
                    dates_of=dates_of)
    return query if at_risk_on is None else query.where(at_risk_condition(at_risk_on))


def first_date_expression():
    """SQL: the first half-day of the session of the enclosing query (NULL without slots)."""
    return (select(func.min(Slot.date)).where(Slot.session_id == TrainingSession.id)
            .correlate(TrainingSession).scalar_subquery())


@dataclass(frozen=True)
class SessionListing:
    """One page of the sessions list, the seats of its rows, and the SeatSummary of the whole selection when the
    selection is bounded in time (SUMMARISED_WHEN); None for the whole history."""

    page: Page
    taken: dict[int, int]
    summary: SeatSummary | None


def _summarised(filters: dict) -> bool:
    """Decision: the seats of the selection are summed when it is bounded in time (a period, the sessions at risk, or
    statuses of sessions still to deliver), as every figure of the dashboard links to it; over the whole history a
    fill rate says nothing and would cost a pass over every enrolment ever made."""
    statuses = filters.get("statuses") or ()
    return bool(filters.get("date_from") or filters.get("date_to") or filters.get("at_risk_on")
                or (statuses and set(statuses) <= set(UPCOMING_STATUSES)))


def session_page(actor: User, page: int | None = None, *, today: dt.date | None = None, per_page: int = PER_PAGE,
                 **filters) -> SessionListing:
    """The sessions list a page at a time, in list_sessions' order (first half-day, sessions without slots last),
    with the seat summary of the selection when it is bounded in time (_summarised).
    Without ``page``, the page holding the first session that starts ``today`` or later (the last page when none
    does): the advisor lands on what is coming, the past a page back. The same SQL statements whatever the history
    (where to land, count, rows, their relations, seats, summary)."""
    query = _listed(actor, **filters)
    first = first_date_expression()
    ids = _listed(actor, column=TrainingSession.id, **filters)
    if page is None:  # a session started before today has a half-day before today (ix_slot_date_session)
        started = TrainingSession.id.in_(select(Slot.session_id).where(Slot.date < (today or paris_today())))
        total, before = db.session.execute(select(func.count(), func.count().filter(started))
                                           .select_from(TrainingSession).where(TrainingSession.id.in_(ids))).one()
        page = min(before // per_page, max(total - 1, 0) // per_page) + 1
    listing = paginate(query.order_by(first.asc().nulls_last(), TrainingSession.id), page, per_page,
                       key=TrainingSession.id)
    taken = seats_taken([s.id for s in listing.rows])
    return SessionListing(listing, taken, selection_summary(ids) if _summarised(filters) else None)


def _filter(query, *, course_id=None, statuses=None, date_from=None, date_to=None, dates_of=""):
    if course_id is not None:
        course_id = id_or_none(course_id)
        query = query.where(TrainingSession.course_id == course_id if course_id is not None else false())
    if statuses:
        query = query.where(TrainingSession.status.in_(tuple(statuses)))
    if dates_of in ("start", "end"):
        return query.where(period_condition(dates_of, date_from, date_to))
    if date_from is not None:
        query = query.where(exists().where(and_(Slot.session_id == TrainingSession.id, Slot.date >= date_from)))
    if date_to is not None:
        query = query.where(exists().where(and_(Slot.session_id == TrainingSession.id, Slot.date <= date_to)))
    return query


# What a period bounds: any slot, the first half-day (the session starts in it) or the last (it ends in it).
PERIOD_EDGES = {"": "un créneau", "start": "le premier créneau", "end": "le dernier créneau"}


# Decision: a session still under its minimum seats this many days before its first half-day is "at risk"
# (the dashboard's figure, the list's filter); the table's stronger « J−n » warning waits for MINIMUM_CHECK_DAYS.
AT_RISK_DAYS = 15


def period_condition(edge: str, start: dt.date | None, end: dt.date | None):
    """SQL condition: the session's first ("start") or last ("end") half-day falls in [start, end] (a missing
    bound is open). A session without slots matches neither. Index-friendly: a slot in the range (ix_slot_date_session),
    and none before it (start) or after it (end)."""
    other = aliased(Slot)
    inside = select(Slot.session_id)  # an IN, not a correlated EXISTS: the planners start from the date range
    if start is not None:
        inside = inside.where(Slot.date >= start)
    if end is not None:
        inside = inside.where(Slot.date <= end)
    condition = TrainingSession.id.in_(inside)
    if edge == "start" and start is not None:
        condition = and_(condition, ~exists().where(and_(other.session_id == TrainingSession.id, other.date < start)))
    if edge == "end" and end is not None:
        condition = and_(condition, ~exists().where(and_(other.session_id == TrainingSession.id, other.date > end)))
    return condition


def at_risk_condition(today: dt.date):
    """SQL condition: a session not cancelled whose first half-day is within AT_RISK_DAYS of ``today`` (J−15 to
    J−0) and whose seats held are below its minimum."""
    return and_(TrainingSession.status.in_(NOT_CANCELLED),
                period_condition("start", today, today + dt.timedelta(days=AT_RISK_DAYS)),
                seats_held_expression() < TrainingSession.min_trainees)


def _sorted(sessions) -> list[TrainingSession]:
    far = dt.date(9999, 12, 31)
    return sorted(sessions, key=lambda s: (s.first_date or far, s.id))


def _public_query():
    """Inter-company sessions of published courses: an intra session belongs to its client company."""
    return (
        select(TrainingSession)
        .join(Course, Course.id == TrainingSession.course_id)
        .where(Course.status == CourseStatus.PUBLISHED.value, TrainingSession.format == "inter")
        .options(*session_load_options())
    )


def public_sessions(*, course_id=None, statuses=None, date_from=None, date_to=None) -> list[TrainingSession]:
    """Sessions that the public may see."""
    return _sorted(db.session.scalars(_public_listed(course_id=course_id, statuses=statuses, date_from=date_from,
                                                     date_to=date_to)))


def _public_listed(*, course_id=None, statuses=None, date_from=None, date_to=None):
    """public_sessions' query, unordered."""
    allowed = API_PUBLIC_STATUSES if not statuses else [s for s in statuses if s in API_PUBLIC_STATUSES]
    return _filter(_public_query(), course_id=course_id, statuses=allowed or ("-",), date_from=date_from,
                   date_to=date_to)


def api_session_page(actor: User | None, page: int, per_page: int = PER_PAGE, **filters) -> Page:
    """One page of the API's sessions list, in list_sessions' order: those a staff ``actor`` may see, the public
    ones without one (public_sessions). ``filters`` as public_sessions'. Three statements (count, keys, rows) and
    the rows' relations, whatever the history."""
    query = _listed(actor, **filters) if actor is not None else _public_listed(**filters)
    return paginate(query.order_by(first_date_expression().asc().nulls_last(), TrainingSession.id), page, per_page,
                    key=TrainingSession.id)


def upcoming_public_sessions(course: Course, today: dt.date | None = None) -> list[TrainingSession]:
    today = today or paris_today()
    return [s for s in public_sessions(course_id=course.id, statuses=ENROLLABLE)
            if s.first_date is not None and s.first_date >= today]


def get_public_session(session_id: int) -> TrainingSession:
    session_id = id_or_none(session_id)
    if session_id is None:
        raise NotFoundError("Session introuvable.")
    session = db.session.scalar(
        _public_query().where(TrainingSession.id == session_id, TrainingSession.status.in_(API_PUBLIC_STATUSES))
    )
    if session is None:
        raise NotFoundError("Session introuvable.")
    return session


def dashboard_sessions(actor: User, today: dt.date | None = None) -> list[TrainingSession]:
    """Sessions still to deliver (no slot yet, or a slot from today on), soonest first."""
    today = today or paris_today()
    return _sorted(db.session.scalars(visible_sessions_query(actor).where(still_to_deliver(today))))


def still_to_deliver(today: dt.date):
    """SQL condition of dashboard_sessions: an upcoming status, and no slot yet or a slot from ``today`` on."""
    return and_(TrainingSession.status.in_(UPCOMING_STATUSES), or_(
        ~exists().where(Slot.session_id == TrainingSession.id),
        exists().where(and_(Slot.session_id == TrainingSession.id, Slot.date >= today)),
    ))


def sessions_exceeding_room(location: Location, capacity: int) -> list[TrainingSession]:
    """Sessions still to deliver, held in ``location``, with more seats than ``capacity``."""
    in_room = or_(
        TrainingSession.location_id == location.id,
        exists().where(and_(Slot.session_id == TrainingSession.id, Slot.location_id == location.id)),
    )
    query = select(TrainingSession).where(
        in_room, TrainingSession.capacity > capacity, TrainingSession.status.in_(UPCOMING_STATUSES)
    ).options(*session_load_options())
    return list(db.session.scalars(query))


def slots_between(actor: User, first: dt.date, last: dt.date) -> list[Slot]:
    query = (
        select(Slot)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(Slot.date >= first, Slot.date <= last, TrainingSession.status != SessionStatus.CANCELLED.value)
        .options(selectinload(Slot.session).selectinload(TrainingSession.course_version),
                 selectinload(Slot.trainer), selectinload(Slot.location))
        .order_by(Slot.date, Slot.start_time)
    )
    if not actor.is_staff:
        query = query.where(taught_by(actor))
    return list(db.session.scalars(query))

