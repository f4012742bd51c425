"""Enrolments of trainees in sessions, their history and who pays for them."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..companies.models import Company
from ..core.formatting import money_fr
from ..core.timeutil import utcnow
from ..core.types import Hours, Money, UTCDateTime
from ..extensions import db
from ..sessions.models import TrainingSession
from ..trainees.models import Trainee


class EnrolmentStatus(str, enum.Enum):
    REQUESTED = "requested"
    PENDING_PREREQUISITE = "pending_prerequisite"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


ENROLMENT_STATUS_LABELS = {
    "requested": "Demande à traiter",
    "pending_prerequisite": "En attente de validation des prérequis",
    "confirmed": "Confirmée",
    "waitlisted": "Liste d'attente",
    "cancelled": "Annulée",
    "no_show": "Absent",
    "completed": "Formation suivie",
    "abandoned": "Abandon",
}

def _values(*statuses: EnrolmentStatus) -> tuple[str, ...]:
    return tuple(status.value for status in statuses)


# Enrolments that hold one of the session's seats before the session takes place.
BOOKED = _values(EnrolmentStatus.PENDING_PREREQUISITE, EnrolmentStatus.CONFIRMED)
# Enrolments that hold one of the session's seats (the last three once the session has taken place).
SEAT_HOLDING = _values(EnrolmentStatus.PENDING_PREREQUISITE, EnrolmentStatus.CONFIRMED, EnrolmentStatus.COMPLETED,
                       EnrolmentStatus.ABANDONED, EnrolmentStatus.NO_SHOW)
# Trainees expected at the session: confirmed, then assessed (convoked, invoiced, counted by the evidence).
EXPECTED = _values(EnrolmentStatus.CONFIRMED, EnrolmentStatus.COMPLETED, EnrolmentStatus.ABANDONED,
                   EnrolmentStatus.NO_SHOW)
# Trainees who attended the session, wholly or in part.
ATTENDED = _values(EnrolmentStatus.COMPLETED, EnrolmentStatus.ABANDONED)
# The assessment of a trainee after the session (in the order the enrolment page offers them).
FINAL_MARKS = _values(EnrolmentStatus.COMPLETED, EnrolmentStatus.NO_SHOW, EnrolmentStatus.ABANDONED)
# Enrolments still in play (not cancelled, not assessed).
LIVE = _values(EnrolmentStatus.REQUESTED, EnrolmentStatus.PENDING_PREREQUISITE, EnrolmentStatus.CONFIRMED,
               EnrolmentStatus.WAITLISTED)

POSITIONING_DECISIONS = {
    "admitted": "Admis",
    "admitted_with_adaptation": "Admis avec adaptation",
    "redirected": "Réorienté",
}
# Positioning decisions that let the trainee in.
ADMITTING_DECISIONS = ("admitted", "admitted_with_adaptation")


class Enrolment(db.Model):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("session_id", "trainee_id"),
        Index("ix_enrolment_session_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    # The employer at enrolment time (the trainee may change company later).
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default=EnrolmentStatus.REQUESTED.value)
    waitlist_position: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(20), default="advisor")  # advisor, public, api
    # Price of this seat, excluding VAT, and the VAT rate applied (0 when exempt).
    price_excl_vat: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    vat_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # What a public pre-registration said about the employer, until the advisor matches a company.
    requested_company_name: Mapped[str] = mapped_column(String(200), default="")
    requested_company_siret: Mapped[str] = mapped_column(String(14), default="")
    request_message: Mapped[str] = mapped_column(Text, default="")
    # Prerequisites and positioning (Qualiopi indicators 4 and 8).
    prerequisite_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    positioning_decision: Mapped[str | None] = mapped_column(String(30))
    positioning_comment: Mapped[str] = mapped_column(Text, default="")
    positioning_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    positioning_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    convocation_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The individual's contrat de formation (L6353-3 to -7): the day the trainee signed it, as recorded by the
    # advisor; the 10-day withdrawal period runs from it, and nothing is invoiced to them before it ends.
    contract_signed_on: Mapped[dt.date | None]
    # Hours attended, from the attendance record, stored when the session ends (certificates, BPF).
    hours_attended: Mapped[Decimal | None] = mapped_column(Hours())
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship()
    trainee: Mapped[Trainee] = relationship()
    company: Mapped[Company | None] = relationship()
    positioning_decided_by: Mapped[User | None] = relationship(foreign_keys=[positioning_decided_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    events: Mapped[list[EnrolmentEvent]] = relationship(
        back_populates="enrolment", order_by="EnrolmentEvent.id", cascade="all, delete-orphan"
    )
    funding_lines: Mapped[list[FundingLine]] = relationship(
        back_populates="enrolment", order_by="FundingLine.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        label = ENROLMENT_STATUS_LABELS[self.status]
        if self.status == EnrolmentStatus.WAITLISTED.value and self.waitlist_position:
            return f"{label} (n° {self.waitlist_position})"
        return label

    @hybrid_property
    def holds_seat(self) -> bool:
        return self.status in SEAT_HOLDING

    @holds_seat.inplace.expression
    @classmethod
    def _holds_seat_expression(cls):
        return cls.status.in_(SEAT_HOLDING)

    @hybrid_property
    def is_expected(self) -> bool:
        return self.status in EXPECTED

    @is_expected.inplace.expression
    @classmethod
    def _is_expected_expression(cls):
        return cls.status.in_(EXPECTED)

    @hybrid_property
    def has_attended(self) -> bool:
        return self.status in ATTENDED

    @has_attended.inplace.expression
    @classmethod
    def _has_attended_expression(cls):
        return cls.status.in_(ATTENDED)

    @property
    def is_requested(self) -> bool:
        return self.status == EnrolmentStatus.REQUESTED.value

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    @property
    def is_pending_prerequisite(self) -> bool:
        return self.status == EnrolmentStatus.PENDING_PREREQUISITE.value

    @property
    def is_confirmed(self) -> bool:
        return self.status == EnrolmentStatus.CONFIRMED.value

    @property
    def is_waitlisted(self) -> bool:
        return self.status == EnrolmentStatus.WAITLISTED.value

    @property
    def other_final_marks(self) -> tuple[str, ...]:
        """The assessments the enrolment may still be given (FINAL_MARKS but its own status)."""
        return tuple(status for status in FINAL_MARKS if status != self.status)

    @property
    def is_cancelled(self) -> bool:
        return self.status == EnrolmentStatus.CANCELLED.value

    @property
    def price_incl_vat(self) -> Decimal:
        return (self.price_excl_vat * (1 + self.vat_rate / 100)).quantize(Decimal("0.01"))

    @property
    def positioning_decision_label(self) -> str:
        return POSITIONING_DECISIONS.get(self.positioning_decision or "", "")


class EnrolmentEvent(db.Model):
    """The dated history of an enrolment: created, status changes, promotions, notifications, decisions."""

    __tablename__ = "enrolment_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text, default="")

    enrolment: Mapped[Enrolment] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class FundingKind(str, enum.Enum):
    """Who pays: the kind of a funding line, and of the payer an invoice is billed to (``Invoice.payer_kind``,
    billing/kinds.py): a funding line is invoiced to a payer of its own kind."""

    COMPANY = "company"
    OPCO = "opco"
    SELF_EMPLOYED_FUND = "self_employed_fund"  # FIF PL, AGEFICE…: the fund, or the trainee it refunds
    FRANCE_TRAVAIL = "france_travail"
    PUBLIC_FUNDER = "public_funder"  # a region, the State…: its category gives the BPF line
    PUBLIC_BUYER = "public_buyer"
    INDIVIDUAL = "individual"  # the trainee, at their own expense


FUNDING_KINDS = {
    FundingKind.COMPANY.value: "Entreprise",
    FundingKind.OPCO.value: "OPCO",
    FundingKind.SELF_EMPLOYED_FUND.value: "Fonds des non-salariés",
    FundingKind.FRANCE_TRAVAIL.value: "France Travail (AIF)",
    FundingKind.PUBLIC_FUNDER.value: "Région ou autre financeur public",
    FundingKind.PUBLIC_BUYER.value: "Acheteur public",
    FundingKind.INDIVIDUAL.value: "Stagiaire (à ses frais)",
}
# The kinds that are a funder's decision (prise en charge): requested, agreed or refused, with a file number.
AGREEMENT_KINDS = (FundingKind.OPCO.value, FundingKind.SELF_EMPLOYED_FUND.value, FundingKind.FRANCE_TRAVAIL.value,
                   FundingKind.PUBLIC_FUNDER.value)
# The public bodies (invoiced through Chorus Pro): the line names their SIRET, service code and engagement number.
PUBLIC_KINDS = (FundingKind.PUBLIC_BUYER.value, FundingKind.PUBLIC_FUNDER.value)
# The training funds of the self-employed (fonds d'assurance formation des non-salariés): the trainee usually pays
# and claims the refund; the BPF counts their products on line C-2g.
SELF_EMPLOYED_FUNDS = ("FIF PL", "AGEFICE", "FAFCEA", "FAF PM", "VIVEA")
# A public funder other than France Travail, by the BPF line its products go to (C-4, C-5, C-6, C-8).
PUBLIC_FUNDER_CATEGORIES = {
    "region": "Conseil régional",
    "state": "État",
    "europe": "Instances européennes",
    "other": "Autre financeur public",
}
class OpcoStatus(str, enum.Enum):
    """Where a funding line's request for agreement stands (OPCO, France Travail, public funder)."""

    TO_REQUEST = "to_request"
    REQUESTED = "requested"
    AGREED = "agreed"
    REFUSED = "refused"


OPCO_STATUSES = {
    "to_request": "À demander",
    "requested": "Demandée",
    "agreed": "Accordée",
    "refused": "Refusée",
}
# Requests for agreement filed with the funder (its file number is then known).
FILED_REQUESTS = (OpcoStatus.REQUESTED.value, OpcoStatus.AGREED.value, OpcoStatus.REFUSED.value)
# How an OPCO line is invoiced (billing/invoices.py): its amount (capped at the agreement), or the hours attended
# × the line's hourly rate excluding VAT (capped at the agreement).
BILLING_BASES = {
    "flat": "Forfait (montant pris en charge)",
    "hours_attended": "Heures suivies × taux horaire",
}


class FundingLine(db.Model):
    """Who pays what for an enrolment. Amounts include VAT; together they should make the enrolment's price."""

    __tablename__ = "funding_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    payer_company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    # A funder's decision (prise en charge, AGREEMENT_KINDS): the funder's name (the OPCO, the self-employed
    # fund, « France Travail », the region…), its file number (France Travail: the AIF quote/agreement reference;
    # a public funder: its convention or order reference), status, amounts, dates and hours.
    opco_name: Mapped[str] = mapped_column(String(60), default="")
    opco_file_number: Mapped[str] = mapped_column(String(60), default="")
    opco_member_number: Mapped[str] = mapped_column(String(60), default="")
    # The OPCO's adviser for this file: they receive the funder's feedback survey after the session.
    opco_contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    requested_amount: Mapped[Decimal | None] = mapped_column(Money())
    agreed_amount: Mapped[Decimal | None] = mapped_column(Money())
    subrogation: Mapped[bool] = mapped_column(default=False)
    # How the payer is invoiced: the agreed/flat amount, or per hour actually attended at hourly_rate (OPCOs
    # that pay only the hours attended).
    billing_basis: Mapped[str] = mapped_column(String(20), default="flat", server_default="flat")
    hourly_rate: Mapped[Decimal | None] = mapped_column(Money())
    opco_status: Mapped[str] = mapped_column(String(20), default="")
    requested_on: Mapped[dt.date | None]
    agreed_on: Mapped[dt.date | None]
    refused_on: Mapped[dt.date | None]
    # The hours the funder agreed to pay for (France Travail, the funds of the self-employed, regions…).
    agreed_hours: Mapped[Decimal | None] = mapped_column(Hours())
    # A public funder's category (PUBLIC_FUNDER_CATEGORIES): the BPF line its products go to.
    funder_category: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # Public buyer or public funder (Chorus Pro)
    buyer_siret: Mapped[str] = mapped_column(String(14), default="")
    service_code: Mapped[str] = mapped_column(String(100), default="")
    engagement_number: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="funding_lines")
    payer_company: Mapped[Company | None] = relationship()

    @property
    def kind_label(self) -> str:
        return FUNDING_KINDS.get(self.kind, self.kind)

    @property
    def is_opco(self) -> bool:
        return self.kind == FundingKind.OPCO.value

    @property
    def is_self_employed_fund(self) -> bool:
        return self.kind == FundingKind.SELF_EMPLOYED_FUND.value

    @property
    def is_public_funder(self) -> bool:
        return self.kind == FundingKind.PUBLIC_FUNDER.value

    @property
    def is_public_body(self) -> bool:
        return self.kind in PUBLIC_KINDS

    @property
    def opco_status_label(self) -> str:
        return OPCO_STATUSES.get(self.opco_status, "")

    @property
    def billing_basis_label(self) -> str:
        return BILLING_BASES.get(self.billing_basis or "flat", self.billing_basis)

    @property
    def billing_basis_text(self) -> str:
        """"au forfait", or "aux heures suivies × 45,00 € HT" (the enrolment page, its history)."""
        if self.billing_basis == "hours_attended":
            rate = f" × {money_fr(self.hourly_rate)} HT" if self.hourly_rate is not None else ""
            return f"aux heures suivies{rate}"
        return "au forfait"
