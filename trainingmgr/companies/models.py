from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db

# The eleven opérateurs de compétences (OPCO) approved since 2019.
OPCOS = (
    "AFDAS",
    "AKTO",
    "ATLAS",
    "Constructys",
    "OCAPIAT",
    "OPCO 2i",
    "OPCO Commerce",
    "OPCO EP",
    "OPCO Mobilités",
    "OPCO Santé",
    "Uniformation (OPCO Cohésion sociale)",
)
HEADCOUNT_BANDS = {
    "0-10": "0 à 10 salariés",
    "11-49": "11 à 49 salariés",
    "50-249": "50 à 249 salariés",
    "250+": "250 salariés et plus",
}
CONTACT_ROLES = {
    "signatory": "Signataire",
    "hr": "Ressources humaines / formation",
    "accounting": "Comptabilité",
    "other": "Autre",
}


class Company(db.Model):
    """A client company or public buyer: intra sessions, trainees' employer, payer of enrolments."""

    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14), unique=True)
    naf_code: Mapped[str] = mapped_column(String(6), default="")
    headcount_band: Mapped[str] = mapped_column(String(10), default="")
    opco: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    # Public buyers invoice through Chorus Pro: their service code, and whether they demand an
    # engagement (purchase order) number on every invoice.
    is_public_buyer: Mapped[bool] = mapped_column(default=False)
    chorus_service_code: Mapped[str] = mapped_column(String(100), default="")
    engagement_required: Mapped[bool] = mapped_column(default=False)
    # The HR contact is e-mailed once per employee and half-day marked absent or late (attendance/alerts.py).
    absence_alerts: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contacts: Mapped[list[CompanyContact]] = relationship(
        back_populates="company", order_by="CompanyContact.id", cascade="all, delete-orphan"
    )

    @property
    def full_address(self) -> str:
        return ", ".join(p for p in (self.address, f"{self.postal_code} {self.city}".strip()) if p)

    def contact(self, *roles: str) -> CompanyContact | None:
        """The first contact holding the first of ``roles`` that any contact holds."""
        for role in roles:
            for contact in self.contacts:
                if contact.role == role and contact.email:
                    return contact
        return None


class CompanyContact(db.Model):
    __tablename__ = "company_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="other")
    name: Mapped[str] = mapped_column(String(160))
    job_title: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # The company space (companies/links.py): a personal link naming this nonce; empty until a link is made, a new
    # one revokes the earlier links.
    link_nonce: Mapped[str] = mapped_column(String(32), default="", server_default="")

    company: Mapped[Company] = relationship(back_populates="contacts")

    @property
    def role_label(self) -> str:
        return CONTACT_ROLES.get(self.role, self.role)
