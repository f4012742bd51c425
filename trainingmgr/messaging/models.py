"""The mail outbox and the job queue: every e-mail is a row before it is a message, every deferred
task is a row before it runs, so nothing is lost when SMTP or the worker fails."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db
from ..files.models import StoredFile



class MessageStatus(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class JobStatus(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Jobs an administrator watches: still to run, or given up.
UNSETTLED_JOBS = (JobStatus.PENDING.value, JobStatus.FAILED.value)
MESSAGE_STATUSES = {"pending": "En attente", "sent": "Envoyé", "failed": "Échec définitif"}
JOB_STATUSES = {"pending": "À faire", "done": "Fait", "failed": "Échec définitif", "cancelled": "Annulé"}


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # What the message is about, for the evidence an auditor asks for (e.g. "convocation").
    topic: Mapped[str] = mapped_column(String(40), default="", index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str] = mapped_column(String(200), default="")
    # How it left: "smtp" (handed to the mail server) or "console" (written to the log only: nobody received it).
    transport: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", order_by="OutboxAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return MESSAGE_STATUSES.get(self.status, self.status)

    @property
    def is_pending(self) -> bool:
        return self.status == MessageStatus.PENDING.value

    @property
    def is_sent(self) -> bool:
        return self.status == MessageStatus.SENT.value

    @property
    def is_failed(self) -> bool:
        return self.status == MessageStatus.FAILED.value


class OutboxAttachment(db.Model):
    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")


class Job(db.Model):
    """A task to run once it is due (e.g. send the convocation at J−7). ``key`` makes scheduling idempotent."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_pending(self) -> bool:
        return self.status == JobStatus.PENDING.value

    @property
    def is_done(self) -> bool:
        return self.status == JobStatus.DONE.value

    @property
    def is_failed(self) -> bool:
        return self.status == JobStatus.FAILED.value


class TaskStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# Tasks the worker has not finished, and those it has (whatever the outcome).
UNFINISHED_TASKS = (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value)
FINISHED_TASKS = (TaskStatus.DONE.value, TaskStatus.FAILED.value)
TASK_STATUSES = {"queued": "En attente", "running": "En cours", "done": "Terminé", "failed": "Échec"}


class Task(db.Model):
    """A long piece of work someone asked for (a session's pack, an export, a bulk send…), run by the worker
    outside the request, with its progress for the page that follows it and the file it produced.

    ``done``/``total`` count the items (documents, messages, rows); ``step`` names the one under way; the
    worker writes ``heartbeat_at`` as it goes, so that a task whose worker died is seen as interrupted."""

    __tablename__ = "task"
    __table_args__ = (Index("ix_task_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))  # French, shown: « Dossier de la session … »
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.QUEUED.value)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    unit: Mapped[str] = mapped_column(String(40), default="éléments")  # what done/total count: « documents »
    step: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")  # French, the outcome once done (« 8 convocations … »)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")  # French, shown as it is
    result_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    result_name: Mapped[str] = mapped_column(String(255), default="")
    back_url: Mapped[str] = mapped_column(String(300), default="")  # the page the task was started from
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    result_file: Mapped[StoredFile | None] = relationship()

    @property
    def status_label(self) -> str:
        return TASK_STATUSES.get(self.status, self.status)

    @property
    def is_queued(self) -> bool:
        return self.status == TaskStatus.QUEUED.value

    @property
    def is_done(self) -> bool:
        return self.status == TaskStatus.DONE.value

    @property
    def is_failed(self) -> bool:
        return self.status == TaskStatus.FAILED.value

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_TASKS
