"""What the checklist items read, loaded for many sessions at once in a fixed number of queries."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ...attendance.services import RemoteEvidence, remote_evidence, session_records
from ...billing.invoices.amounts import current_vat_rate
from ...billing.invoices.planning import issued_invoices_by_session
from ...companies.models import Company
from ...documents.models import GeneratedDocument
from ...enrolments.models import AGREEMENT_KINDS, EXPECTED, Enrolment, FundingKind, FundingLine
from ...evaluations.models import Questionnaire, Response, SurveyInvitation
from ...extensions import db
from ...messaging.models import MessageStatus, OutboxAttachment, OutboxMessage
from ...sessions.models import TrainingSession
from ...signing.services import completed_documents
from ...trainees.models import Trainee
from ..models import ChecklistTick



@dataclass
class Evidence:
    enrolments: dict[int, list] = field(default_factory=dict)
    opco_lines: dict[int, list] = field(default_factory=dict)
    positioned: set[int] = field(default_factory=set)  # enrolment ids with a submitted positioning response
    documents: dict[tuple[int, str], dict[int, dt.datetime]] = field(default_factory=dict)
    signed: dict[tuple[int, str], dict[int, dt.datetime]] = field(default_factory=dict)  # signed by everyone
    invitations: dict[tuple[int, str], dict[int, dt.datetime | None]] = field(default_factory=dict)
    records: dict[int, list] = field(default_factory=dict)
    ticks: dict[int, dict[str, ChecklistTick]] = field(default_factory=dict)
    invoices: dict[int, list] = field(default_factory=dict)  # issued invoices not fully credited, of ended sessions
    vat_rate: Decimal = Decimal("0.00")
    # the distance half-days' reports and quizzes (attendance.services.remote_evidence), for every grid built here
    remote: RemoteEvidence = field(default_factory=RemoteEvidence)


def session_options():
    """What the checklist (and the dashboard's list) reads of a session: its slots, course and version, its client
    company (an intra session's invoice)."""
    return (selectinload(TrainingSession.slots), selectinload(TrainingSession.course),
            selectinload(TrainingSession.course_version),
            selectinload(TrainingSession.client_company).selectinload(Company.contacts))


def load_evidence(sessions: list[TrainingSession]) -> Evidence:
    """Everything the items read, for all the sessions at once: one query (or two) per kind of evidence."""
    ids = [session.id for session in sessions]
    found = Evidence()
    expected = (select(Enrolment.id).where(Enrolment.session_id.in_(ids), Enrolment.status.in_(EXPECTED))
                .scalar_subquery())
    _load_enrolments(found, ids)
    _load_funding_lines(found, expected)
    _load_positioned(found, expected)
    _load_sent_documents(found, ids)
    _load_signed_documents(found, ids)
    _load_invitations(found, ids)
    _load_records(found, sessions)
    found.remote = remote_evidence(sessions)  # no query when no session has a distance half-day
    _load_ticks(found, ids)
    _load_invoices(found, sessions)
    return found


def _load_enrolments(found: Evidence, ids: list[int]) -> None:
    """The expected enrolments, with what the invoice rule reads (billing.invoices.uninvoiced)."""
    for enrolment in db.session.scalars(
            select(Enrolment).where(Enrolment.session_id.in_(ids), Enrolment.status.in_(EXPECTED))
            .options(joinedload(Enrolment.trainee).selectinload(Trainee.company).selectinload(Company.contacts),
                     selectinload(Enrolment.company).selectinload(Company.contacts),
                     selectinload(Enrolment.funding_lines).selectinload(FundingLine.payer_company)
                     .selectinload(Company.contacts))
            .order_by(Enrolment.id)):
        found.enrolments.setdefault(enrolment.session_id, []).append(enrolment)


def _load_funding_lines(found: Evidence, expected) -> None:
    """The (status, agreement date) of each funder's line awaiting an agreement."""
    for session_id, line_status, agreed_on in db.session.execute(
            select(Enrolment.session_id, FundingLine.opco_status, FundingLine.agreed_on)
            .join(Enrolment, Enrolment.id == FundingLine.enrolment_id)
            .where(FundingLine.enrolment_id.in_(expected), FundingLine.kind.in_(AGREEMENT_KINDS),
                   # decision: a fund of the self-employed that refunds the trainee is the trainee's affair
                   or_(FundingLine.kind != FundingKind.SELF_EMPLOYED_FUND.value, FundingLine.subrogation))):
        found.opco_lines.setdefault(session_id, []).append((line_status, agreed_on))


def _load_positioned(found: Evidence, expected) -> None:
    """The enrolments with a submitted positioning questionnaire."""
    found.positioned = set(db.session.scalars(
        select(Response.enrolment_id).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.enrolment_id.in_(expected), Questionnaire.kind == "positioning",
               Response.submitted)))


def _load_sent_documents(found: Evidence, ids: list[int]) -> None:
    """A document counts as sent when an outbox message that left carries its archived DOCX."""
    for session_id, doc_type, company_id, enrolment_id, sent_at in db.session.execute(
            select(GeneratedDocument.session_id, GeneratedDocument.doc_type, GeneratedDocument.company_id,
                   GeneratedDocument.enrolment_id, func.max(OutboxMessage.sent_at))
            .join(OutboxAttachment, OutboxAttachment.filename == GeneratedDocument.number + ".docx")
            .join(OutboxMessage, OutboxMessage.id == OutboxAttachment.message_id)
            .where(GeneratedDocument.session_id.in_(ids),
                   GeneratedDocument.doc_type.in_(("convention", "contract", "certificate")),
                   OutboxMessage.topic == literal("document_") + GeneratedDocument.doc_type,
                   OutboxMessage.status == MessageStatus.SENT.value)
            .group_by(GeneratedDocument.session_id, GeneratedDocument.doc_type, GeneratedDocument.company_id,
                      GeneratedDocument.enrolment_id)):
        target = company_id if doc_type == "convention" else enrolment_id
        if target is not None:
            sent = found.documents.setdefault((session_id, doc_type), {})
            sent[target] = max(sent_at, sent[target]) if target in sent else sent_at


def _load_signed_documents(found: Evidence, ids: list[int]) -> None:
    """The conventions and contracts signed by all their signatories (signing/)."""
    for session_id, doc_type, company_id, enrolment_id, signed_at in completed_documents(ids):
        target = company_id if doc_type == "convention" else enrolment_id
        if doc_type in ("convention", "contract") and target is not None:
            signed = found.signed.setdefault((session_id, doc_type), {})
            signed[target] = max(signed_at, signed[target]) if target in signed else signed_at


def _load_invitations(found: Evidence, ids: list[int]) -> None:
    """When each trainee was sent (or answered) the hot and cold surveys."""
    for session_id, kind, enrolment_id, sent_at, responded_at in db.session.execute(
            select(SurveyInvitation.session_id, SurveyInvitation.kind, SurveyInvitation.enrolment_id,
                   SurveyInvitation.sent_at, SurveyInvitation.responded_at)
            .where(SurveyInvitation.session_id.in_(ids), SurveyInvitation.kind.in_(("hot", "cold")),
                   SurveyInvitation.enrolment_id.is_not(None))):
        if sent_at is not None or responded_at is not None:
            found.invitations.setdefault((session_id, kind), {})[enrolment_id] = sent_at or responded_at


def _load_records(found: Evidence, sessions: list[TrainingSession]) -> None:
    """The attendance records of the sessions that have a register."""
    with_register = [s.id for s in sessions if s.is_held]
    for record in session_records(with_register):
        found.records.setdefault(record.session_id, []).append(record)


def _load_ticks(found: Evidence, ids: list[int]) -> None:
    """The manual ticks, with their author."""
    for tick in db.session.scalars(select(ChecklistTick).where(ChecklistTick.session_id.in_(ids))
                                   .options(joinedload(ChecklistTick.author))):
        found.ticks.setdefault(tick.session_id, {})[tick.item] = tick


def _load_invoices(found: Evidence, sessions: list[TrainingSession]) -> None:
    """The issued invoices not fully credited of the ended sessions, and the current VAT rate."""
    ended = [s.id for s in sessions if s.has_ended]
    if ended:  # invoices are issued once the session has ended
        found.invoices = issued_invoices_by_session(ended)
        found.vat_rate = current_vat_rate()
