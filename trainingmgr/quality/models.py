"""Quality: the register of complaints, difficulties, hazards and mediation requests (Qualiopi indicator 31),
the improvement actions (indicator 32) and the manual ticks of the per-session checklist."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db

REQUEST_KINDS = {
    "complaint": "Réclamation",
    "mediation": "Demande de médiation",
    "difficulty": "Difficulté rencontrée",
    "suggestion": "Suggestion",
    "hazard": "Aléa (incident de déroulement)",  # recorded by the advisor
}
PUBLIC_REQUEST_KINDS = ("complaint", "mediation", "difficulty", "suggestion")
REQUESTER_ROLES = {
    "trainee": "Stagiaire",
    "company": "Entreprise cliente",
    "funder": "Financeur (OPCO, acheteur public)",
    "trainer": "Formateur",
    "other": "Autre",
}
REQUEST_CHANNELS = {
    "web": "Formulaire en ligne",
    "portal": "Espace personnel",
    "phone": "Téléphone",
    "email": "Courriel",
    "mail": "Courrier postal",
    "in_person": "En personne",
}


class QualityRequestStatus(str, enum.Enum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ANALYSING = "analysing"
    ANSWERED = "answered"
    MEDIATION = "mediation"
    CLOSED = "closed"


REQUEST_STATUSES = {
    "received": "Reçue",
    "acknowledged": "Accusé de réception envoyé",
    "analysing": "En cours d'analyse",
    "answered": "Réponse apportée",
    "mediation": "Transmise au médiateur",
    "closed": "Clôturée",
}
ACTION_SOURCES = {
    "complaint": "Réclamation",
    "survey": "Enquête de satisfaction",
    "audit": "Audit",
    "watch": "Veille",
    "other": "Autre",
}


class ActionStatus(str, enum.Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ABANDONED = "abandoned"


ACTION_STATUSES = {
    "planned": "Prévue",
    "in_progress": "En cours",
    "done": "Réalisée",
    "abandoned": "Abandonnée",
}
# Requests still awaiting an answer, and those not closed yet.
UNANSWERED_REQUESTS = (QualityRequestStatus.RECEIVED.value, QualityRequestStatus.ACKNOWLEDGED.value,
                       QualityRequestStatus.ANALYSING.value)
OPEN_REQUESTS = tuple(status.value for status in QualityRequestStatus if status is not QualityRequestStatus.CLOSED)
# The register's filters beside a status: the requests not closed (OPEN_REQUESTS), and those past a deadline.
OPEN_FILTER = "open"
OVERDUE_FILTER = "overdue"
# Actions still to carry out, and those whose outcome is recorded.
OPEN_ACTIONS = (ActionStatus.PLANNED.value, ActionStatus.IN_PROGRESS.value)
FINAL_ACTIONS = (ActionStatus.DONE.value, ActionStatus.ABANDONED.value)


class ItemState(str, enum.Enum):
    """Where an item of a session's checklist stands (quality/checklist: ``ItemStatus``, ``STATE_LABELS``)."""

    DONE = "done"
    MANUAL = "manual"  # ticked by hand
    PENDING = "pending"
    OVERDUE = "overdue"
    NA = "na"  # does not apply to the session


# Checklist items done, by the data or by hand; and those still to do.
DONE_ITEMS = (ItemState.DONE.value, ItemState.MANUAL.value)
TO_DO_ITEMS = (ItemState.PENDING.value, ItemState.OVERDUE.value)


class QualityRequest(db.Model):
    """A complaint, mediation request, difficulty, suggestion or hazard, followed from receipt to closure."""

    __tablename__ = "quality_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)  # REC-2026-0001
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20), default="web")
    requester_role: Mapped[str] = mapped_column(String(20), default="trainee")
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_email: Mapped[str] = mapped_column(String(254), default="")
    requester_phone: Mapped[str] = mapped_column(String(40), default="")
    organisation_name: Mapped[str] = mapped_column(String(200), default="")  # the requester's company or funder
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="SET NULL"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="SET NULL"), index=True)
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainee.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledge_due: Mapped[dt.date]  # 2 working days after receipt
    answer_due: Mapped[dt.date]  # QUALITY_ANSWER_DAYS (15 by default) after receipt
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    analysis_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    analysis: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    mediator_name: Mapped[str] = mapped_column(String(200), default="")
    mediation_outcome: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closing_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # personal data purged (RGPD)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[QualityEvent]] = relationship(
        back_populates="request", order_by="QualityEvent.id", cascade="all, delete-orphan")

    @property
    def kind_label(self) -> str:
        return REQUEST_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return REQUEST_STATUSES.get(self.status, self.status)

    @property
    def is_unanswered(self) -> bool:
        return self.status in UNANSWERED_REQUESTS

    @property
    def in_mediation(self) -> bool:
        return self.status == QualityRequestStatus.MEDIATION.value

    @property
    def is_closed(self) -> bool:
        return self.status == QualityRequestStatus.CLOSED.value

    @property
    def channel_label(self) -> str:
        return REQUEST_CHANNELS.get(self.channel, self.channel)

    @property
    def requester_role_label(self) -> str:
        return REQUESTER_ROLES.get(self.requester_role, self.requester_role)


NOTE_EVENT = "note"  # a QualityEvent that records an internal note, not a status reached


class QualityEvent(db.Model):
    """One dated, authored step of a request (author None: the requester or the system)."""

    __tablename__ = "quality_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("quality_request.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # the status reached, or "note"
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[QualityRequest] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship()

    @property
    def is_note(self) -> bool:
        """An internal note, not a step of the workflow."""
        return self.status == NOTE_EVENT


class ImprovementAction(db.Model):
    """An improvement measure (Qualiopi 32): where it comes from, what is done, by whom, by when, with what effect."""

    __tablename__ = "improvement_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20), default="other")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("quality_request.id", ondelete="SET NULL"), index=True)
    survey_alert_id: Mapped[int | None] = mapped_column(ForeignKey("survey_alert.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    analysis: Mapped[str] = mapped_column(Text, default="")  # the cause found
    description: Mapped[str] = mapped_column(Text, default="")  # the measure decided
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_date: Mapped[dt.date | None]
    status: Mapped[str] = mapped_column(String(20), default="planned")
    effect: Mapped[str] = mapped_column(Text, default="")  # the effect observed
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    request: Mapped[QualityRequest | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def source_label(self) -> str:
        return ACTION_SOURCES.get(self.source, self.source)

    @property
    def status_label(self) -> str:
        return ACTION_STATUSES.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTIONS

    @property
    def is_abandoned(self) -> bool:
        return self.status == ActionStatus.ABANDONED.value


class ChecklistTick(db.Model):
    """A manual tick (with its comment) of one item of a session's administrative checklist."""

    __tablename__ = "checklist_tick"
    __table_args__ = (UniqueConstraint("session_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
