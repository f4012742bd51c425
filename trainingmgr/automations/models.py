"""The mail templates the organisation edits (with their versions), the automation rules, the sessions a rule is
switched off for, and the ledger of what each rule has fired (one row per rule, recipient, object and occasion)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db


class MailTemplate(db.Model):
    """Subject and body of an e-mail, in the documents' sandboxed Jinja. ``context`` names the variable catalogue
    it renders with (registry.CONTEXTS: "enrolment", "trainer", "invoice"…): only rules whose trigger gives that
    context may use it. ``subject`` and ``body`` are the current version; every saved version is kept."""

    __tablename__ = "mail_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(60), unique=True)  # the default templates' code, else None
    name: Mapped[str] = mapped_column(String(200))
    context: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()
    versions: Mapped[list[MailTemplateVersion]] = relationship(
        back_populates="template", order_by="MailTemplateVersion.version.desc()", cascade="all, delete-orphan")


class MailTemplateVersion(db.Model):
    __tablename__ = "mail_template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("mail_template.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    template: Mapped[MailTemplate] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()


class AutomationRule(db.Model):
    """When (``trigger`` and ``offset_days``, at ``send_time`` Paris time for the dated triggers), to whom
    (``audience``), what (``template``) and with which files (``attachments``: document type codes and "ics").

    ``enabled_since``: occasions due before it never fire (a rule created in the browser does not mail the past; a
    rule switched back on does not catch up on what fell due while it was off). Set at creation in the browser and
    at each switch-on; None for a default rule, bounded only by each occasion's expiry (engine.LATE_LIMIT)."""

    __tablename__ = "automation_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(60), unique=True)  # the default rules' code, else None
    name: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(40))
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    send_time: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM, Paris
    audience: Mapped[str] = mapped_column(String(30))
    template_id: Mapped[int] = mapped_column(ForeignKey("mail_template.id"), index=True)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    template: Mapped[MailTemplate] = relationship()
    switched_off: Mapped[list[RuleSessionOff]] = relationship(back_populates="rule", cascade="all, delete-orphan")


class RuleSessionOff(db.Model):
    """A rule switched off for one session: it fires nothing about that session (its trainees, trainers…)."""

    __tablename__ = "automation_rule_session_off"

    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rule.id", ondelete="CASCADE"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    rule: Mapped[AutomationRule] = relationship(back_populates="switched_off")


class AutomationFiring(db.Model):
    """What a rule has fired: one row per (rule, recipient, object, occasion), written in the transaction that
    queues the message, so that the message leaves once whatever happens to the rule afterwards."""

    __tablename__ = "automation_firing"
    __table_args__ = (UniqueConstraint("rule_id", "recipient", "object_type", "object_id", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rule.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int] = mapped_column(Integer)
    occasion: Mapped[str] = mapped_column(String(60))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="SET NULL"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id", ondelete="SET NULL"))
    template_version: Mapped[int] = mapped_column(Integer, default=1)

    rule: Mapped[AutomationRule] = relationship()
