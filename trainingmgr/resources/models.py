"""Where and by whom sessions are delivered: locations (rooms or remote) and trainers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
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
    is_external: Mapped[bool] = mapped_column(default=False)
    company_name: Mapped[str] = mapped_column(String(200), default="")
    company_siret: Mapped[str | None] = mapped_column(String(14))
    cv_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cv: Mapped[StoredFile | None] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
