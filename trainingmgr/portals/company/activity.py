"""What a client company did with the organisation, for its page in the back office: its trainees (with their last
session), its sessions to come and past (with the number of its employees in each) and its invoices. A fixed number
of SQL statements whatever the company's history.

- Its trainees: those whose record names the company, and those it enrolled (a trainee who changed employer since
  is still listed, with their last session whatever the employer).
- Its sessions: those where it enrolled someone (a cancelled or waiting enrolment aside) and the intra sessions it
  ordered; "its employees" counts its enrolments that hold a seat.
- Its invoices: the issued invoices and credit notes it pays, and those an OPCO pays for its employees.

It is shown on the company's back-office page (companies/views.py), which asks companies.services.company_activity.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ...billing.models import Invoice, InvoiceStatus
from ...core.timeutil import paris_today
from ...enrolments.models import SEAT_HOLDING, Enrolment
from ...extensions import db
from ...sessions.models import TrainingSession
from ...trainees.models import Trainee
from ...companies import services as company_services
from ...companies.models import Company
from .space import is_past

MAX_INVOICES = 50  # the newest ones; the billing list has the others


@dataclass
class TraineeRow:
    trainee: Trainee
    last: Enrolment | None = None  # the enrolment of their latest session


@dataclass
class SessionRow:
    session: TrainingSession
    employees: int


@dataclass
class Activity:
    trainees: list[TraineeRow] = field(default_factory=list)
    upcoming: list[SessionRow] = field(default_factory=list)
    past: list[SessionRow] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)


def _session_options():
    return (selectinload(TrainingSession.slots), selectinload(TrainingSession.course_version))


def _trainees(company: Company) -> list[TraineeRow]:
    enrolled = select(Enrolment.trainee_id).where(Enrolment.company_id == company.id)
    trainees = list(db.session.scalars(
        select(Trainee).where(or_(Trainee.company_id == company.id, Trainee.id.in_(enrolled)))
        .order_by(Trainee.last_name, Trainee.first_name, Trainee.id)))
    rows = {trainee.id: TraineeRow(trainee) for trainee in trainees}
    if not rows:
        return []
    for enrolment in db.session.scalars(
            select(Enrolment).where(Enrolment.trainee_id.in_(list(rows)), Enrolment.status.in_(SEAT_HOLDING))
            .options(selectinload(Enrolment.session).options(*_session_options()))):
        row = rows[enrolment.trainee_id]
        if row.last is None or _start(enrolment.session) > _start(row.last.session):
            row.last = enrolment
    return list(rows.values())


def _start(session: TrainingSession) -> dt.date:
    return session.first_date or dt.date.min


def _sessions(company: Company, today: dt.date) -> tuple[list[SessionRow], list[SessionRow]]:
    counts = dict(db.session.execute(
        select(Enrolment.session_id, func.count()).where(Enrolment.company_id == company.id,
                                                         Enrolment.status.in_(SEAT_HOLDING))
        .group_by(Enrolment.session_id)).all())
    enrolled = select(Enrolment.session_id).where(Enrolment.company_id == company.id,
                                                  Enrolment.status.in_(SEAT_HOLDING))
    sessions = db.session.scalars(
        select(TrainingSession).where(or_(TrainingSession.id.in_(enrolled),
                                          TrainingSession.client_company_id == company.id))
        .options(*_session_options()))
    upcoming, past = [], []
    for session in sessions:
        (past if is_past(session, today) else upcoming).append(SessionRow(session, counts.get(session.id, 0)))
    upcoming.sort(key=lambda row: (_start(row.session), row.session.id))
    past.sort(key=lambda row: (_start(row.session), row.session.id), reverse=True)
    return upcoming, past


def _invoices(company: Company) -> list[Invoice]:
    return list(db.session.scalars(
        select(Invoice).where(or_(Invoice.payer_company_id == company.id,
                                  Invoice.beneficiary_company_id == company.id),
                              Invoice.status != InvoiceStatus.DRAFT.value)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(MAX_INVOICES)))


def company_activity(company: Company, today: dt.date | None = None) -> Activity:
    """The company's trainees, sessions (to come, soonest first; past, latest first) and invoices."""
    upcoming, past = _sessions(company, today or paris_today())
    return Activity(trainees=_trainees(company), upcoming=upcoming, past=past, invoices=_invoices(company))


company_services.register_activity(company_activity)
