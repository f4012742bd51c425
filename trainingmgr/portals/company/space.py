"""The client-company space: what a company contact's personal link (companies/links.py) opens, their staff's sessions,
attendance, documents, what is awaited from the company, and its invoices.

See docs/company-space.md for what belongs to a company and how the link works."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ...attendance import services as attendance
from ...billing.invoices.files import filename, read_file
from ...billing.payments import services as payments
from ...billing.models import Invoice, InvoiceKind, InvoiceStatus
from ...core.errors import NotFoundError, PermissionDenied
from ...core.persistence import get_by_id
from ...core.timeutil import paris_today
from ...documents import services as document_services
from ...documents.models import GeneratedDocument
from ...enrolments.models import SEAT_HOLDING, Enrolment, EnrolmentStatus
from ...evaluations.needs import services as needs
from ...evaluations.surveys import services as surveys
from ...evaluations.models import SurveyInvitation
from ...extensions import db
from ...sessions.models import ENDED, SessionStatus, TrainingSession
from ...signing import mails as signing_mails
from ...signing import services as signing_services
from ...signing.models import RequestStatus, Signatory, SignatoryStatus, SignatureRequest
from ...trainees.models import Trainee
from ...companies.models import Company, CompanyContact

log = logging.getLogger("trainingmgr.company_space")

# The enrolments shown: every one that holds or awaits a seat, or took place.
SHOWN_ENROLMENTS = (*SEAT_HOLDING, EnrolmentStatus.WAITLISTED.value)
PAST_SESSIONS = (*ENDED, SessionStatus.CANCELLED.value)
COMPANY_DOCUMENTS = ("quote", "convention")
EMPLOYEE_DOCUMENTS = ("convocation", "attestation", "certificate")
DOCUMENT_ORDER = COMPANY_DOCUMENTS + EMPLOYEE_DOCUMENTS
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME = {"docx": DOCX_TYPE, "pdf": "application/pdf", "xml": "application/xml"}
NOT_YOURS = "Ce contenu ne concerne pas votre entreprise."


# --------------------------------------------------------------------------- what belongs to the company


def _refuse(company: Company, what: str, ident) -> None:
    log.warning("Espace entreprise : accès refusé à %s %s pour l'entreprise %s", what, ident, company.id)
    raise PermissionDenied(NOT_YOURS)


def _enrolment_scope(company_id: int):
    """The enrolments of the company's staff, or of an intra session it ordered (joined with their session)."""
    return and_(or_(Enrolment.company_id == company_id, TrainingSession.client_company_id == company_id),
                Enrolment.status.in_(SHOWN_ENROLMENTS), TrainingSession.status != SessionStatus.DRAFT.value)


def company_enrolments(company: Company, session_id: int | None = None) -> list[Enrolment]:
    query = (select(Enrolment).join(TrainingSession, TrainingSession.id == Enrolment.session_id)
             .join(Trainee, Trainee.id == Enrolment.trainee_id).where(_enrolment_scope(company.id))
             .options(selectinload(Enrolment.trainee))
             .order_by(Trainee.last_name, Trainee.first_name, Enrolment.id))
    if session_id is not None:
        query = query.where(Enrolment.session_id == session_id)
    return list(db.session.scalars(query))


def _enrolment_ids(company: Company):
    return (select(Enrolment.id).join(TrainingSession, TrainingSession.id == Enrolment.session_id)
            .where(_enrolment_scope(company.id)))


def _document_scope(company: Company):
    return or_(and_(GeneratedDocument.company_id == company.id, GeneratedDocument.doc_type.in_(COMPANY_DOCUMENTS)),
               and_(GeneratedDocument.enrolment_id.in_(_enrolment_ids(company)),
                    GeneratedDocument.doc_type.in_(EMPLOYEE_DOCUMENTS)))


def company_sessions(company: Company) -> list[TrainingSession]:
    enrolled = (select(Enrolment.session_id).join(TrainingSession, TrainingSession.id == Enrolment.session_id)
                .where(_enrolment_scope(company.id)))
    documented = select(GeneratedDocument.session_id).where(GeneratedDocument.company_id == company.id,
                                                            GeneratedDocument.doc_type.in_(COMPANY_DOCUMENTS))
    return list(db.session.scalars(select(TrainingSession).where(or_(
        and_(TrainingSession.status != SessionStatus.DRAFT.value,
             or_(TrainingSession.id.in_(enrolled), TrainingSession.client_company_id == company.id)),
        TrainingSession.id.in_(documented))).options(selectinload(TrainingSession.slots))))


def is_past(session: TrainingSession, today: dt.date | None = None) -> bool:
    """Over (completed, closed, cancelled), or its last half-day before today."""
    last = session.last_date
    return session.status in PAST_SESSIONS or (last is not None and last < (today or paris_today()))


def get_session(company: Company, session_id) -> TrainingSession:
    session = get_by_id(TrainingSession, session_id, "Session introuvable.")
    if session.id not in {s.id for s in company_sessions(company)}:
        _refuse(company, "la session", session.id)
    return session


def get_enrolment(company: Company, enrolment_id) -> Enrolment:
    enrolment = get_by_id(Enrolment, enrolment_id, "Inscription introuvable.")
    if enrolment.id not in set(db.session.scalars(_enrolment_ids(company))):
        _refuse(company, "l'inscription", enrolment.id)
    return enrolment


# --------------------------------------------------------------------------- documents


def company_documents(company: Company, session_id: int | None = None) -> list[GeneratedDocument]:
    """The company's documents in force (see the module), by session, type, then name."""
    query = select(GeneratedDocument).where(_document_scope(company))
    if session_id is not None:
        query = query.where(GeneratedDocument.session_id == session_id)
    documents = list(db.session.scalars(query.options(selectinload(GeneratedDocument.enrolment))))
    current = document_services.current_versions(documents)
    return sorted((d for d in documents if d.id in current),
                  key=lambda d: (d.session_id, DOCUMENT_ORDER.index(d.doc_type),
                                 d.enrolment.trainee.last_name if d.enrolment else "", d.id))


def signed_requests(document_ids) -> dict[int, SignatureRequest]:
    """The last request signed by all its signatories, by document id."""
    ids = list(document_ids)
    if not ids:
        return {}
    return {r.document_id: r for r in db.session.scalars(
        select(SignatureRequest).where(SignatureRequest.document_id.in_(ids),
                                       SignatureRequest.status == RequestStatus.COMPLETED.value)
        .order_by(SignatureRequest.id))}


def get_document(company: Company, document_id) -> GeneratedDocument:
    """One of the company's documents in force: 403 another's, 404 a replaced version."""
    document = get_by_id(GeneratedDocument, document_id, "Document introuvable.")
    if db.session.scalar(select(GeneratedDocument.id).where(GeneratedDocument.id == document.id,
                                                            _document_scope(company))) is None:
        _refuse(company, "le document", document.id)
    if not document_services.is_current(document):
        raise NotFoundError("Cette version du document a été remplacée : téléchargez celle en vigueur depuis "
                            "votre espace.")
    return document


def document_file(company: Company, document_id, kind: str) -> tuple[bytes, str, str]:
    """(content, file name, type) of a document, checked against its SHA-256 (documents.services.read_file)."""
    document = get_document(company, document_id)
    if kind not in ("docx", "pdf"):
        raise NotFoundError("Format inconnu : docx ou pdf.")
    return document_services.read_file(document, kind), f"{document.number}.{kind}", MIME[kind]


def signed_file(company: Company, document_id) -> tuple[bytes, str, str]:
    """The PDF signed by every signatory (its last revision, checked against its SHA-256)."""
    document = get_document(company, document_id)
    request = signed_requests([document.id]).get(document.id)
    if request is None:
        raise NotFoundError("Ce document n'a pas (encore) été signé par tous ses signataires.")
    return signing_services.latest_pdf(request), f"{document.number}-signe.pdf", MIME["pdf"]


# --------------------------------------------------------------------------- attendance


@dataclass
class Employee:
    """One enrolment of the company's staff in a session: its half-days as recorded (none before the session is
    confirmed), its hours attended so far and its documents."""

    enrolment: Enrolment
    row: attendance.Row | None = None
    documents: list[GeneratedDocument] = field(default_factory=list)

    @property
    def cells(self) -> list[attendance.Cell]:
        return self.row.cells if self.row is not None else []

    @property
    def hours(self) -> Decimal | None:
        return self.row.hours if self.row is not None else None


def attendance_rows(session: TrainingSession, enrolments: list[Enrolment]) -> dict[int, attendance.Row]:
    """The register's rows of these enrolments (attendance.services.build_grid: the same cells as the advisor's)."""
    expected = [e for e in enrolments if e.is_expected]
    if not session.is_held or not expected:  # only a held session has an attendance sheet
        return {}
    grid = attendance.build_grid(session, expected, attendance.session_records(session.id))
    return {row.enrolment.id: row for row in grid.rows}


def employees(company: Company, session: TrainingSession) -> list[Employee]:
    enrolments = company_enrolments(company, session.id)
    rows = attendance_rows(session, enrolments)
    documents = company_documents(company, session.id)
    return [Employee(e, rows.get(e.id), [d for d in documents if d.enrolment_id == e.id]) for e in enrolments]


@dataclass
class SessionPage:
    session: TrainingSession
    employees: list[Employee]
    documents: list[GeneratedDocument]  # the company's own: quote, convention
    signed: dict[int, SignatureRequest]


def session_page(company: Company, session_id) -> SessionPage:
    session = get_session(company, session_id)
    staff = employees(company, session)
    documents = [d for d in company_documents(company, session.id) if d.doc_type in COMPANY_DOCUMENTS]
    return SessionPage(session, staff, documents, signed_requests(d.id for d in documents))


def employee_page(company: Company, enrolment_id) -> Employee:
    enrolment = get_enrolment(company, enrolment_id)
    rows = attendance_rows(enrolment.session, [enrolment])
    documents = [d for d in company_documents(company, enrolment.session_id) if d.enrolment_id == enrolment.id]
    return Employee(enrolment, rows.get(enrolment.id), documents)


# --------------------------------------------------------------------------- invoices


@dataclass
class InvoiceItem:
    invoice: Invoice
    balance: payments.Balance

    @property
    def remaining(self) -> Decimal:
        """What remains to pay (0 for a credit note, or an invoice paid or credited in full)."""
        return max(Decimal("0.00"), self.balance.balance) if self.invoice.kind == InvoiceKind.INVOICE.value else Decimal("0.00")


def company_invoices(company: Company) -> list[InvoiceItem]:
    """The issued invoices and credit notes addressed to the company, newest first, with their balance."""
    found = list(db.session.scalars(select(Invoice).where(
        Invoice.payer_company_id == company.id, Invoice.status == InvoiceStatus.ISSUED.value)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())))
    details = payments.balance_details(found)
    return [InvoiceItem(invoice, details[invoice.id]) for invoice in found]


def remaining_total(items: list[InvoiceItem]) -> Decimal:
    return sum((item.remaining for item in items), Decimal("0.00"))


def get_invoice(company: Company, invoice_id) -> Invoice:
    invoice = get_by_id(Invoice, invoice_id, "Facture introuvable.")
    if invoice.payer_company_id != company.id:
        _refuse(company, "la facture", invoice.id)
    if not invoice.is_issued:
        raise NotFoundError("Facture introuvable.")
    return invoice


def invoice_file(company: Company, invoice_id, kind: str) -> tuple[bytes, str, str]:
    """(content, file name, type): the Factur-X PDF, its XML or the Word copy, checked against its SHA-256."""
    invoice = get_invoice(company, invoice_id)
    data, _ = read_file(invoice, kind)
    return data, filename(invoice, kind), MIME[kind]


# --------------------------------------------------------------------------- what is awaited from the company


@dataclass(frozen=True)
class Awaited:
    """Something the company is asked to do, with the page where it is done."""

    kind: str  # "signature", "survey", "needs"…
    title: str
    detail: str
    url: str
    action: str  # the button's label
    due: dt.date | None = None


AWAITED_SOURCES: list[Callable[[CompanyContact], list[Awaited]]] = []


def awaited_source(fn: Callable[[CompanyContact], list[Awaited]]):
    """Register ``fn(contact) -> [Awaited]``, one kind of thing awaited from a company (each package its own)."""
    AWAITED_SOURCES.append(fn)
    return fn


def awaited(contact: CompanyContact) -> list[Awaited]:
    """Everything awaited from the contact's company, the nearest deadline first."""
    items = [item for source in AWAITED_SOURCES for item in source(contact)]
    return sorted(items, key=lambda item: (item.due is None, item.due or dt.date.max, item.title))


@awaited_source
def signatures_awaited(contact: CompanyContact) -> list[Awaited]:
    """The company's documents awaiting this contact's signature (their address is the invited signatory's)."""
    if not contact.email:
        return []
    company = contact.company
    signatories = db.session.scalars(
        select(Signatory).join(SignatureRequest, SignatureRequest.id == Signatory.request_id)
        .join(GeneratedDocument, GeneratedDocument.id == SignatureRequest.document_id)
        .where(func.lower(Signatory.email) == contact.email.lower(),
               Signatory.status == SignatoryStatus.INVITED.value, Signatory.locked_at.is_(None),
               SignatureRequest.status == RequestStatus.PENDING.value, SignatureRequest.deadline >= paris_today(),
               _document_scope(company))
        .order_by(SignatureRequest.deadline, Signatory.id))
    return [Awaited("signature", f"Signer : {s.request.document.label} n° {s.request.document.number}",
                    f"Formation {s.request.document.session.label}", signing_mails.signing_url(s), "Lire et signer",
                    s.request.deadline)
            for s in signatories]


@awaited_source
def client_survey_awaited(contact: CompanyContact) -> list[Awaited]:
    """The client satisfaction survey sent to the company and not answered yet."""
    invitations = db.session.scalars(select(SurveyInvitation).where(
        SurveyInvitation.kind == "client", SurveyInvitation.company_id == contact.company_id,
        SurveyInvitation.sent_at.is_not(None), SurveyInvitation.responded_at.is_(None))
        .order_by(SurveyInvitation.id))
    return [Awaited("survey", "Répondre à l'enquête de satisfaction",
                    f"Formation {db.session.get(TrainingSession, i.session_id).label}", surveys.survey_url(i),
                    "Répondre")
            for i in invitations]


@awaited_source
def needs_analyses_awaited(contact: CompanyContact) -> list[Awaited]:
    """The needs analyses (evaluations/needs.py) the company has still to answer, due before their session."""
    return [Awaited("needs", "Répondre à l'analyse des besoins", f"Formation {item.session.label}", item.url,
                    "Répondre", item.session.first_date)
            for item in needs.awaited_needs_analyses(contact.company)]


# --------------------------------------------------------------------------- the home page


@dataclass
class SessionCard:
    session: TrainingSession
    enrolments: list[Enrolment]


@dataclass
class Home:
    awaited: list[Awaited]
    upcoming: list[SessionCard]
    past: list[SessionCard]
    invoices: list[InvoiceItem]

    @property
    def remaining(self) -> Decimal:
        return remaining_total(self.invoices)


def home(contact: CompanyContact) -> Home:
    company = contact.company
    by_session: dict[int, list[Enrolment]] = {}
    for enrolment in company_enrolments(company):
        by_session.setdefault(enrolment.session_id, []).append(enrolment)
    cards = [SessionCard(s, by_session.get(s.id, [])) for s in company_sessions(company)]
    today = paris_today()
    upcoming = sorted((c for c in cards if not is_past(c.session, today)),
                      key=lambda c: (c.session.first_date or dt.date.max, c.session.id))
    past = sorted((c for c in cards if is_past(c.session, today)),
                  key=lambda c: (c.session.last_date or dt.date.min, c.session.id), reverse=True)
    return Home(awaited(contact), upcoming, past, company_invoices(company))
