"""Word templates (uploaded versions per document type) and the archive of generated documents.

A generated document is never changed: regenerating makes a new version, which records its ``reason``
(a version is "replaced" when a next one exists, see services.next_version). Its DOCX (and PDF) are stored
content-addressed (files.StoredFile) with their SHA-256, with the exact context used, the template version
and the author; the database refuses to update or delete a row (trigger, see attendance/guard.py).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..companies.models import Company
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..enrolments.models import Enrolment
from ..extensions import db
from ..files.models import StoredFile
from ..resources.models import Trainer
from ..sessions.models import TrainingSession
from .catalogue import DOC_TYPES


class DocumentTemplate(db.Model):
    """An uploaded replacement of a default template; the active one is used, the others can be restored."""

    __tablename__ = "document_template"
    __table_args__ = (UniqueConstraint("doc_type", "version", name="uq_document_template_type_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int]  # 1, 2, … per type (0 is the default template shipped in documents/)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    active: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    file: Mapped[StoredFile] = relationship()
    uploaded_by: Mapped[User | None] = relationship()


class GeneratedDocument(db.Model):
    __tablename__ = "generated_document"
    __table_args__ = (
        UniqueConstraint("subject", "doc_type", "version", name="uq_generated_document_version"),
        Index("ix_generated_document_session", "session_id", "doc_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(30))
    # What the document is about: "session:<id>", "enrolment:<id>", "client:<session id>:<company id>" or
    # "trainer:<session id>:<trainer id>" (a subcontracting trainer's contract for the session).
    subject: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    number: Mapped[str] = mapped_column(String(60))
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("trainer.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("document_template.id"))
    template_label: Mapped[str] = mapped_column(String(120))
    template_sha256: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict] = mapped_column(JSON)
    docx_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    docx_sha256: Mapped[str] = mapped_column(String(64))
    pdf_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # /verification finds an upload by it
    verify_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    # Why this version was issued (French): « Première émission », the changed data, a new template…
    reason: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[TrainingSession] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()
    company: Mapped[Company | None] = relationship()
    trainer: Mapped[Trainer | None] = relationship()
    template: Mapped[DocumentTemplate | None] = relationship()
    docx_file: Mapped[StoredFile] = relationship(foreign_keys=[docx_file_id])
    pdf_file: Mapped[StoredFile | None] = relationship(foreign_keys=[pdf_file_id])
    author: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return DOC_TYPES[self.doc_type].label
