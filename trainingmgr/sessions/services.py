"""Scheduling rules for sessions and their half-day slots.

Every rule lives here and raises a French ``ValidationError`` (422) or ``ConflictError`` (409);
views and the API only translate input and output.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import holidays
from blinker import Namespace
from flask import current_app
from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from ..accounts.models import User
from ..catalogue.models import AUDIENCE_FORMATS, Course, CourseStatus, CourseVersion
from ..catalogue.services import freeze_version
from ..companies.models import Company
from ..core.errors import ConflictError, ErrorCollector, NotFoundError, PermissionDenied, ValidationError
from ..core.formatting import date_fr, hours_fr, time_fr
from ..core.halfday import HALF_DAY_LABELS, half_day_problem, half_of, hours_between, parse_day_pattern
from ..core.numbers import percent
from ..core.paging import PER_PAGE, Page, paginate
from ..core.persistence import get_by_id, lock_row
from ..core.timeutil import PARIS, paris_today, utcnow
from ..core.validation import id_or_none, parse_date, parse_decimal, parse_int, parse_time
from ..extensions import db
from ..resources.models import Location, Trainer
from ..resources.unavailability import describe as describe_unavailability
from ..resources.unavailability import unavailability_on
from .ical import event_status
from .models import SESSION_FORMATS, SESSION_STATUS_LABELS, SessionStatus, Slot, TrainingSession, session_trainer

S = SessionStatus
DELIVERY_MODES = ("presentiel", "distanciel", "mixte")
DEFAULTABLE_SETTINGS = ("format", "delivery_mode", "capacity", "min_trainees", "price_per_trainee", "intra_price")

TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT.value: {S.OPEN.value, S.CONFIRMED.value, S.CANCELLED.value},
    S.OPEN.value: {S.DRAFT.value, S.CONFIRMED.value, S.CANCELLED.value},
    S.CONFIRMED.value: {S.IN_PROGRESS.value, S.CANCELLED.value},
    S.IN_PROGRESS.value: {S.COMPLETED.value, S.CANCELLED.value},
    S.COMPLETED.value: {S.CLOSED.value},
    S.CLOSED.value: set(),
    S.CANCELLED.value: set(),
}
# Statuses in which slots and settings may still change.
EDITABLE_STATUSES = (S.DRAFT.value, S.OPEN.value, S.CONFIRMED.value)
# Sessions the public sees with their seats (the catalogue's "upcoming sessions").
PUBLIC_STATUSES = (S.OPEN.value, S.CONFIRMED.value)
# Sessions listed by the public API.
API_PUBLIC_STATUSES = (S.OPEN.value, S.CONFIRMED.value, S.IN_PROGRESS.value)
# Sessions still to deliver: shown on the dashboard.
UPCOMING_STATUSES = (S.DRAFT.value, S.OPEN.value, S.CONFIRMED.value, S.IN_PROGRESS.value)


# Other capabilities react to these without the sessions depending on them: the enrolments promote
# their waiting list when seats open, and tell every enrolled person when a session is cancelled.
_signals = Namespace()
seats_changed = _signals.signal("seats-changed")  # sender: the session; kwargs: actor
session_cancelled = _signals.signal("session-cancelled")  # sender: the session; kwargs: actor, reason
session_confirmed = _signals.signal("session-confirmed")  # sender: the session; kwargs: actor
session_completed = _signals.signal("session-completed")  # sender: the session; kwargs: actor
# Sent before a slot's date or times change or the slot is removed; a receiver refuses by raising.
slot_changing = _signals.signal("slot-changing")  # sender: the slot

# --------------------------------------------------------------------------- seats


def seats_taken(session_ids) -> dict[int, int]:
    """Seats held per session (confirmed enrolments and those awaiting the prerequisite decision), in one
    query whatever the number of sessions."""
    from ..enrolments.models import SEAT_HOLDING, Enrolment

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


# --------------------------------------------------------------------------- loading and permissions


def session_load_options():
    return (
        selectinload(TrainingSession.slots).selectinload(Slot.trainer),
        selectinload(TrainingSession.slots).selectinload(Slot.location),
        selectinload(TrainingSession.trainers),
        selectinload(TrainingSession.location),
        selectinload(TrainingSession.course_version),
        selectinload(TrainingSession.course).selectinload(Course.current_version),
        selectinload(TrainingSession.client_company),
    )


def _taught_by(user: User):
    """SQL condition: the session is taught by the trainer linked to ``user``."""
    trainer_ids = select(Trainer.id).where(Trainer.user_id == user.id)
    # An alias, so that the subquery does not correlate with a query that already selects Slot
    # (the calendar): it would otherwise lose its FROM clause.
    taught = aliased(Slot)
    return or_(
        exists().where(and_(session_trainer.c.session_id == TrainingSession.id,
                            session_trainer.c.trainer_id.in_(trainer_ids))),
        exists().where(and_(taught.session_id == TrainingSession.id, taught.trainer_id.in_(trainer_ids))),
    )


def visible_sessions_query(actor: User):
    query = select(TrainingSession).options(*session_load_options())
    if not actor.is_staff:
        query = query.where(_taught_by(actor))
    return query


def can_view_session(actor: User, session: TrainingSession) -> bool:
    if actor.is_staff:
        return True
    trainer_user_ids = {t.user_id for t in session.trainers} | {s.trainer.user_id for s in session.slots if s.trainer}
    return actor.id in trainer_user_ids


def get_session(session_id: int, actor: User | None = None) -> TrainingSession:
    """Load a session; with ``actor``, refuse it to a trainer who does not teach it."""
    session_id = id_or_none(session_id)
    session = None if session_id is None else db.session.scalar(
        select(TrainingSession).where(TrainingSession.id == session_id).options(*session_load_options())
    )
    if session is None:
        raise NotFoundError("Session introuvable.")
    if actor is not None and not can_view_session(actor, session):
        raise PermissionDenied("Vous n'intervenez pas sur cette session.")
    return session


def ensure_can_manage(actor: User | None, session: TrainingSession | None = None) -> None:
    """Only the advisor (and the admin) plan sessions; trainers only read theirs."""
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Seul le conseiller formation peut modifier une session.")


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
        query = query.where(_taught_by(actor))
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


def selection_summary(ids) -> SeatSummary:
    """The SeatSummary of the sessions whose ids ``ids`` (a query) selects, in two aggregate queries."""
    from ..enrolments.models import SEAT_HOLDING, Enrolment, EnrolmentStatus

    sessions, capacity = db.session.execute(
        select(func.count(TrainingSession.id), func.coalesce(func.sum(TrainingSession.capacity), 0))
        .where(TrainingSession.id.in_(ids))).one()
    taken, completed = db.session.execute(select(
        func.count(Enrolment.id).filter(Enrolment.status.in_(SEAT_HOLDING)),
        func.count(Enrolment.id).filter(Enrolment.status == EnrolmentStatus.COMPLETED.value))
        .where(Enrolment.session_id.in_(ids))).one()
    return SeatSummary(sessions=sessions, capacity=int(capacity), taken=taken, completed=completed)


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


# --------------------------------------------------------------------------- periods, risk, seat figures
# The sessions list's filters and the dashboard's figures (dashboard/figures.py) share these conditions, so that
# a figure and the list it links to count the same sessions.

# Every status but "cancelled".
NOT_CANCELLED = tuple(s for s in SESSION_STATUS_LABELS if s != S.CANCELLED.value)
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


def seats_held_expression():
    """SQL: the seats held in the session of the enclosing query (correlated count)."""
    from ..enrolments.models import SEAT_HOLDING, Enrolment

    return (select(func.count(Enrolment.id))
            .where(Enrolment.session_id == TrainingSession.id, Enrolment.status.in_(SEAT_HOLDING))
            .correlate(TrainingSession).scalar_subquery())


def at_risk_condition(today: dt.date):
    """SQL condition: a session not cancelled whose first half-day is within AT_RISK_DAYS of ``today`` (J−15 to
    J−0) and whose seats held are below its minimum."""
    return and_(TrainingSession.status.in_(NOT_CANCELLED),
                period_condition("start", today, today + dt.timedelta(days=AT_RISK_DAYS)),
                seats_held_expression() < TrainingSession.min_trainees)


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
    allowed = API_PUBLIC_STATUSES if not statuses else [s for s in statuses if s in API_PUBLIC_STATUSES]
    query = _public_query()
    query = _filter(query, course_id=course_id, statuses=allowed or ("-",), date_from=date_from, date_to=date_to)
    return _sorted(db.session.scalars(query))


def upcoming_public_sessions(course: Course, today: dt.date | None = None) -> list[TrainingSession]:
    today = today or paris_today()
    return [s for s in public_sessions(course_id=course.id, statuses=PUBLIC_STATUSES)
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
    query = visible_sessions_query(actor).where(TrainingSession.status.in_(UPCOMING_STATUSES)).where(
        or_(
            ~exists().where(Slot.session_id == TrainingSession.id),
            exists().where(and_(Slot.session_id == TrainingSession.id, Slot.date >= today)),
        )
    )
    return _sorted(db.session.scalars(query))


# --------------------------------------------------------------------------- warnings


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
    warnings: list[str] = []
    if session.status in (S.CANCELLED.value, S.CLOSED.value):
        return warnings
    version = session.course_version
    if not session.slots:
        warnings.append("Aucun créneau planifié.")
    elif session.planned_hours != version.duration_hours:
        warnings.append(
            f"Durée planifiée : {hours_fr(session.planned_hours)} au lieu des "
            f"{hours_fr(version.duration_hours)} de la formation."
        )
    if not session.trainers:
        warnings.append("Aucun formateur.")
    for slot in session.slots:
        if slot.trainer_id is None and session.trainers:
            warnings.append(f"Créneau sans formateur : {date_fr(slot.date)} ({HALF_DAY_LABELS[slot.half_day]}).")
    if session.delivery_mode != "distanciel" and session.location is None:
        warnings.append("Aucun lieu.")
    if session.format == "intra" and session.client_company is None:
        warnings.append("Session intra sans entreprise cliente.")
    if session.status in (S.OPEN.value, S.CONFIRMED.value):
        taken = seats_taken([session.id])[session.id] if taken is None else taken
        if taken < session.min_trainees:
            days_left = (session.first_date - paris_today()).days if session.first_date else None
            check_days = current_app.config["MINIMUM_CHECK_DAYS"]
            if days_left is not None and 0 <= days_left <= check_days:
                warnings.append(f"J−{days_left} et sous le minimum : {taken} inscrit(s) pour {session.min_trainees} "
                                "minimum. Décidez du maintien de la session.")
            else:
                warnings.append(f"Sous le minimum : {taken} inscrit(s) pour {session.min_trainees} minimum.")
        if session.status == S.OPEN.value and session.first_date is not None and taken:
            days_left = (session.first_date - paris_today()).days
            if 0 <= days_left <= current_app.config["CONVOCATION_DAYS_BEFORE"]:
                warnings.append(f"J−{days_left} et session non confirmée : les convocations attendent sa "
                                "confirmation.")
    if session.price_per_trainee is None and session.intra_price is None:
        warnings.append("Aucun prix.")
    if session.status in EDITABLE_STATUSES:
        for day in sorted({slot.date for slot in session.slots}):
            warnings.extend(date_warnings(day))
    current = session.course.current_version_id
    if current is not None and current != session.course_version_id and session.status in EDITABLE_STATUSES:
        warnings.append(
            f"Programme en version {version.number} ; la formation est passée en version "
            f"{session.course.current_version.number}."
        )
    return warnings


# --------------------------------------------------------------------------- session settings


@dataclass
class SessionSettings:
    format: str
    delivery_mode: str
    location: Location | None
    trainers: list[Trainer]
    capacity: int
    min_trainees: int
    price_per_trainee: Decimal | None
    intra_price: Decimal | None
    client_company: Company | None
    notes: str = ""


def _clean_text(value) -> str:
    """Free text as stored: trimmed. (NUL characters never get this far: see core.web.reject_nul_characters.)"""
    return str(value or "").strip()


def _load(model, value, field_name: str, errors: ErrorCollector, label: str):
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    number = id_or_none(value)
    obj = None if number is None else db.session.get(model, number)
    if obj is None:
        errors.add(field_name, f"{label} introuvable.")
    return obj


def _clean_settings(data: dict, version: CourseVersion, session: TrainingSession | None) -> SessionSettings:
    """Validate session settings against the course version and the rooms; defaults come from the course."""
    errors = ErrorCollector()

    def value(key, default=None):
        if key in data:
            return data[key]
        if session is not None:
            return getattr(session, key)
        return default

    fmt = value("format") or ("intra" if version.audience_format == "intra" else "inter")
    if fmt not in SESSION_FORMATS:
        errors.add("format", "Format inconnu : inter ou intra.")
    elif version.audience_format != "inter_intra" and fmt != version.audience_format:
        errors.add("format", f"Cette formation est proposée en {AUDIENCE_FORMATS[version.audience_format].lower()} "
                             "uniquement.")
    delivery = value("delivery_mode") or version.delivery_mode
    if delivery not in DELIVERY_MODES:
        errors.add("delivery_mode", "Modalité inconnue : présentiel, distanciel ou mixte.")

    location = _load(Location, data["location_id"] if "location_id" in data else (session.location if session else None),
                     "location_id", errors, "Lieu")
    if location is not None and not location.active and (session is None or session.location_id != location.id):
        errors.add("location_id", "Ce lieu est archivé.")
    if location is not None and delivery == "presentiel" and location.is_remote:
        errors.add("location_id", "Une session en présentiel a besoin d'un lieu physique.")
    if location is not None and delivery == "distanciel" and not location.is_remote:
        errors.add("location_id", "Une session à distance a besoin d'un lieu à distance (lien de réunion).")

    if "trainer_ids" in data:
        trainers = []
        for raw in data["trainer_ids"] or []:
            trainer = _load(Trainer, raw, "trainer_ids", errors, "Formateur")
            if trainer is not None and trainer not in trainers:
                if not trainer.active and (session is None or trainer not in session.trainers):
                    errors.add("trainer_ids", f"{trainer.full_name} est archivé(e).")
                trainers.append(trainer)
    else:
        trainers = list(session.trainers) if session else []

    default_capacity = version.max_trainees
    if location is not None and location.capacity and not location.is_remote:
        default_capacity = min(default_capacity, location.capacity)
    capacity = parse_int(value("capacity", default_capacity), "capacity", errors,
                         label="La capacité", minimum=1, maximum=1000)
    min_trainees = parse_int(value("min_trainees", version.min_trainees), "min_trainees", errors,
                             label="Le nombre minimum de stagiaires", minimum=1, maximum=1000)
    if capacity is not None:
        if capacity > version.max_trainees:
            errors.add("capacity", f"La capacité ({capacity}) dépasse le maximum de la formation "
                                   f"({version.max_trainees} stagiaires).")
        rooms = [location] if location is not None else []
        if session is not None:
            # Slots held in the session's current location follow it to ``location`` (see _apply_settings):
            # only the rooms of the other slots still count.
            rooms += [slot.location for slot in session.slots
                      if slot.location is not None and slot.location is not session.location]
        for room in rooms:
            if room.capacity and not room.is_remote and capacity > room.capacity:
                errors.add("capacity", f"La capacité ({capacity}) dépasse celle de la salle « {room.name} » "
                                       f"({room.capacity} places).")
                break
        if session is not None:
            taken = seats_taken([session.id])[session.id]
            if capacity < taken:
                errors.add("capacity", f"{taken} stagiaires sont déjà inscrits : la capacité ne peut être inférieure.")
    if capacity is not None and min_trainees is not None and min_trainees > capacity:
        errors.add("min_trainees", "Le minimum de stagiaires doit être inférieur ou égal à la capacité.")

    price = parse_decimal(value("price_per_trainee", version.price_per_trainee), "price_per_trainee", errors,
                          label="Le prix par stagiaire")
    intra_price = parse_decimal(value("intra_price", version.intra_group_price), "intra_price", errors,
                                label="Le prix intra")
    company = _load(Company, data["client_company_id"] if "client_company_id" in data
                    else (session.client_company if session else None), "client_company_id", errors, "Entreprise")
    if fmt == "intra" and company is None and "client_company_id" not in errors.fields:
        errors.add("client_company_id", "Une session intra doit avoir une entreprise cliente.")
    if fmt == "inter":
        company = None
    notes = value("notes", "") or ""
    errors.raise_if_any()
    return SessionSettings(
        format=fmt, delivery_mode=delivery, location=location, trainers=trainers, capacity=capacity,
        min_trainees=min_trainees, price_per_trainee=price, intra_price=intra_price, client_company=company,
        notes=_clean_text(notes),
    )


def _apply_settings(session: TrainingSession, settings: SessionSettings) -> None:
    old_location = session.location
    old_trainers = list(session.trainers)
    session.format = settings.format
    session.delivery_mode = settings.delivery_mode
    session.location = settings.location
    session.trainers = settings.trainers
    session.capacity = settings.capacity
    session.min_trainees = settings.min_trainees
    session.price_per_trainee = settings.price_per_trainee
    session.intra_price = settings.intra_price
    session.client_company = settings.client_company
    session.notes = settings.notes
    # Slots held where the session was held follow it; slots whose trainer leaves the team (or that had
    # none while the team was empty) get the first trainer of the new team. Other choices stay.
    for slot in session.slots:
        if slot.location is old_location:
            if settings.location is not old_location:
                slot.sequence = (slot.sequence or 0) + 1  # the slot moves with its session: calendars follow
            slot.location = settings.location
        if (slot.trainer is None and not old_trainers) or (
            slot.trainer is not None and slot.trainer not in settings.trainers
        ):
            slot.trainer = settings.trainers[0] if settings.trainers else None
            _check_trainer_available(slot.trainer, slot.date)
    for slot in session.slots:
        _check_slot_conflicts(session, slot.date, slot.start_time, slot.end_time, slot.location, slot.trainer,
                              exclude=slot)


def _course_for(data: dict) -> Course:
    errors = ErrorCollector()
    course = None
    if data.get("course_id") not in (None, ""):
        course = _load(Course, data.get("course_id"), "course_id", errors, "Formation")
    elif data.get("course_slug"):
        course = db.session.scalar(select(Course).where(Course.slug == str(data["course_slug"])))
        if course is None:
            errors.add("course_slug", "Formation introuvable.")
    else:
        errors.add("course_id", "Choisissez la formation.")
    errors.raise_if_any()
    if course.status == CourseStatus.ARCHIVED.value:
        raise ValidationError("Cette formation est archivée : on ne peut plus y planifier de session.",
                              field="course_id")
    if course.current_version is None:
        raise ValidationError("Cette formation n'a pas encore de contenu.", field="course_id")
    return course


def create_session(data: dict, actor: User | None = None) -> tuple[TrainingSession, list[str]]:
    """Create a draft session of the course's version in force, laid out from its usual day pattern
    when ``start_date`` is given."""
    ensure_can_manage(actor)
    # Left empty, these come from the course version.
    data = {k: v for k, v in data.items() if not (k in DEFAULTABLE_SETTINGS and v in (None, ""))}
    course = _course_for(data)
    version = course.current_version
    settings = _clean_settings(data, version, None)
    start_date = None
    if data.get("start_date") not in (None, ""):
        errors = ErrorCollector()
        start_date = parse_date(data.get("start_date"), "start_date", errors, label="La date de début")
        errors.raise_if_any()
    session = TrainingSession(course=course, course_version=version, status=S.DRAFT.value)
    _apply_settings(session, settings)
    db.session.add(session)
    db.session.flush()
    freeze_version(version)
    warnings: list[str] = []
    if start_date is not None:
        for day, start, end in pattern_slots(version, start_date):
            _, slot_warnings = _add_slot(session, day, start, end, settings.location,
                                         settings.trainers[0] if settings.trainers else None)
            warnings.extend(slot_warnings)
    db.session.flush()
    return session, _dedupe(warnings)


def update_session(session: TrainingSession, data: dict, actor: User | None = None) -> list[str]:
    ensure_can_manage(actor, session)
    if session.status not in EDITABLE_STATUSES:
        if set(data) - {"notes"}:
            raise ValidationError(f"Une session « {session.status_label.lower()} » ne peut plus être modifiée "
                                  "(seules les notes le peuvent).")
        session.notes = _clean_text(data.get("notes"))
        return []
    lock_session_seats(session.id)  # the capacity check below counts the seats
    old_capacity = session.capacity
    settings = _clean_settings(data, session.course_version, session)
    with db.session.no_autoflush:
        _apply_settings(session, settings)
    if session.status == S.CONFIRMED.value:
        problems = _confirmation_problems(session)
        if problems:
            raise ValidationError("Session confirmée : " + " ".join(problems))
    db.session.flush()
    if session.capacity > old_capacity:
        seats_changed.send(session, actor=actor)
    return session_warnings(session)


def rebase_to_current_version(session: TrainingSession, actor: User | None = None) -> None:
    """Make a not-yet-confirmed session follow the course's version in force."""
    ensure_can_manage(actor, session)
    if session.status not in (S.DRAFT.value, S.OPEN.value):
        raise ValidationError("Seule une session en brouillon ou aux inscriptions ouvertes peut changer de version.")
    if seats_taken([session.id])[session.id]:
        raise ValidationError("Des stagiaires sont inscrits sur la version actuelle du programme.")
    version = session.course.current_version
    if version.max_trainees < session.capacity:
        raise ValidationError(f"La nouvelle version limite le groupe à {version.max_trainees} stagiaires : "
                              "réduisez d'abord la capacité.")
    session.course_version = version
    freeze_version(version)


# --------------------------------------------------------------------------- slots


def pattern_slots(version: CourseVersion, start_date: dt.date) -> list[tuple[dt.date, dt.time, dt.time]]:
    """Lay the course's duration out from ``start_date`` with its usual day pattern, skipping weekends
    and public holidays after the first day; the last half-day is shortened to fit the duration."""
    pattern = parse_day_pattern(version.daily_pattern)
    remaining = Decimal(version.duration_hours)
    day = start_date
    result = []
    for _ in range(400):
        if remaining <= 0:
            break
        if day != start_date and date_warnings(day):
            day += dt.timedelta(days=1)
            continue
        for start, end in pattern:
            if remaining <= 0:
                break
            hours = hours_between(start, end)
            if hours > remaining:
                minutes = int((remaining * 60).to_integral_value())
                end = (dt.datetime.combine(day, start) + dt.timedelta(minutes=minutes)).time()
                hours = remaining
            result.append((day, start, end))
            remaining -= hours
        day += dt.timedelta(days=1)
    return result


def _overlap(day: dt.date, start: dt.time, end: dt.time):
    return and_(Slot.date == day, Slot.start_time < end, Slot.end_time > start)


def _conflict_message(who: str, other: Slot) -> str:
    return (f"{who} est déjà pris le {date_fr(other.date)} de {time_fr(other.start_time)} à "
            f"{time_fr(other.end_time)} par la session {other.session.label}.")


def _check_slot_conflicts(session: TrainingSession, day, start, end, location, trainer, exclude=None) -> None:
    """A trainer or a room never has two overlapping slots in different sessions."""
    base = (
        select(Slot)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(_overlap(day, start, end), TrainingSession.status != S.CANCELLED.value)
        .options(selectinload(Slot.session).selectinload(TrainingSession.course_version),
                 selectinload(Slot.session).selectinload(TrainingSession.slots))
        .limit(1)
    )
    if session.id is not None:
        base = base.where(Slot.session_id != session.id)
    if exclude is not None and exclude.id is not None:
        base = base.where(Slot.id != exclude.id)
    if trainer is not None:
        other = db.session.scalar(base.where(Slot.trainer_id == trainer.id))
        if other is not None:
            raise ConflictError(_conflict_message(f"Le formateur {trainer.full_name}", other), field="trainer_id")
    if location is not None and not location.is_remote:
        other = db.session.scalar(base.where(Slot.location_id == location.id))
        if other is not None:
            raise ConflictError(_conflict_message(f"Le lieu « {location.name} »", other), field="location_id")


def _check_trainer_available(trainer: Trainer | None, day: dt.date) -> None:
    """A trainer is not scheduled on a day of their unavailability, refused like a double booking."""
    period = unavailability_on(trainer, day) if trainer is not None else None
    if period is not None:
        raise ConflictError(f"Le formateur {trainer.full_name} est indisponible {describe_unavailability(period)} : "
                            "choisissez une autre date ou un autre formateur.", field="trainer_id")


def _validate_slot(session: TrainingSession, day, start, end, location, trainer, exclude: Slot | None) -> list[str]:
    if session.status not in EDITABLE_STATUSES:
        raise ValidationError(f"Les créneaux d'une session « {session.status_label.lower()} » ne peuvent plus "
                              "être modifiés.")
    problem = half_day_problem(start, end)
    if problem:
        raise ValidationError(problem, field="end_time")
    if location is not None and not location.active and (exclude is None or exclude.location is not location):
        raise ValidationError(f"Le lieu « {location.name} » est archivé.", field="location_id")
    if trainer is not None and not trainer.active and (exclude is None or exclude.trainer is not trainer):
        raise ValidationError(f"{trainer.full_name} est archivé(e).", field="trainer_id")
    half = half_of(start)
    for other in session.slots:
        if other is exclude or other.date != day:
            continue
        if other.start_time < end and other.end_time > start:
            raise ValidationError(
                f"Ce créneau chevauche celui du {date_fr(day)} de {time_fr(other.start_time)} à "
                f"{time_fr(other.end_time)} dans cette session.", field="start_time")
        if other.half_day == half:
            raise ValidationError(
                f"Cette session a déjà un créneau le {date_fr(day)} ({HALF_DAY_LABELS[half]}) : une demi-journée "
                "ne compte qu'un créneau.", field="start_time")
    if location is not None:
        if session.delivery_mode == "presentiel" and location.is_remote:
            raise ValidationError("Une session en présentiel a besoin d'un lieu physique.", field="location_id")
        if session.delivery_mode == "distanciel" and not location.is_remote:
            raise ValidationError("Une session à distance a besoin d'un lieu à distance.", field="location_id")
        if location.capacity and not location.is_remote and location.capacity < session.capacity:
            raise ValidationError(f"La salle « {location.name} » n'a que {location.capacity} places pour une "
                                  f"session de {session.capacity} stagiaires.", field="location_id")
    if exclude is None or exclude.trainer is not trainer or exclude.date != day:  # a slot already there stays
        _check_trainer_available(trainer, day)
    _check_slot_conflicts(session, day, start, end, location, trainer, exclude)
    warnings = date_warnings(day)
    if day < paris_today() and session.status in (S.DRAFT.value, S.OPEN.value):
        warnings.append(f"Le {date_fr(day)} est déjà passé.")
    return warnings


def _add_slot(session, day, start, end, location, trainer) -> tuple[Slot, list[str]]:
    warnings = _validate_slot(session, day, start, end, location, trainer, None)
    slot = Slot(date=day, start_time=start, end_time=end, location=location, trainer=trainer)
    session.slots.append(slot)
    if trainer is not None and trainer not in session.trainers:
        session.trainers.append(trainer)
    return slot, warnings


def _clean_slot_input(data: dict, session: TrainingSession, slot: Slot | None):
    errors = ErrorCollector()

    def pick(key):
        if key in data:
            return data[key]
        return getattr(slot, key) if slot is not None else None

    day = parse_date(pick("date"), "date", errors, label="La date")
    start = parse_time(pick("start_time"), "start_time", errors, label="L'heure de début")
    end = parse_time(pick("end_time"), "end_time", errors, label="L'heure de fin")
    if "location_id" in data:
        location = _load(Location, data["location_id"], "location_id", errors, "Lieu")
    else:
        location = slot.location if slot is not None else session.location
    if "trainer_id" in data:
        trainer = _load(Trainer, data["trainer_id"], "trainer_id", errors, "Formateur")
    else:
        trainer = slot.trainer if slot is not None else (session.trainers[0] if session.trainers else None)
    errors.raise_if_any()
    return day, start, end, location, trainer


def add_slot(session: TrainingSession, data: dict, actor: User | None = None) -> tuple[Slot, list[str]]:
    ensure_can_manage(actor, session)
    day, start, end, location, trainer = _clean_slot_input(data, session, None)
    with db.session.no_autoflush:
        slot, warnings = _add_slot(session, day, start, end, location, trainer)
    _check_confirmed_hours(session)
    db.session.flush()
    return slot, warnings


def update_slot(slot: Slot, data: dict, actor: User | None = None) -> list[str]:
    session = slot.session
    ensure_can_manage(actor, session)
    day, start, end, location, trainer = _clean_slot_input(data, session, slot)
    with db.session.no_autoflush:
        warnings = _validate_slot(session, day, start, end, location, trainer, slot)
        if (day, start, end) != (slot.date, slot.start_time, slot.end_time):
            slot_changing.send(slot)
        if (day, start, end, location) != (slot.date, slot.start_time, slot.end_time, slot.location):
            slot.sequence += 1  # moved: calendars replace the event they hold
        slot.date, slot.start_time, slot.end_time = day, start, end
        slot.location, slot.trainer = location, trainer
        if trainer is not None and trainer not in session.trainers:
            session.trainers.append(trainer)
    _check_confirmed_hours(session)
    db.session.flush()
    return warnings


def delete_slot(slot: Slot, actor: User | None = None) -> None:
    session = slot.session
    ensure_can_manage(actor, session)
    if session.status not in EDITABLE_STATUSES:
        raise ValidationError(f"Les créneaux d'une session « {session.status_label.lower()} » ne peuvent plus "
                              "être modifiés.")
    if session.status == S.CONFIRMED.value:
        raise ValidationError("Session confirmée : sa durée doit rester celle de la formation. Modifiez le créneau "
                              "(date, heures) au lieu de le supprimer.")
    slot_changing.send(slot)
    session.slots.remove(slot)
    db.session.delete(slot)
    db.session.flush()


def get_slot(slot_id: int, actor: User | None = None) -> Slot:
    slot = get_by_id(Slot, slot_id, "Créneau introuvable.")
    if actor is not None and not can_view_session(actor, slot.session):
        raise PermissionDenied("Vous n'intervenez pas sur cette session.")
    return slot


def _check_confirmed_hours(session: TrainingSession) -> None:
    if session.status == S.CONFIRMED.value and session.planned_hours != session.course_version.duration_hours:
        raise ValidationError(
            f"Session confirmée : la durée planifiée doit rester de {hours_fr(session.course_version.duration_hours)} "
            f"(elle serait de {hours_fr(session.planned_hours)}).")


def duplicate_session(session: TrainingSession, new_start: dt.date, actor: User | None = None
                      ) -> tuple[TrainingSession, list[str]]:
    """A new draft session with the same settings, its slots moved so that the first falls on ``new_start``."""
    ensure_can_manage(actor, session)
    errors = ErrorCollector()
    new_start = parse_date(new_start, "start_date", errors, label="La nouvelle date de début")
    errors.raise_if_any()
    if not session.slots:
        raise ValidationError("Cette session n'a aucun créneau à recopier.", field="start_date")
    if session.course.status == CourseStatus.ARCHIVED.value:
        raise ValidationError("Cette formation est archivée : on ne peut plus y planifier de session.")
    version = session.course.current_version
    copy = TrainingSession(course=session.course, course_version=version, status=S.DRAFT.value)
    data = {
        "format": session.format, "delivery_mode": session.delivery_mode, "location_id": session.location,
        "trainer_ids": list(session.trainers), "capacity": min(session.capacity, version.max_trainees),
        "min_trainees": session.min_trainees, "price_per_trainee": session.price_per_trainee,
        "intra_price": session.intra_price, "client_company_id": session.client_company, "notes": session.notes,
    }
    settings = _clean_settings(data, version, None)
    _apply_settings(copy, settings)
    db.session.add(copy)
    freeze_version(version)
    shift = new_start - _first_and_last(session)[0].date
    warnings: list[str] = []
    with db.session.no_autoflush:
        for slot in session.slots:
            _, slot_warnings = _add_slot(copy, slot.date + shift, slot.start_time, slot.end_time, slot.location,
                                         slot.trainer)
            warnings.extend(slot_warnings)
    db.session.flush()
    return copy, _dedupe(warnings)


# --------------------------------------------------------------------------- status


def _confirmation_problems(session: TrainingSession) -> list[str]:
    problems = []
    version = session.course_version
    if not session.slots:
        problems.append("Aucun créneau n'est planifié.")
    elif session.planned_hours != version.duration_hours:
        problems.append(f"La durée planifiée ({hours_fr(session.planned_hours)}) doit être égale à celle de la "
                        f"formation ({hours_fr(version.duration_hours)}).")
    if not session.trainers or any(slot.trainer is None for slot in session.slots):
        problems.append("Chaque créneau doit avoir un formateur.")
    if session.delivery_mode != "distanciel" and (
        session.location is None or any(slot.location is None for slot in session.slots)
    ):
        problems.append("Chaque créneau doit avoir un lieu.")
    problems.extend(_price_problems(session))
    return problems


def _price_problems(session: TrainingSession) -> list[str]:
    if session.format == "intra":
        if session.client_company is None:
            return ["Une session intra doit avoir une entreprise cliente."]
        if session.intra_price is None and session.price_per_trainee is None:
            return ["Indiquez le prix de la session intra."]
    elif session.price_per_trainee is None:
        return ["Indiquez le prix par stagiaire."]
    return []


def allowed_transitions(session: TrainingSession) -> list[str]:
    """The statuses this session may move to, in workflow order. Only an intra session, whose trainees
    come from its client, may be confirmed straight from draft."""
    targets = set(TRANSITIONS[session.status])
    if session.status == S.DRAFT.value and session.format != "intra":
        targets.discard(S.CONFIRMED.value)
    return [status for status in SESSION_STATUS_LABELS if status in targets]


def change_status(session: TrainingSession, new_status: str, actor: User | None = None, reason: str = "",
                  now: dt.datetime | None = None) -> None:
    ensure_can_manage(actor, session)
    if new_status not in SESSION_STATUS_LABELS:
        raise ValidationError("Statut inconnu.", field="status")
    if new_status == session.status:
        return
    if new_status not in allowed_transitions(session):
        if session.status == S.DRAFT.value and new_status == S.CONFIRMED.value:
            raise ConflictError("Une session inter-entreprises ouvre d'abord ses inscriptions : passez-la en "
                                "« inscriptions ouvertes » avant de la confirmer.", field="status")
        raise ConflictError(f"Une session « {session.status_label.lower()} » ne peut pas passer à "
                            f"« {SESSION_STATUS_LABELS[new_status].lower()} ».", field="status")
    now_paris = (now or utcnow()).astimezone(PARIS)
    problems: list[str] = []
    if new_status == S.OPEN.value:
        if session.course.status != CourseStatus.PUBLISHED.value:
            problems.append("La formation doit d'abord être publiée au catalogue.")
        if not session.slots:
            problems.append("Planifiez au moins un créneau.")
        problems.extend(_price_problems(session))
    elif new_status == S.CONFIRMED.value:
        problems.extend(_confirmation_problems(session))
    elif new_status == S.IN_PROGRESS.value:
        first = _first_and_last(session)[0] if session.slots else None
        if first is not None and now_paris < first.starts_at:
            problems.append(f"La session ne peut démarrer avant son premier créneau ({date_fr(first.date)}).")
    elif new_status == S.COMPLETED.value:
        last = _first_and_last(session)[1] if session.slots else None
        if last is not None and now_paris < last.ends_at:
            problems.append(f"La session ne peut être terminée avant la fin de son dernier créneau "
                            f"({date_fr(last.date)}).")
    elif new_status == S.DRAFT.value:
        if seats_taken([session.id])[session.id]:
            problems.append("Des stagiaires sont inscrits : annulez la session plutôt que de la repasser en brouillon.")
    elif new_status == S.CANCELLED.value:
        reason = _clean_text(reason)
        if len(reason) < 3:
            raise ValidationError("Indiquez le motif de l'annulation.", field="cancel_reason")
        session.cancel_reason = reason
        session.cancelled_at = utcnow()
    if problems:
        raise ValidationError(" ".join(problems), field="status")
    shown_as = event_status(session)
    session.status = new_status
    session.status_changed_at = utcnow()
    if event_status(session) != shown_as:  # confirmed or cancelled: calendars take the event's new STATUS
        for slot in session.slots:
            slot.sequence += 1
    if new_status == S.CANCELLED.value:
        session_cancelled.send(session, actor=actor, reason=session.cancel_reason)
    elif new_status == S.CONFIRMED.value:
        session_confirmed.send(session, actor=actor)
    elif new_status == S.COMPLETED.value:
        session_completed.send(session, actor=actor)


def advance_sessions(now: dt.datetime | None = None) -> list[tuple[TrainingSession, str]]:
    """Move confirmed sessions whose first slot has started to "in progress", and those whose last
    slot has ended to "completed". Returns what changed."""
    now = now or utcnow()
    changed = []
    query = select(TrainingSession).where(
        TrainingSession.status.in_((S.CONFIRMED.value, S.IN_PROGRESS.value))
    ).options(*session_load_options())
    for session in db.session.scalars(query):
        if not session.slots:
            continue
        first, last = _first_and_last(session)
        if session.status == S.CONFIRMED.value and now >= first.starts_at:
            session.status = S.IN_PROGRESS.value
            session.status_changed_at = utcnow()
            changed.append((session, session.status))
        if session.status == S.IN_PROGRESS.value and now >= last.ends_at:
            session.status = S.COMPLETED.value
            session.status_changed_at = utcnow()
            changed.append((session, session.status))
            session_completed.send(session, actor=None)
    return changed


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


# --------------------------------------------------------------------------- calendar


def slots_between(actor: User, first: dt.date, last: dt.date) -> list[Slot]:
    query = (
        select(Slot)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(Slot.date >= first, Slot.date <= last, TrainingSession.status != S.CANCELLED.value)
        .options(selectinload(Slot.session).selectinload(TrainingSession.course_version),
                 selectinload(Slot.trainer), selectinload(Slot.location))
        .order_by(Slot.date, Slot.start_time)
    )
    if not actor.is_staff:
        query = query.where(_taught_by(actor))
    return list(db.session.scalars(query))


def _first_and_last(session: TrainingSession) -> tuple[Slot, Slot]:
    """The session's first and last slots. ``session.slots`` is sorted when loaded, but a slot added or moved
    in the current transaction keeps its place in the list until the session is reloaded."""
    ordered = sorted(session.slots, key=lambda slot: (slot.date, slot.start_time))
    return ordered[0], ordered[-1]


def _dedupe(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))
