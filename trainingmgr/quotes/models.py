"""A quote (devis) and its lines and named trainees."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..catalogue.models import Course
from ..companies.models import Company
from ..core.timeutil import utcnow
from ..core.types import Money, UTCDateTime
from ..enrolments.models import Enrolment
from ..extensions import db
from ..files.models import StoredFile
from ..sessions.models import TrainingSession


class QuoteStatus(str, enum.Enum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"


QUOTE_STATUSES = {
    "draft": "Brouillon",
    "sent": "Envoyé",
    "accepted": "Accepté",
    "refused": "Refusé",
    "expired": "Expiré",
}
STATUS_COLOURS = {"draft": "secondary", "sent": "primary", "accepted": "success", "refused": "danger",
                  "expired": "dark"}
# Still waiting for the client's answer: counted in the pipeline's open amount, and the expiry job's candidates.
OPEN = (QuoteStatus.DRAFT.value, QuoteStatus.SENT.value)
# Decided: the quote is frozen (its lines, trainees and file never change again).
CLOSED = (QuoteStatus.ACCEPTED.value, QuoteStatus.REFUSED.value, QuoteStatus.EXPIRED.value)


class QuoteKind(str, enum.Enum):
    SEATS = "seats"  # seats in a scheduled inter-company session
    INTRA = "intra"  # a session of its own for the company, at a wished period and place


QUOTE_KINDS = {"seats": "Places en session inter-entreprises", "intra": "Session intra-entreprise"}
# How an acceptance came (Quote.acceptance_mode), as the quote's page says it.
ACCEPTANCE_MODES = {"online": "en ligne", "recorded": "devis signé reçu", "api": "API"}
QUOTE_SOURCES = {"advisor": "Conseiller", "public": "Demande en ligne", "api": "API"}


class LineKind(str, enum.Enum):
    SEATS = "seats"  # number of seats × the price of a seat
    INTRA = "intra"  # the intra session's flat price
    EXTRA = "extra"  # an extra cost: travel, room hire, materials…


LINE_KINDS = {"seats": "Places", "intra": "Forfait intra", "extra": "Frais annexes"}


class Quote(db.Model):
    __tablename__ = "quote"
    __table_args__ = (UniqueConstraint("year", "sequence", name="uq_quote_year_sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # DEV-2026-0001: taken at creation under the yearly sequence's lock; a quote is never deleted (gapless).
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.DRAFT.value, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10), default="advisor")
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    # Seats: the session the seats are in. Intra: the session made when the quote is accepted.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    seats: Mapped[int | None]  # seats quotes: the number of seats asked for
    headcount: Mapped[int | None]  # intra: the number of people
    wished_period: Mapped[str] = mapped_column(String(120), default="")  # intra: « mars 2027 », « semaine 12 »
    wished_place: Mapped[str] = mapped_column(String(200), default="")  # intra: where the company wants it
    request_message: Mapped[str] = mapped_column(Text, default="")  # what the contact wrote with the request
    valid_until: Mapped[dt.date]
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("20.00"))
    total_excl_vat: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))  # kept equal to the lines'
    conditions: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # internal, never printed
    # The document sent (re-rendered at each sending; frozen once decided).
    version: Mapped[int] = mapped_column(default=0)
    docx_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    pdf_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    document_sha256: Mapped[str] = mapped_column(String(64), default="")
    # The contact's personal page (read, accept online, refuse): core.personal_links, renewed at each sending.
    link_nonce: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # How the acceptance came: "online" (the contact, from the personal page), "recorded" (the advisor, with the
    # signed file), "api"; who accepted for the client; the proof (IP, user agent, the SHA-256 of what was accepted).
    acceptance_mode: Mapped[str] = mapped_column(String(10), default="")
    accepted_by_name: Mapped[str] = mapped_column(String(120), default="")
    acceptance_evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    signed_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # accepted, refused or expired

    course: Mapped[Course] = relationship()
    session: Mapped[TrainingSession | None] = relationship()
    company: Mapped[Company] = relationship()
    created_by: Mapped[User | None] = relationship()
    docx_file: Mapped[StoredFile | None] = relationship(foreign_keys=[docx_file_id])
    pdf_file: Mapped[StoredFile | None] = relationship(foreign_keys=[pdf_file_id])
    signed_file: Mapped[StoredFile | None] = relationship(foreign_keys=[signed_file_id])
    lines: Mapped[list[QuoteLine]] = relationship(back_populates="quote", cascade="all, delete-orphan",
                                                  order_by="QuoteLine.position")
    trainees: Mapped[list[QuoteTrainee]] = relationship(back_populates="quote", cascade="all, delete-orphan",
                                                        order_by="QuoteTrainee.position")

    @property
    def status_label(self) -> str:
        return QUOTE_STATUSES.get(self.status, self.status)

    @property
    def acceptance_mode_label(self) -> str:
        return ACCEPTANCE_MODES.get(self.acceptance_mode, self.acceptance_mode)

    @property
    def kind_label(self) -> str:
        return QUOTE_KINDS.get(self.kind, self.kind)

    @hybrid_property
    def is_open(self) -> bool:
        return self.status in OPEN

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls):
        return cls.status.in_(OPEN)

    @hybrid_property
    def is_draft(self) -> bool:
        return self.status == QuoteStatus.DRAFT.value

    @hybrid_property
    def is_sent(self) -> bool:
        return self.status == QuoteStatus.SENT.value

    @hybrid_property
    def is_accepted(self) -> bool:
        return self.status == QuoteStatus.ACCEPTED.value

    @hybrid_property
    def is_refused(self) -> bool:
        return self.status == QuoteStatus.REFUSED.value

    @hybrid_property
    def is_expired(self) -> bool:
        return self.status == QuoteStatus.EXPIRED.value

    @property
    def is_seats(self) -> bool:
        return self.kind == QuoteKind.SEATS.value

    @property
    def is_public_request(self) -> bool:
        return self.source == "public"

    @property
    def status_colour(self) -> str:
        """The Bootstrap colour of the status badge."""
        return STATUS_COLOURS.get(self.status, "secondary")

    @property
    def is_frozen(self) -> bool:
        return self.status in CLOSED

    @property
    def vat_amount(self) -> Decimal:
        return (self.total_excl_vat * self.vat_rate / 100).quantize(Decimal("0.01"))

    @property
    def total_incl_vat(self) -> Decimal:
        return self.total_excl_vat + self.vat_amount


class QuoteLine(db.Model):
    __tablename__ = "quote_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quote.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit_price: Mapped[Decimal] = mapped_column(Money())  # excluding VAT
    total: Mapped[Decimal] = mapped_column(Money())  # quantity × unit price, rounded to the cent

    quote: Mapped[Quote] = relationship(back_populates="lines")

    @property
    def is_extra(self) -> bool:
        return self.kind == LineKind.EXTRA.value


class QuoteTrainee(db.Model):
    """A person a seats quote names: enrolled at the quoted price when the quote is accepted."""

    __tablename__ = "quote_trainee"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quote.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), default="")
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="SET NULL"))

    quote: Mapped[Quote] = relationship(back_populates="trainees")
    enrolment: Mapped[Enrolment | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
