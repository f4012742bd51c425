"""The catalogue: courses and their versions.

A ``Course`` is the stable identity (slug, status). Its content lives in ``CourseVersion`` rows.
A version is frozen once the course is published with it or a session is scheduled on it; editing
a frozen version makes a new one, so a session always keeps what it promised.
"""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.timeutil import utcnow
from ..core.types import Hours, Money, UTCDateTime
from ..extensions import db


class CourseStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


COURSE_STATUS_LABELS = {
    CourseStatus.DRAFT.value: "Brouillon",
    CourseStatus.PUBLISHED.value: "Publiée",
    CourseStatus.ARCHIVED.value: "Archivée",
}

AUDIENCE_FORMATS = {
    "inter": "Inter-entreprises",
    "intra": "Intra-entreprise",
    "inter_intra": "Inter ou intra-entreprise",
}
DELIVERY_MODES = {
    "presentiel": "Présentiel",
    "distanciel": "Distanciel",
    "mixte": "Mixte (présentiel et distanciel)",
}
HALF_DAYS = {"morning": "Matin", "afternoon": "Après-midi"}


class Course(db.Model):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=CourseStatus.DRAFT.value)
    # The cold evaluation leaves this many days after the session (None: SURVEY_COLD_DAYS, 60 = "J+2 mois").
    cold_survey_days: Mapped[int | None]
    # The BPF's classification (cerfa 10443): objective (F-3, see billing/bpf.py) and NSF specialty code (F-4).
    bpf_objective: Mapped[str] = mapped_column(String(30), default="other", server_default="other")
    nsf_code: Mapped[str] = mapped_column(String(10), default="", server_default="")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_version.id", use_alter=True, name="fk_course_current_version_id_course_version")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    current_version: Mapped[CourseVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[CourseVersion]] = relationship(
        foreign_keys="CourseVersion.course_id", back_populates="course", order_by="CourseVersion.number"
    )

    @property
    def status_label(self) -> str:
        return COURSE_STATUS_LABELS[self.status]

    @property
    def is_published(self) -> bool:
        return self.status == CourseStatus.PUBLISHED.value

    @property
    def is_archived(self) -> bool:
        return self.status == CourseStatus.ARCHIVED.value

    @property
    def title(self) -> str:
        return self.current_version.title if self.current_version else self.slug


AUDIENCE_UNSTATED = "Non précisé"


class CourseVersion(db.Model):
    __tablename__ = "course_version"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    title: Mapped[str] = mapped_column(String(200))
    tagline: Mapped[str] = mapped_column(String(300), default="")
    duration_hours: Mapped[Decimal] = mapped_column(Hours())
    duration_days: Mapped[Decimal | None] = mapped_column(Hours())
    audience: Mapped[str] = mapped_column(Text, default="")
    prerequisites: Mapped[str] = mapped_column(Text, default="")
    prerequisites_none: Mapped[bool] = mapped_column(default=False)
    teaching_methods: Mapped[str] = mapped_column(Text, default="")
    assessment_methods: Mapped[list] = mapped_column(JSON, default=list)
    trainer_competences: Mapped[str] = mapped_column(Text, default="")
    material_resources: Mapped[str] = mapped_column(Text, default="")
    what_to_bring: Mapped[str] = mapped_column(Text, default="")  # told to trainees in the convocation
    accessibility: Mapped[str] = mapped_column(Text, default="")
    accessibility_contact: Mapped[str] = mapped_column(Text, default="")
    access_delay: Mapped[str] = mapped_column(Text, default="")
    audience_format: Mapped[str] = mapped_column(String(20), default="inter")
    delivery_mode: Mapped[str] = mapped_column(String(20), default="presentiel")
    location_text: Mapped[str] = mapped_column(String(200), default="")
    min_trainees: Mapped[int] = mapped_column(default=1)
    max_trainees: Mapped[int]
    price_per_trainee: Mapped[Decimal | None] = mapped_column(Money())
    intra_group_price: Mapped[Decimal | None] = mapped_column(Money())
    labels: Mapped[list] = mapped_column(JSON, default=list)  # [{"name": ..., "description": ...}]
    funding_notes: Mapped[str] = mapped_column(Text, default="")
    # Usual half-days of one day, e.g. "09:00-12:30 13:30-17:00"; sessions are laid out from it.
    daily_pattern: Mapped[str] = mapped_column(String(60), default="09:00-12:30 13:30-17:00")

    course: Mapped[Course] = relationship(foreign_keys=[course_id], back_populates="versions")
    objectives: Mapped[list[CourseObjective]] = relationship(
        back_populates="version", order_by="CourseObjective.position", cascade="all, delete-orphan"
    )
    programme: Mapped[list[ProgrammePart]] = relationship(
        back_populates="version", order_by="ProgrammePart.position", cascade="all, delete-orphan"
    )

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def audience_label(self) -> str:
        """The audience as the course states it, the same on the public page, the programme and the convention:
        « Non précisé » when the course says nothing (nothing invented)."""
        return (self.audience or "").strip() or AUDIENCE_UNSTATED

    @property
    def audience_format_label(self) -> str:
        return AUDIENCE_FORMATS.get(self.audience_format, self.audience_format)

    @property
    def delivery_mode_label(self) -> str:
        return DELIVERY_MODES.get(self.delivery_mode, self.delivery_mode)


class CourseObjective(db.Model):
    __tablename__ = "course_objective"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_version.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)

    version: Mapped[CourseVersion] = relationship(back_populates="objectives")


class ProgrammePart(db.Model):
    """One part of the programme, with its ordered items, optionally tied to a half-day of day N."""

    __tablename__ = "programme_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_version.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    day: Mapped[int | None]
    half_day: Mapped[str | None] = mapped_column(String(10))  # morning / afternoon
    items: Mapped[list] = mapped_column(JSON, default=list)

    version: Mapped[CourseVersion] = relationship(back_populates="programme")
