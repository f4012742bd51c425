"""Where and by whom sessions are delivered: locations (rooms or remote) and trainers."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import Hours, Money, UTCDateTime
from ..extensions import db
from ..files.models import StoredFile


class Location(db.Model):
    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    is_remote: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int | None]
    wheelchair_access: Mapped[bool] = mapped_column(default=False)
    access_notes: Mapped[str] = mapped_column(Text, default="")  # transport, parking, entry code
    # The room's material means (projector, Wi-Fi, computers…): the convention's "moyens matériels" (D6353-1).
    equipment: Mapped[str] = mapped_column(Text, default="")
    meeting_url: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def full_address(self) -> str:
        if self.is_remote:
            return "À distance"
        return ", ".join(p for p in (self.address, f"{self.postal_code} {self.city}".strip()) if p)

    @property
    def label(self) -> str:
        if self.is_remote:
            return f"{self.name} (à distance)"
        return f"{self.name} — {self.city}" if self.city else self.name


# A trainer's status: an employee of the organisation, or a subcontractor (BPF section E: « personnes extérieures …
# dans le cadre de contrats de sous-traitance »), either an independent trainer or another training organisation.
class TrainerStatus(str, enum.Enum):
    EMPLOYEE = "employee"
    INDEPENDENT = "independent"
    ORGANISATION = "organisation"


TRAINER_STATUSES = {
    "employee": "Salarié(e) de l'organisme",
    "independent": "Formateur indépendant (sous-traitant)",
    "organisation": "Organisme de formation sous-traitant",
}
EXTERNAL_STATUSES = (TrainerStatus.INDEPENDENT.value, TrainerStatus.ORGANISATION.value)
RATE_UNITS = {"hour": "de l'heure", "day": "par jour"}


class Trainer(db.Model):
    __tablename__ = "trainer"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Competences, diplomas, titles and references (L6353-4, 4°): printed on the contract, the convention and the
    # programme beside the trainer's name.
    competences: Mapped[str] = mapped_column(Text, default="")
    # employee, independent or organisation (TRAINER_STATUSES); ``is_external`` below is read from it.
    status: Mapped[str] = mapped_column(String(20), default="employee", server_default="employee")
    company_name: Mapped[str] = mapped_column(String(200), default="")
    company_siret: Mapped[str | None] = mapped_column(String(14))
    # A subcontractor's postal address and numéro de déclaration d'activité (L6351-1: required before a
    # subcontracting contract), and the agreed rate excluding VAT, per hour or per day (RATE_UNITS).
    address: Mapped[str] = mapped_column(String(255), default="", server_default="")
    nda: Mapped[str] = mapped_column(String(20), default="", server_default="")
    rate: Mapped[Decimal | None] = mapped_column(Money())
    rate_unit: Mapped[str] = mapped_column(String(10), default="hour", server_default="hour")
    cv_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The trainer's space (resources/links.py): a personal link naming this nonce; empty until a link is made, a new
    # one revokes the earlier links (and the iCal subscription, which carries the same nonce).
    link_nonce: Mapped[str] = mapped_column(String(32), default="", server_default="")

    cv: Mapped[StoredFile | None] = relationship()
    user: Mapped[User | None] = relationship()
    unavailabilities: Mapped[list[TrainerUnavailability]] = relationship(
        back_populates="trainer", order_by="TrainerUnavailability.starts_on", cascade="all, delete-orphan")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @hybrid_property
    def is_external(self) -> bool:
        """A subcontractor (independent or organisation), not an employee."""
        return self.status in EXTERNAL_STATUSES

    @is_external.inplace.setter
    def _is_external_setter(self, value: bool) -> None:
        # Kept for the callers of the former flag: "external" without more is a subcontracting organisation.
        if bool(value) != self.is_external:
            self.status = TrainerStatus.ORGANISATION.value if value else TrainerStatus.EMPLOYEE.value

    @is_external.inplace.expression
    @classmethod
    def _is_external_expression(cls):
        return cls.status.in_(EXTERNAL_STATUSES)

    @property
    def status_label(self) -> str:
        return TRAINER_STATUSES.get(self.status, self.status)

    @property
    def is_organisation(self) -> bool:
        """A subcontracting training organisation (a contract, not a lettre de mission)."""
        return self.status == TrainerStatus.ORGANISATION.value


class TrainerUnavailability(db.Model):
    """Days a trainer cannot teach (Paris calendar days, both included): scheduling a slot then is refused."""

    __tablename__ = "trainer_unavailability"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("trainer.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    trainer: Mapped[Trainer] = relationship(back_populates="unavailabilities")


# Documents of a trainer's file (Qualiopi indicator 21; a subcontractor's legal papers), the CV apart (Trainer.cv).
TRAINER_DOCUMENT_KINDS = {
    "diploma": "Diplôme, titre ou certification",
    "insurance": "Attestation d'assurance responsabilité civile professionnelle",
    "urssaf": "Attestation de vigilance URSSAF",
    "registration": "Extrait Kbis ou avis de situation SIRENE",
    "nda": "Récépissé de déclaration d'activité",
    "other": "Autre document",
}


class TrainerDocument(db.Model):
    """A stored file of a trainer's file: its kind, a title and, for papers that expire, the last day it is valid."""

    __tablename__ = "trainer_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("trainer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200), default="")
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    valid_until: Mapped[dt.date | None]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    trainer: Mapped[Trainer] = relationship()
    file: Mapped[StoredFile] = relationship()

    @property
    def kind_label(self) -> str:
        return TRAINER_DOCUMENT_KINDS.get(self.kind, self.kind)

    def expired(self, today: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until < today


# The professional-development log (Qualiopi indicator 22: the staff's competences kept up to date).
DEVELOPMENT_KINDS = {
    "training": "Formation suivie",
    "event": "Conférence, séminaire, salon",
    "community": "Échange de pratiques, réseau professionnel",
    "self_study": "Autoformation, veille, lectures",
    "certification": "Certification, habilitation",
    "other": "Autre",
}


class TrainerDevelopment(db.Model):
    """One entry of a trainer's professional-development log: what, when, how long, and its evidence."""

    __tablename__ = "trainer_development"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("trainer.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    hours: Mapped[Decimal | None] = mapped_column(Hours())
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    trainer: Mapped[Trainer] = relationship()
    evidence: Mapped[StoredFile | None] = relationship()

    @property
    def kind_label(self) -> str:
        return DEVELOPMENT_KINDS.get(self.kind, self.kind)
