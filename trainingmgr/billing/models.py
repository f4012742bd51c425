"""Billing: invoices and credit notes (one per payer of a session), their lines, payments, the gapless yearly
numbering, and the figures of the yearly BPF that the data cannot give (charges, manager)."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import Hours, Money, UTCDateTime
from ..extensions import db
from ..files.models import StoredFile


class InvoiceKind(str, enum.Enum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


INVOICE_KINDS = {"invoice": "Facture", "credit_note": "Avoir"}


class InvoiceStatus(str, enum.Enum):
    DRAFT = "draft"
    ISSUED = "issued"


INVOICE_STATUSES = {
    "draft": "Brouillon",
    "issued": "Émise",
}


class BalanceStatus(str, enum.Enum):
    """What an issued invoice's payments and credit notes make of it (read, never stored: billing/payments)."""

    UNPAID = "unpaid"
    PARTIAL = "partial"
    PAID = "paid"
    CREDITED = "credited"


# Who pays the organisation (the BPF's section C classifies products by it).
PAYER_KINDS = {
    "company": "Entreprise",
    "opco": "OPCO (subrogation)",
    "self_employed_fund": "Fonds des non-salariés",
    "france_travail": "France Travail",
    "public_funder": "Financeur public",
    "public_buyer": "Acheteur public",
    "individual": "Particulier",
}
PAYMENT_METHODS = {
    "transfer": "Virement",
    "cheque": "Chèque",
    "card": "Carte bancaire",
    "cash": "Espèces",
    "direct_debit": "Prélèvement",
    "other": "Autre",
}
# UN/ECE rec. 20 unit codes used on the lines (Factur-X): a trainee (unit) or an hour attended.
LINE_UNITS = {"C62": "stagiaire", "HUR": "heure"}


class PaymentCallStatus(str, enum.Enum):
    PLANNED = "planned"
    SENT = "sent"
    CANCELLED = "cancelled"


PAYMENT_CALL_STATUSES = {
    "planned": "Prévu",
    "sent": "Envoyé",
    "cancelled": "Annulé",
}


class PaymentCall(db.Model):
    """One call of a self-paying trainee's payment schedule (contrat de formation, L6353-6): an amount including
    VAT due on a day. When due, it becomes an invoice to the trainee, e-mailed with its transfer QR code."""

    __tablename__ = "payment_call"
    __table_args__ = (UniqueConstraint("enrolment_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    due_on: Mapped[dt.date]
    amount: Mapped[Decimal] = mapped_column(Money())  # including VAT
    status: Mapped[str] = mapped_column(String(20), default=PaymentCallStatus.PLANNED.value)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    invoice: Mapped[Invoice | None] = relationship()

    @property
    def status_label(self) -> str:
        return PAYMENT_CALL_STATUSES.get(self.status, self.status)

    @property
    def is_planned(self) -> bool:
        return self.status == PaymentCallStatus.PLANNED.value

    @property
    def is_sent(self) -> bool:
        return self.status == PaymentCallStatus.SENT.value

    @property
    def is_cancelled(self) -> bool:
        return self.status == PaymentCallStatus.CANCELLED.value


class InvoiceSequence(db.Model):
    """The last number given for a year, for each kind (F2026-0001…, A2026-0001…): locked while a number is
    taken, so that numbers follow each other without gaps even when several invoices are issued at once."""

    __tablename__ = "invoice_sequence"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(db.Model):
    """An invoice or a credit note. A draft may change; once issued (number, date) it never changes again:
    a credit note cancels it, fully or partly. The seller's and buyer's identities are frozen at issue."""

    __tablename__ = "invoice"
    # The invoices list costs the same whatever the history: a page of a status in the list's order
    # (issue date, sequence, id) read from an index, the issued totals summed from an index alone, the years
    # offered by the filter found by skipping from one year to the next, and the credit notes of a page's
    # invoices found by their credited invoice (their kind, status and total with it).
    __table_args__ = (
        Index("ix_invoice_status_order", "status", "issue_date", "sequence", "id"),
        Index("ix_invoice_status_kind_total", "status", "kind", "total_excl_vat"),
        Index("ix_invoice_year", "year"),
        Index("ix_invoice_credit_notes", "credited_invoice_id", "kind", "status", "total_incl_vat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="invoice")
    status: Mapped[str] = mapped_column(String(20), default=InvoiceStatus.DRAFT.value, index=True)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)  # F2026-0001, given at issue
    year: Mapped[int | None]
    sequence: Mapped[int | None]
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="RESTRICT"),
                                                   index=True)
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)  # credit notes
    reason: Mapped[str] = mapped_column(Text, default="")  # why a credit note was made
    # The payer.
    payer_kind: Mapped[str] = mapped_column(String(20))
    payer_company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"), index=True)
    payer_trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainee.id", ondelete="SET NULL"))
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    buyer_address: Mapped[str] = mapped_column(String(255), default="")
    buyer_postal_code: Mapped[str] = mapped_column(String(10), default="")
    buyer_city: Mapped[str] = mapped_column(String(120), default="")
    buyer_country: Mapped[str] = mapped_column(String(2), default="FR")
    buyer_siret: Mapped[str] = mapped_column(String(14), default="")
    buyer_vat_number: Mapped[str] = mapped_column(String(20), default="")
    buyer_email: Mapped[str] = mapped_column(String(254), default="")
    # OPCO under subrogation: the file number; the employer the training was for.
    opco_name: Mapped[str] = mapped_column(String(60), default="")
    opco_file_number: Mapped[str] = mapped_column(String(60), default="")
    beneficiary_company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"))
    # A public funder's category (enrolments.models.PUBLIC_FUNDER_CATEGORIES): the BPF line of its products.
    funder_category: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # Public buyer (Chorus Pro): service code and engagement (purchase order) number.
    service_code: Mapped[str] = mapped_column(String(100), default="")
    engagement_number: Mapped[str] = mapped_column(String(100), default="")
    buyer_reference: Mapped[str] = mapped_column(String(100), default="")
    # Dates and terms.
    issue_date: Mapped[dt.date | None] = mapped_column(index=True)  # the BPF's year, the journal's period
    due_date: Mapped[dt.date | None]
    service_start: Mapped[dt.date | None]
    service_end: Mapped[dt.date | None]
    payment_terms: Mapped[str] = mapped_column(Text, default="")
    operation_category: Mapped[str] = mapped_column(String(40), default="services")  # prestation de services
    vat_exemption: Mapped[str] = mapped_column(String(200), default="")  # the exemption mention, if exempt
    seller: Mapped[dict] = mapped_column(JSON, default=dict)  # the organisation's identity at issue
    notes: Mapped[str] = mapped_column(Text, default="")
    # Totals (kept equal to the lines' sums by the services; negative never: a credit note is positive).
    total_excl_vat: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    total_vat: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    total_incl_vat: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # Files produced at issue: the Word document and the Factur-X PDF.
    docx_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    pdf_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    xml_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))  # the EN 16931 CII XML
    facturx_xml_sha256: Mapped[str] = mapped_column(String(64), default="")
    # Reminders of an unpaid invoice.
    reminder_count: Mapped[int] = mapped_column(default=0)
    last_reminder_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan")
    payments: Mapped[list[Payment]] = relationship(back_populates="invoice", order_by="Payment.id")
    credited_invoice: Mapped[Invoice | None] = relationship(remote_side=[id])
    docx_file: Mapped[StoredFile | None] = relationship(foreign_keys=[docx_file_id])
    pdf_file: Mapped[StoredFile | None] = relationship(foreign_keys=[pdf_file_id])
    xml_file: Mapped[StoredFile | None] = relationship(foreign_keys=[xml_file_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    @property
    def kind_label(self) -> str:
        return INVOICE_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return INVOICE_STATUSES.get(self.status, self.status)

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT.value

    @hybrid_property
    def is_issued(self) -> bool:
        return self.status == InvoiceStatus.ISSUED.value

    @is_issued.inplace.expression
    @classmethod
    def _is_issued_expression(cls):
        return cls.status == InvoiceStatus.ISSUED.value

    @property
    def payer_kind_label(self) -> str:
        return PAYER_KINDS.get(self.payer_kind, self.payer_kind)

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE.value


class InvoiceLine(db.Model):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="SET NULL"), index=True)
    funding_line_id: Mapped[int | None] = mapped_column(ForeignKey("funding_line.id", ondelete="SET NULL"),
                                                        index=True)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("1"))
    unit: Mapped[str] = mapped_column(String(3), default="C62")
    unit_price_excl_vat: Mapped[Decimal] = mapped_column(Money())
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"))
    total_excl_vat: Mapped[Decimal] = mapped_column(Money())
    vat_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    hours: Mapped[Decimal | None] = mapped_column(Hours())  # hours attended, for the OPCO's service-fait check

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def unit_label(self) -> str:
        return LINE_UNITS.get(self.unit, self.unit)


class Payment(db.Model):
    """A payment received. Never deleted: one recorded by mistake is cancelled (when, by whom, why) and then no
    longer counts anywhere (balances, statuses, overdue list, reminders, accounting export)."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="RESTRICT"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(index=True)  # the dashboard sums a year's payments
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(20), default="transfer")
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])

    @property
    def method_label(self) -> str:
        return PAYMENT_METHODS.get(self.method, self.method)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class BpfYear(db.Model):
    """What the yearly BPF needs beyond the data: charges (section D), the organisation's whole turnover (for the
    share of training in it), distance training, and the manager who signs (section H)."""

    __tablename__ = "bpf_year"
    __table_args__ = (UniqueConstraint("year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    total_turnover: Mapped[Decimal | None] = mapped_column(Money())
    charges_total: Mapped[Decimal | None] = mapped_column(Money())
    charges_trainer_salaries: Mapped[Decimal | None] = mapped_column(Money())
    charges_purchased_training: Mapped[Decimal | None] = mapped_column(Money())
    distance_training: Mapped[bool] = mapped_column(default=False)
    manager_name: Mapped[str] = mapped_column(String(120), default="")
    manager_title: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
