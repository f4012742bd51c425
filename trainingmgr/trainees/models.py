"""Trainees (stagiaires). One person per e-mail address."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..companies.models import Company
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db

CIVILITIES = {"": "—", "Mme": "Madame", "M.": "Monsieur"}
# Trainee status as the yearly Bilan pédagogique et financier (cerfa 10443, section F-1) counts them.
class BpfStatus(str, enum.Enum):
    EMPLOYEE = "employee"
    JOB_SEEKER = "job_seeker"
    SELF_EMPLOYED = "self_employed"
    INDIVIDUAL = "individual"
    OTHER = "other"


BPF_STATUSES = {
    "employee": "Salarié d'un employeur privé",
    "job_seeker": "Demandeur d'emploi",
    "self_employed": "Travailleur indépendant, profession libérale",
    "individual": "Particulier à ses frais",
    "other": "Autre (agent public…)",
}


class Trainee(db.Model):
    __tablename__ = "trainee"

    id: Mapped[int] = mapped_column(primary_key=True)
    civility: Mapped[str] = mapped_column(String(4), default="")
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    job_title: Mapped[str] = mapped_column(String(120), default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"), index=True)
    bpf_status: Mapped[str] = mapped_column(String(20), default="employee")
    accessibility_needs: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when the record was anonymised at the end of its retention (privacy/services.py).
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        return f"{self.civility} {self.full_name}".strip()

    @property
    def bpf_status_label(self) -> str:
        return BPF_STATUSES.get(self.bpf_status, self.bpf_status)


class TraineeMerge(db.Model):
    """Trace of two trainee records merged into one (the removed record's data is kept here)."""

    __tablename__ = "trainee_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("trainee.id", ondelete="CASCADE"), index=True)
    removed_id: Mapped[int]
    removed_data: Mapped[dict] = mapped_column(JSON)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
