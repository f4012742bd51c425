"""The advisor's board of missing signatures across sessions, and the reminders sent from it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..accounts.models import User
from ..core.errors import ConflictError
from ..core.timeutil import PARIS, utcnow
from ..enrolments.models import Enrolment, EnrolmentStatus
from ..extensions import db
from ..sessions import services as session_services
from ..sessions.models import SIGNING, Slot, TrainingSession
from . import mails, services
from .models import UNSIGNED_CELLS, CellStatus, WindowState
from .services import Cell

BOARD_DAYS = 60


@dataclass
class SlotItem:
    slot: Slot
    state: str  # open / closed
    missing: list[tuple[Enrolment, Cell]]
    countersigned: bool

    @property
    def session(self) -> TrainingSession:
        return self.slot.session

    @property
    def is_open(self) -> bool:
        """The trainees may still sign."""
        return self.state == WindowState.OPEN.value

    @property
    def needs_countersignature(self) -> bool:
        return not self.countersigned and self.state != WindowState.BEFORE.value


def missing_signatures(actor: User, now: dt.datetime | None = None) -> list[SlotItem]:
    """Slots opened in the last BOARD_DAYS days that lack a trainee's signature (neither signed, nor absent,
    nor corrected, nor announced absent) or the trainer's countersignature: open slots first, then the oldest.
    5 queries."""
    now = now or utcnow()
    today = now.astimezone(PARIS).date()
    sessions = list(db.session.scalars(
        session_services.visible_sessions_query(actor)
        .where(TrainingSession.status.in_(SIGNING),
               TrainingSession.id.in_(select(Slot.session_id).where(
                   Slot.date.between(today - dt.timedelta(days=BOARD_DAYS), today))))
    ))
    if not sessions:
        return []
    ids = [session.id for session in sessions]
    enrolments = services.expected_enrolments_of(ids)
    records: dict[int, list] = {}
    for record in services.session_records(ids):
        records.setdefault(record.session_id, []).append(record)
    planned = services.planned_absences_of(ids)
    items = []
    for session in sessions:
        grid = services.build_grid(session, enrolments.get(session.id, []), records.get(session.id, []), now,
                                   planned=planned)
        for slot in grid.slots:
            state = services.window_state(slot, now)
            if state == WindowState.BEFORE.value or slot.date < today - dt.timedelta(days=BOARD_DAYS):
                continue
            missing = [(e, cell) for e, cell in grid.column(slot.id) if cell.status in UNSIGNED_CELLS]
            countersigned = slot.id in grid.countersignatures
            started = now >= slot.starts_at
            if missing or (started and not countersigned):
                items.append(SlotItem(slot, state, missing, countersigned))
    items.sort(key=lambda item: (item.state != WindowState.OPEN.value, item.slot.date, item.slot.start_time))
    return items


def remind_trainees(slot: Slot, actor: User, enrolment_id: int | None = None,
                    now: dt.datetime | None = None) -> int:
    """E-mail their signing link again to the trainees who have not signed ``slot`` (or to one of them)."""
    session_services.ensure_can_manage_sessions(actor)
    now = now or utcnow()
    if services.window_state(slot, now) != WindowState.OPEN.value:
        raise ConflictError("L'émargement de ce créneau n'est pas ouvert : un rappel ne permettrait pas de signer. "
                            "Si le stagiaire était présent, enregistrez une correction.")
    if services.countersignature(slot) is not None:
        raise ConflictError("Le formateur a clos la feuille de ce créneau : enregistrez une correction si le "
                            "stagiaire était présent.")
    sent = 0
    for enrolment, cell in services.session_grid(slot.session, now).column(slot.id):
        if enrolment_id is not None and enrolment.id != enrolment_id:
            continue
        if cell.status == CellStatus.PENDING.value and enrolment.status == EnrolmentStatus.CONFIRMED.value:
            mails.signing_link(slot, enrolment, reminder=True)
            sent += 1
    return sent


def remind_trainer(slot: Slot, actor: User, now: dt.datetime | None = None) -> int:
    session_services.ensure_can_manage_sessions(actor)
    if services.countersignature(slot) is not None:
        raise ConflictError("Le formateur a déjà signé la feuille de ce créneau.")
    if (now or utcnow()) < slot.starts_at:
        raise ConflictError("Ce créneau n'a pas encore commencé.")
    return len(mails.countersign_reminder(slot))
