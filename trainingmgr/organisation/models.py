from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db
from ..files.models import StoredFile

VAT_EXEMPT = "exempt"
VAT_STANDARD = "standard"
VAT_CHOICES = {
    VAT_EXEMPT: "Exonéré de TVA (article 261-4-4°-a du CGI)",
    VAT_STANDARD: "TVA à 20 %",
}
VAT_EXEMPTION_MENTION = "Exonération de TVA, article 261-4-4°-a du CGI"


class Organisation(db.Model):
    """The training organisation itself: one row, used by every document."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_form: Mapped[str] = mapped_column(String(80), default="")
    siret: Mapped[str | None] = mapped_column(String(14))
    nda: Mapped[str] = mapped_column(String(40), default="")  # numéro de déclaration d'activité
    nda_region: Mapped[str] = mapped_column(String(80), default="")  # préfet de région
    address: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(255), default="")
    vat_status: Mapped[str] = mapped_column(String(20), default=VAT_EXEMPT)
    vat_number: Mapped[str] = mapped_column(String(20), default="")
    qualiopi_number: Mapped[str] = mapped_column(String(80), default="")
    qualiopi_date: Mapped[dt.date | None]
    qualiopi_body: Mapped[str] = mapped_column(String(120), default="")  # certifying body
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    signatory_name: Mapped[str] = mapped_column(String(120), default="")
    signatory_title: Mapped[str] = mapped_column(String(120), default="")
    # The training advisor: quality follow-up, satisfaction and mediation (both seed brochures).
    quality_contact_name: Mapped[str] = mapped_column(String(120), default="")
    quality_contact_title: Mapped[str] = mapped_column(String(120), default="Conseiller formation")
    quality_contact_email: Mapped[str] = mapped_column(String(254), default="")
    quality_contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # Disability (référent handicap) and default public statements used when a course says nothing.
    disability_contact_name: Mapped[str] = mapped_column(String(120), default="")
    disability_contact_email: Mapped[str] = mapped_column(String(254), default="")
    disability_contact_phone: Mapped[str] = mapped_column(String(40), default="")
    accessibility_policy: Mapped[str] = mapped_column(Text, default="")
    access_delay_policy: Mapped[str] = mapped_column(Text, default="")
    # What documents state: conventions (payment, cancellation), contracts (consumer mediator), convocations.
    payment_terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Bank details for transfers: printed on invoices with the EPC (SEPA) QR code.
    iban: Mapped[str] = mapped_column(String(34), default="", server_default="")
    bic: Mapped[str] = mapped_column(String(11), default="", server_default="")
    cancellation_terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    consumer_mediator: Mapped[str] = mapped_column(Text, default="", server_default="")
    internal_rules: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The technical and pedagogical assistance of a trainee at a distance (Code du travail D6313-3-1, 1°): who, how
    # to reach them, when, and how soon they answer. Printed on the convention, contract and programme of a session
    # with virtual or asynchronous half-days.
    remote_assistance: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When the automations took over the e-mails the application used to send from fixed jobs (set by migration
    # c25a00000001 on a database that existed before it; None on a new one): a default rule never mails an
    # occasion due before it, which the old jobs had already handled (automations/engine.ensure_defaults).
    automations_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    logo: Mapped[StoredFile | None] = relationship()

    @property
    def vat_exempt(self) -> bool:
        return self.vat_status == VAT_EXEMPT

    @property
    def vat_label(self) -> str:
        return VAT_CHOICES.get(self.vat_status, self.vat_status)

    @property
    def full_address(self) -> str:
        return ", ".join(p for p in (self.address, f"{self.postal_code} {self.city}".strip()) if p)

    @property
    def nda_mention(self) -> str:
        if not self.nda:
            return ""
        region = f" auprès du préfet de région {self.nda_region}" if self.nda_region else ""
        return (
            f"Déclaration d'activité enregistrée sous le n° {self.nda}{region} "
            "(cet enregistrement ne vaut pas agrément de l'État)"
        )
