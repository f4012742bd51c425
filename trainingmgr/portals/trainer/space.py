"""The trainer space: what a trainer's personal link (resources/links.py) opens, of the sessions they teach only
(any other session, slot, enrolment or record: 403, whether it exists or not): their half-days to countersign and
to come (``agenda``), a half-day's sheet, per session the trainees' positioning with the advisor's decision, the
acquis grid, the results of their surveys. What they do goes through the services that check it again: attendance
``mark_presence_as`` and ``countersign_as``, evaluations.acquis ``record_many_by_trainer``. Callers commit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...attendance import services as attendance
from ...attendance.models import AttendanceRecord, CellStatus, WindowState
from ...core.errors import PermissionDenied
from ...core.timeutil import paris_date, utcnow
from ...core.validation import id_or_none
from ...enrolments.models import SEAT_HOLDING, Enrolment
from ...evaluations.acquis import services as acquis
from ...evaluations.needs.services import needs_answers
from ...evaluations.results import services as results
from ...evaluations.questionnaires import services as evaluations
from ...extensions import db
from ...sessions.models import ANNOUNCED, SIGNING, Slot, TrainingSession, session_trainer
from ...resources.models import Trainer

# Sessions the space lists (a draft is not settled yet, a cancelled one is over); the pages of any session the
# trainer teaches still open by their id.
LISTED = ANNOUNCED
# Half-days whose sheet the trainer is asked to sign: those of SIGNING sessions, at most this many days back
# (as on the advisor's board of missing signatures).
COUNTERSIGN_DAYS = 60
# Sessions listed: those ending at most this many days ago, and every later one.
LISTED_DAYS = 365
FOREIGN = "Ce lien ne donne accès qu'à vos propres sessions."



# --------------------------------------------------------------------------- what the link opens


def get_session(trainer: Trainer, session_id) -> TrainingSession:
    """One of the sessions ``trainer`` teaches; any other id, known or not, is refused alike (403)."""
    found = db.session.get(TrainingSession, id_or_none(session_id) or 0)
    if found is None or not attendance.teaches(trainer, found):
        raise PermissionDenied(FOREIGN)
    return found


def get_slot(trainer: Trainer, slot_id) -> Slot:
    found = db.session.get(Slot, id_or_none(slot_id) or 0)
    if found is None or not attendance.teaches(trainer, found.session):
        raise PermissionDenied(FOREIGN)
    return found


def expected_enrolment(slot: Slot, enrolment_id) -> Enrolment:
    """A trainee expected on ``slot``'s sheet (another session's: 403; one not confirmed: 409)."""
    found = db.session.get(Enrolment, id_or_none(enrolment_id) or 0)
    if found is None or found.session_id != slot.session_id:
        raise PermissionDenied(FOREIGN)
    return attendance.get_expected_enrolment(slot, found.id)


def signature_image(trainer: Trainer, record_id) -> bytes | None:
    """The drawing of a signature or countersignature on a sheet of the trainer's sessions (None: typed or erased)."""
    record = db.session.get(AttendanceRecord, id_or_none(record_id) or 0)
    if record is None or record.slot_id is None or not attendance.teaches(trainer, record.slot.session):
        raise PermissionDenied(FOREIGN)
    return record.image


def _taught(trainer: Trainer):
    return select(session_trainer.c.session_id).where(session_trainer.c.trainer_id == trainer.id)


@dataclass
class HalfDay:
    slot: Slot
    countersigned: bool
    state: str  # before / open / closed (the trainees' signing window)

    @property
    def is_open(self) -> bool:
        return self.state == WindowState.OPEN.value


@dataclass
class Agenda:
    to_countersign: list[HalfDay]  # started, not countersigned: in progress first, then the oldest
    to_come: list[HalfDay]
    sessions: list[TrainingSession]  # most recent first


def agenda(trainer: Trainer, now: dt.datetime | None = None) -> Agenda:
    """The trainer's half-days (those given to them, or to no one in a session they teach) and sessions. 3 queries."""
    now = now or utcnow()
    today = paris_date(now)
    slots = list(db.session.scalars(
        select(Slot).join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(Slot.session_id.in_(_taught(trainer)), TrainingSession.status.in_(LISTED),
               Slot.date >= today - dt.timedelta(days=COUNTERSIGN_DAYS),
               (Slot.trainer_id == trainer.id) | Slot.trainer_id.is_(None))
        .options(selectinload(Slot.session).selectinload(TrainingSession.course_version), selectinload(Slot.location))
        .order_by(Slot.date, Slot.start_time)))
    signed = set(db.session.scalars(select(AttendanceRecord.slot_id).where(
        AttendanceRecord.kind == "countersignature", AttendanceRecord.slot_id.in_([s.id for s in slots]))))
    to_countersign, to_come = [], []
    for slot in slots:
        item = HalfDay(slot, slot.id in signed, attendance.window_state(slot, now))
        if now < slot.starts_at:
            to_come.append(item)
        elif not item.countersigned and slot.session.status in SIGNING:
            to_countersign.append(item)
    to_countersign.sort(key=lambda item: (item.state != WindowState.OPEN.value, item.slot.date, item.slot.start_time))
    return Agenda(to_countersign, to_come, _sessions(trainer, today))


def _sessions(trainer: Trainer, today: dt.date) -> list[TrainingSession]:
    recent = select(Slot.session_id).where(Slot.date >= today - dt.timedelta(days=LISTED_DAYS))
    found = list(db.session.scalars(
        select(TrainingSession).where(TrainingSession.id.in_(_taught(trainer)), TrainingSession.id.in_(recent),
                                      TrainingSession.status.in_(LISTED))
        .options(selectinload(TrainingSession.slots), selectinload(TrainingSession.course_version))))
    return sorted(found, key=lambda s: (s.first_date or dt.date.max, s.id), reverse=True)


@dataclass
class Sheet:
    slot: Slot
    session: TrainingSession
    column: list  # [(enrolment, attendance.Cell)]
    countersignature: AttendanceRecord | None
    state: str
    window: tuple[dt.datetime, dt.datetime]

    @property
    def is_before(self) -> bool:
        """The trainees' signing window has not opened yet."""
        return self.state == WindowState.BEFORE.value

    @property
    def is_open(self) -> bool:
        return self.state == WindowState.OPEN.value

    @property
    def can_act(self) -> bool:
        """Marks and the countersignature: once the half-day has begun, until the sheet is signed."""
        return self.countersignature is None and self.state != WindowState.BEFORE.value

    @property
    def unsigned(self) -> int:
        return sum(1 for _, cell in self.column if cell.status == CellStatus.PENDING.value)


def sheet(trainer: Trainer, slot: Slot) -> Sheet:
    """The attendance sheet of one of the trainer's half-days, as the staff's sheet reads it."""
    get_slot(trainer, slot.id)
    grid = attendance.session_grid(slot.session)
    return Sheet(slot, slot.session, grid.column(slot.id), grid.countersignatures.get(slot.id),
                 attendance.window_state(slot), attendance.window(slot))


def positioning(trainer: Trainer, session: TrainingSession) -> list[evaluations.PositioningSummary]:
    """Each trainee holding a seat in the session: their positioning answers (adaptation needs, expectations…);
    ``summary.enrolment`` carries the advisor's decision and comment."""
    get_session(trainer, session.id)
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(SEAT_HOLDING))
        .options(selectinload(Enrolment.trainee)))
    return sorted((evaluations.positioning_summary(e) for e in enrolments),
                  key=lambda s: (s.enrolment.trainee.last_name, s.enrolment.trainee.first_name, s.enrolment.id))


def needs_analyses(trainer: Trainer, session: TrainingSession) -> list:
    """The client companies' needs analyses for the session, with the answers sent back (evaluations/needs.py)."""
    get_session(trainer, session.id)
    return needs_answers(session)


def acquis_grid(trainer: Trainer, session: TrainingSession) -> acquis.Grid:
    get_session(trainer, session.id)
    return acquis.grid(session)


def survey_results(trainer: Trainer) -> results.Results:
    """The trainees' surveys and the acquis of the sessions ``trainer`` teaches, and nobody else's."""
    return results.trainer_results(trainer)

