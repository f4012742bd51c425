"""Small factories for the dashboard's figures: rows made directly (the figures only count them), and a bulk
history of past sessions for the SQL statement counts."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from sqlalchemy import insert, select

from trainingmgr.billing.models import Invoice, Payment
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.evaluations.models import Answer, Question, Questionnaire, Response
from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession
from trainingmgr.trainees.models import Trainee

_numbers = itertools.count(1)


def seat(session, status: str = "confirmed", n: int | None = None) -> Enrolment:
    """An enrolment of a new trainee in ``session`` with ``status``."""
    n = next(_numbers) if n is None else n
    trainee = Trainee(first_name=f"Prénom{n}", last_name=f"Nom{n}", email=f"figure{n}@exemple.fr")
    enrolment = Enrolment(session=session, trainee=trainee, status=status)
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def seats(session, *statuses: str) -> list[Enrolment]:
    return [seat(session, status) for status in statuses]


def piece(kind: str, issue_date: dt.date, excl_vat: str, *, status: str = "issued", due: dt.date | None = None,
          credited: Invoice | None = None) -> Invoice:
    """An invoice or credit note, issued on ``issue_date`` (VAT 20 %)."""
    n = next(_numbers)
    net = Decimal(excl_vat)
    vat = (net * Decimal("0.2")).quantize(Decimal("0.01"))
    invoice = Invoice(kind=kind, status=status, payer_kind="company", buyer_name=f"Client {n}",
                      number=f"{'F' if kind == 'invoice' else 'A'}T{n:05d}" if status == "issued" else None,
                      year=issue_date.year if status == "issued" else None,
                      issue_date=issue_date if status == "issued" else None, due_date=due,
                      total_excl_vat=net, total_vat=vat, total_incl_vat=net + vat,
                      credited_invoice_id=credited.id if credited is not None else None)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def payment(invoice: Invoice, paid_on: dt.date, amount: str, *, cancelled: bool = False) -> Payment:
    made = Payment(invoice_id=invoice.id, paid_on=paid_on, amount=Decimal(amount),
                   cancelled_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc) if cancelled else None)
    db.session.add(made)
    db.session.flush()
    return made


def survey(kind: str) -> tuple[Questionnaire, list[Question]]:
    """A questionnaire of ``kind`` with two scale questions and a yes/no question."""
    questionnaire = Questionnaire(kind=kind, title=f"Enquête {kind}")
    questionnaire.questions = [Question(position=1, kind="scale", text="Note 1"),
                               Question(position=2, kind="scale", text="Note 2"),
                               Question(position=3, kind="yes_no", text="Recommanderiez-vous ?")]
    db.session.add(questionnaire)
    db.session.flush()
    return questionnaire, list(questionnaire.questions)


def answer(questionnaire: Questionnaire, enrolment: Enrolment, values: list, *, submitted: bool = True) -> Response:
    """``enrolment``'s response to ``questionnaire``: ``values`` in the order of its questions."""
    response = Response(questionnaire_id=questionnaire.id, enrolment_id=enrolment.id, session_id=enrolment.session_id,
                        status="submitted" if submitted else "draft",
                        submitted_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc) if submitted else None)
    response.answers = [Answer(question_id=q.id, value=v)
                        for q, v in zip(questionnaire.questions, values) if v is not None]
    db.session.add(response)
    db.session.flush()
    return response


def add_history(today: dt.date, count: int, offset: int) -> None:
    """``count`` past sessions (ended from a month to ten years ago) of the first course, each with two half-days,
    five enrolments (three completed, one abandoned, one cancelled), an invoice and its payment, every fourth a
    credit note, and the hot and cold surveys answered (Core inserts: thousands of rows in a second).
    ``offset`` keeps the e-mails of two calls apart."""
    from trainingmgr.catalogue.models import Course

    course = db.session.scalar(select(Course).order_by(Course.id).limit(1))
    surveys = {kind: db.session.scalar(select(Questionnaire).where(Questionnaire.kind == kind)
                                       .order_by(Questionnaire.id).limit(1)) for kind in ("hot", "cold")}
    scales = {kind: list(db.session.scalars(select(Question.id).where(Question.questionnaire_id == q.id,
                                                                     Question.kind == "scale")))
              for kind, q in surveys.items() if q is not None}
    for i in range(count):
        start = today - dt.timedelta(days=30 + (i * 3653) // max(count, 1))
        session_id = db.session.execute(insert(TrainingSession).values(
            course_id=course.id, course_version_id=course.current_version_id, capacity=8, min_trainees=2,
            price_per_trainee=Decimal("500.00"), status="closed")).inserted_primary_key[0]
        db.session.execute(insert(Slot), [
            {"session_id": session_id, "date": start, "start_time": dt.time(9), "end_time": dt.time(12, 30)},
            {"session_id": session_id, "date": start, "start_time": dt.time(13, 30), "end_time": dt.time(17)}])
        for k, status in enumerate(("completed", "completed", "completed", "abandoned", "cancelled")):
            trainee_id = db.session.execute(insert(Trainee).values(
                first_name=f"Histo{k}", last_name=f"Rique{i}", email=f"h{offset}-{i}-{k}@historique.example",
            )).inserted_primary_key[0]
            enrolment_id = db.session.execute(insert(Enrolment).values(
                session_id=session_id, trainee_id=trainee_id, status=status,
                price_excl_vat=Decimal("500.00"))).inserted_primary_key[0]
            for kind, question_ids in scales.items():
                if status != "completed":
                    continue
                response_id = db.session.execute(insert(Response).values(
                    questionnaire_id=surveys[kind].id, enrolment_id=enrolment_id, session_id=session_id,
                    status="submitted")).inserted_primary_key[0]
                db.session.execute(insert(Answer), [{"response_id": response_id, "question_id": q, "value": 4}
                                                    for q in question_ids])
        issued = start + dt.timedelta(days=3)
        invoice_id = db.session.execute(insert(Invoice).values(
            kind="invoice", status="issued", number=f"H{offset}-{i:05d}", year=issued.year, issue_date=issued,
            due_date=issued + dt.timedelta(days=30), session_id=session_id, payer_kind="company",
            buyer_name="Client historique", total_excl_vat=Decimal("2000.00"), total_vat=Decimal("0.00"),
            total_incl_vat=Decimal("2000.00"))).inserted_primary_key[0]
        db.session.execute(insert(Payment).values(invoice_id=invoice_id, paid_on=issued + dt.timedelta(days=20),
                                                  amount=Decimal("2000.00")))
        if i % 4 == 0:
            db.session.execute(insert(Invoice).values(
                kind="credit_note", status="issued", number=f"HA{offset}-{i:05d}", year=issued.year,
                issue_date=issued, session_id=session_id, payer_kind="company", buyer_name="Client historique",
                credited_invoice_id=invoice_id, total_excl_vat=Decimal("500.00"), total_vat=Decimal("0.00"),
                total_incl_vat=Decimal("500.00")))
    db.session.commit()


def add_upcoming(today: dt.date, count: int, offset: int) -> None:
    """``count`` open sessions to come (from 3 days to about four months ahead: some at risk, most within the seats'
    90 days), each with a half-day and three enrolments (confirmed, awaiting the prerequisite decision, an online
    request), and as many unpaid invoices past their due date (Core inserts)."""
    from trainingmgr.catalogue.models import Course

    course = db.session.scalar(select(Course).order_by(Course.id).limit(1))
    for i in range(count):
        start = today + dt.timedelta(days=3 + (i * 120) // max(count, 1))
        session_id = db.session.execute(insert(TrainingSession).values(
            course_id=course.id, course_version_id=course.current_version_id, capacity=8, min_trainees=4,
            price_per_trainee=Decimal("500.00"), status="open")).inserted_primary_key[0]
        db.session.execute(insert(Slot).values(session_id=session_id, date=start, start_time=dt.time(9),
                                               end_time=dt.time(12, 30)))
        for k, status in enumerate(("confirmed", "pending_prerequisite", "requested")):
            trainee_id = db.session.execute(insert(Trainee).values(
                first_name=f"Futur{k}", last_name=f"Stagiaire{i}", email=f"u{offset}-{i}-{k}@avenir.example",
            )).inserted_primary_key[0]
            db.session.execute(insert(Enrolment).values(session_id=session_id, trainee_id=trainee_id, status=status,
                                                        price_excl_vat=Decimal("500.00")))
        issued = today - dt.timedelta(days=60 + i)
        db.session.execute(insert(Invoice).values(
            kind="invoice", status="issued", number=f"U{offset}-{i:05d}", year=issued.year, issue_date=issued,
            due_date=issued + dt.timedelta(days=30), payer_kind="company", buyer_name="Client en retard",
            total_excl_vat=Decimal("100.00"), total_vat=Decimal("20.00"), total_incl_vat=Decimal("120.00")))
    db.session.commit()
