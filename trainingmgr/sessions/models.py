"""Sessions of a course version, made of half-day slots."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalogue.models import DELIVERY_MODES, Course, CourseVersion
from ..companies.models import Company
from ..core.formatting import date_fr
from ..core.halfday import half_of, hours_between
from ..core.timeutil import paris_datetime, utcnow
from ..core.types import Money, UTCDateTime
from ..extensions import db
from ..resources.models import Location, Trainer


class SessionStatus(str, enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


SESSION_STATUS_LABELS = {
    "draft": "Brouillon",
    "open": "Inscriptions ouvertes",
    "confirmed": "Confirmée",
    "in_progress": "En cours",
    "completed": "Terminée",
    "closed": "Clôturée",
    "cancelled": "Annulée",
}


def _values(*statuses: SessionStatus) -> tuple[str, ...]:
    return tuple(status.value for status in statuses)


# Sessions that take enrolments (and that the public sees with their seats).
ENROLLABLE = _values(SessionStatus.OPEN, SessionStatus.CONFIRMED)
# Sessions confirmed to take place: they are (or were) held (attendance, invoices, the company space).
HELD = _values(SessionStatus.CONFIRMED, SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED, SessionStatus.CLOSED)
# Sessions whose first slot has begun.
STARTED = _values(SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED, SessionStatus.CLOSED)
# Sessions that have taken place.
ENDED = _values(SessionStatus.COMPLETED, SessionStatus.CLOSED)
# Sessions not yet confirmed (draft or open): they may still follow the course's version in force.
BEFORE_CONFIRMATION = _values(SessionStatus.DRAFT, SessionStatus.OPEN)
# Every status but "cancelled".
NOT_CANCELLED = tuple(status.value for status in SessionStatus if status is not SessionStatus.CANCELLED)
# The sessions list's filter for NOT_CANCELLED (« toutes sauf annulées »).
ACTIVE_FILTER = "active"
# Sessions announced and not cancelled (past the draft): what the reports count and a trainer's space lists.
ANNOUNCED = tuple(status for status in NOT_CANCELLED if status != SessionStatus.DRAFT.value)
# Sessions whose attendance sheets are still signed (confirmed to completed; closed ones no longer change).
SIGNING = _values(SessionStatus.CONFIRMED, SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED)
SESSION_FORMATS = {"inter": "Inter-entreprises", "intra": "Intra-entreprise"}
# What the advisor does to move a session to each status (the buttons of the session page).
STATUS_ACTIONS = {
    "draft": "Repasser en brouillon",
    "open": "Ouvrir les inscriptions",
    "confirmed": "Confirmer la session",
    "in_progress": "Démarrer",
    "completed": "Terminer",
    "closed": "Clôturer",
    "cancelled": "Annuler la session",
}

session_trainer = Table(
    "session_trainer",
    db.metadata,
    Column("session_id", ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True),
    Column("trainer_id", ForeignKey("trainer.id", ondelete="CASCADE"), primary_key=True),
)


class TrainingSession(db.Model):
    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    course_version_id: Mapped[int] = mapped_column(ForeignKey("course_version.id"), index=True)
    format: Mapped[str] = mapped_column(String(10), default="inter")
    delivery_mode: Mapped[str] = mapped_column(String(20), default="presentiel")
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    client_company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    capacity: Mapped[int]
    min_trainees: Mapped[int] = mapped_column(default=1)
    price_per_trainee: Mapped[Decimal | None] = mapped_column(Money())
    intra_price: Mapped[Decimal | None] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.DRAFT.value, index=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship()
    course_version: Mapped[CourseVersion] = relationship()
    location: Mapped[Location | None] = relationship()
    client_company: Mapped[Company | None] = relationship()
    trainers: Mapped[list[Trainer]] = relationship(secondary=session_trainer, order_by="Trainer.last_name")
    slots: Mapped[list[Slot]] = relationship(
        back_populates="session", order_by="[Slot.date, Slot.start_time]", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return SESSION_STATUS_LABELS[self.status]

    @property
    def format_label(self) -> str:
        return SESSION_FORMATS.get(self.format, self.format)

    @property
    def delivery_mode_label(self) -> str:
        return DELIVERY_MODES.get(self.delivery_mode, self.delivery_mode)

    @property
    def title(self) -> str:
        return self.course_version.title

    @property
    def first_date(self) -> dt.date | None:
        return min((slot.date for slot in self.slots), default=None)

    @property
    def last_date(self) -> dt.date | None:
        return max((slot.date for slot in self.slots), default=None)

    @property
    def dates_label(self) -> str:
        first, last = self.first_date, self.last_date
        if first is None:
            return "dates à définir"
        if first == last:
            return f"le {date_fr(first)}"
        return f"du {date_fr(first)} au {date_fr(last)}"

    @property
    def label(self) -> str:
        """« Chorus Pro » du 25/11/2026 (n° 12): how messages name a session."""
        return f"« {self.title} » {self.dates_label} (n° {self.id})"

    @property
    def days(self) -> list[tuple[dt.date, list[Slot]]]:
        """The slots grouped by date, in order: [(date, [morning, afternoon]), ...]."""
        grouped: dict[dt.date, list[Slot]] = {}
        for slot in sorted(self.slots, key=lambda s: (s.date, s.start_time)):
            grouped.setdefault(slot.date, []).append(slot)
        return list(grouped.items())

    @property
    def planned_hours(self) -> Decimal:
        return sum((slot.hours for slot in self.slots), Decimal("0.00"))

    @property
    def is_draft(self) -> bool:
        return self.status == SessionStatus.DRAFT.value

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED.value

    @hybrid_property
    def is_before_confirmation(self) -> bool:
        return self.status in BEFORE_CONFIRMATION

    @is_before_confirmation.inplace.expression
    @classmethod
    def _is_before_confirmation_expression(cls):
        return cls.status.in_(BEFORE_CONFIRMATION)

    @property
    def takes_enrolments(self) -> bool:
        return self.status in ENROLLABLE

    @hybrid_property
    def is_held(self) -> bool:
        return self.status in HELD

    @is_held.inplace.expression
    @classmethod
    def _is_held_expression(cls):
        return cls.status.in_(HELD)

    @hybrid_property
    def has_started(self) -> bool:
        return self.status in STARTED

    @has_started.inplace.expression
    @classmethod
    def _has_started_expression(cls):
        return cls.status.in_(STARTED)

    @hybrid_property
    def has_ended(self) -> bool:
        return self.status in ENDED

    @has_ended.inplace.expression
    @classmethod
    def _has_ended_expression(cls):
        return cls.status.in_(ENDED)


class SlotModality(str, enum.Enum):
    """How a half-day is delivered (sessions/modality.py holds what depends on it)."""

    ROOM = "room"
    VIRTUAL = "virtual"
    ASYNC = "async"


SLOT_MODALITIES = {
    "room": "En salle",
    "virtual": "Classe virtuelle",
    "async": "Activité asynchrone",
}
# Half-days delivered at a distance (R6313-3: proven « par tout élément probant »; the BPF's distance flag).
REMOTE_MODALITIES = (SlotModality.VIRTUAL.value, SlotModality.ASYNC.value)


class Slot(db.Model):
    """A half-day of a session: the unit of attendance. Date and times are Europe/Paris wall-clock."""

    __tablename__ = "slot"
    __table_args__ = (
        Index("ix_slot_trainer_date", "trainer_id", "date"),
        Index("ix_slot_location_date", "location_id", "date"),
        Index("ix_slot_date_session", "date", "session_id"),  # the sessions of a period (BPF year, board)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date]
    start_time: Mapped[dt.time]
    end_time: Mapped[dt.time]
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("trainer.id"))
    # room, virtual or async (SLOT_MODALITIES). A virtual half-day has its meeting link (its own, else its remote
    # location's); an asynchronous one its activity, and the quiz whose completion it records.
    modality: Mapped[str] = mapped_column(String(10), default="room", server_default="room")
    meeting_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    activity: Mapped[str] = mapped_column(Text, default="", server_default="")
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The iCalendar SEQUENCE of the slot's event (sessions/ical.py, resources/agenda.py): one more each time its date,
    # times or place change and when its session is confirmed or cancelled, so that calendars replace their copy.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    session: Mapped[TrainingSession] = relationship(back_populates="slots")
    location: Mapped[Location | None] = relationship()
    trainer: Mapped[Trainer | None] = relationship()
    quiz = relationship("Questionnaire")

    @property
    def modality_label(self) -> str:
        return SLOT_MODALITIES.get(self.modality, self.modality)

    @property
    def is_remote(self) -> bool:
        return self.modality in REMOTE_MODALITIES

    @property
    def meeting_link(self) -> str:
        """Where a virtual half-day is held: its own link, else its remote location's ("" for other modalities)."""
        if self.modality != SlotModality.VIRTUAL.value:
            return ""
        if self.meeting_url:
            return self.meeting_url
        location = self.location
        return location.meeting_url if location is not None and location.is_remote else ""

    @property
    def half_day(self) -> str:
        return half_of(self.start_time)

    @property
    def half_day_label(self) -> str:
        return "Matin" if self.half_day == "morning" else "Après-midi"

    @property
    def hours(self) -> Decimal:
        return hours_between(self.start_time, self.end_time)

    @property
    def starts_at(self) -> dt.datetime:
        return paris_datetime(self.date, self.start_time)

    @property
    def ends_at(self) -> dt.datetime:
        return paris_datetime(self.date, self.end_time)
