"""Electronic signature requests of archived documents: who signs, in which order, and every signed revision.

A ``SignatureRequest`` names one archived document (a GeneratedDocument version with its PDF). Its signatories
sign in ``position`` order of their slots on the evidence page: the external ones (company, trainee, trainer) in
any order as their links arrive, the organisation's own signatory last, once they all have. Each signature is a
new ``SignatureRevision`` (the prepared file is revision 0): an incremental update of the previous revision,
stored content-addressed with its SHA-256; the database refuses to change or delete a revision (attendance/guard.py).
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..documents.models import GeneratedDocument
from ..extensions import db
from ..files.models import StoredFile


class RequestStatus(str, enum.Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


REQUEST_STATUS_LABELS = {
    "pending": "En attente de signatures",
    "completed": "Signé par tous",
    "refused": "Refusé par un signataire",
    "cancelled": "Annulé",
    "expired": "Expiré",
}
# A request that no longer changes: nothing can be signed, reminded or cancelled on it.
CLOSED = tuple(status.value for status in RequestStatus if status is not RequestStatus.PENDING)


class SignatoryStatus(str, enum.Enum):
    WAITING = "waiting"  # the organisation's signatory, until every other one has signed
    INVITED = "invited"
    SIGNED = "signed"
    REFUSED = "refused"


SIGNATORY_STATUS_LABELS = {
    "waiting": "Signera en dernier",
    "invited": "Invité à signer",
    "signed": "A signé",
    "refused": "A refusé",
}

ROLES = {
    "company": "Pour l'entreprise cliente",
    "trainee": "Le stagiaire",
    "trainer": "Le formateur",
    "organisation": "Pour l'organisme de formation",
}

METHOD_LABELS = {"drawn": "signature dessinée", "typed": "nom saisi"}


class SignatureRequest(db.Model):
    __tablename__ = "signature_request"
    __table_args__ = (Index("ix_signature_request_document", "document_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("generated_document.id"))
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.PENDING.value)
    deadline: Mapped[dt.date]  # the last day (Paris) the links work
    # The archived PDF sent for signature, as it was: its SHA-256 must still match when anyone signs.
    source_sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Why it was cancelled, refused or expired (French), for the advisor's page.
    close_reason: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[GeneratedDocument] = relationship()
    created_by: Mapped[User | None] = relationship()
    signatories: Mapped[list[Signatory]] = relationship(
        back_populates="request", order_by="Signatory.position", cascade="all, delete-orphan")
    revisions: Mapped[list[SignatureRevision]] = relationship(
        back_populates="request", order_by="SignatureRevision.number")

    @property
    def status_label(self) -> str:
        return REQUEST_STATUS_LABELS[self.status]

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.PENDING.value

    @property
    def is_completed(self) -> bool:
        return self.status == RequestStatus.COMPLETED.value


class Signatory(db.Model):
    __tablename__ = "signatory"
    __table_args__ = (UniqueConstraint("request_id", "position", name="uq_signatory_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("signature_request.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]  # 1, 2, … : the order of the boxes on the evidence page
    role: Mapped[str] = mapped_column(String(20))  # ROLES
    name: Mapped[str] = mapped_column(String(160))
    title: Mapped[str] = mapped_column(String(120), default="")  # « gérante », « DRH »
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default=SignatoryStatus.INVITED.value)
    # Changed when a new link is sent: the earlier links stop working.
    link_nonce: Mapped[str] = mapped_column(String(32))
    invited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(default=0)
    # The current one-time code (an HMAC of it), its expiry and the wrong tries.
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    code_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    code_attempts: Mapped[int] = mapped_column(default=0)
    codes_sent: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The evidence of the signature or of the refusal.
    code_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(10), default="")  # METHOD_LABELS
    refused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    request: Mapped[SignatureRequest] = relationship(back_populates="signatories")

    @property
    def is_invited(self) -> bool:
        return self.status == SignatoryStatus.INVITED.value

    @property
    def field_name(self) -> str:
        return f"signature-{self.position}"

    @property
    def role_label(self) -> str:
        return ROLES[self.role]

    @property
    def status_label(self) -> str:
        return SIGNATORY_STATUS_LABELS[self.status]

    @property
    def slot_label(self) -> str:
        """The label above the signatory's box: « Pour l'entreprise cliente : Camille Bernard, gérante »."""
        who = f"{self.name}, {self.title}" if self.title else self.name
        return f"{self.role_label} : {who}"


class SignatureRevision(db.Model):
    """One revision of the signed file: 0 is the document as sent plus the evidence page, then one per signature.
    Append-only."""

    __tablename__ = "signature_revision"
    __table_args__ = (UniqueConstraint("request_id", "number", name="uq_signature_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("signature_request.id"))
    number: Mapped[int]
    signatory_id: Mapped[int | None] = mapped_column(ForeignKey("signatory.id"))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[SignatureRequest] = relationship(back_populates="revisions")
    signatory: Mapped[Signatory | None] = relationship()
    file: Mapped[StoredFile] = relationship()
