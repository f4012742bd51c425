"""The demo's quotes (demo/quotes.py), made through the quote services: one accepted online that became enrolments
in the upcoming DUME session, one sent and awaiting an answer in the upcoming Chorus Pro session, an intra request
in draft from the catalogue. Loaded once; left out with the paperwork."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from trainingmgr.core.timeutil import paris_today
from trainingmgr.demo.quotes import ACCEPTED, AWAITING, AWAITING_VALID_DAYS, INTRA_REQUEST
from trainingmgr.demo.services import load_demo
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.quotes.models import Quote
from trainingmgr.quotes.pipeline import pipeline


def quotes_by_company() -> dict[str, Quote]:
    return {q.company.name: q for q in db.session.scalars(select(Quote).order_by(Quote.id))}


def test_the_accepted_quote_became_enrolments_at_its_price(full_demo):
    quote = quotes_by_company()[ACCEPTED["company"]["name"]]
    assert (quote.status, quote.kind, quote.acceptance_mode, quote.accepted_by_name) == (
        "accepted", "seats", "online", ACCEPTED["contact_name"])
    assert quote.session.course.slug == "marches-publics-dume-et-chorus-pro" and quote.session.status == "open"
    assert quote.acceptance_evidence["document_sha256"] == quote.document_sha256
    assert quote.acceptance_evidence["ip"] == "192.0.2.41"
    enrolments = [t.enrolment for t in quote.trainees]
    assert [(e.trainee.full_name, e.status, e.price_excl_vat, e.source) for e in enrolments] == [
        ("Margaux Delmas", "confirmed", Decimal("600.00"), "quote"),
        ("Bastien Roques", "confirmed", Decimal("600.00"), "quote")]
    assert {e.company_id for e in enrolments} == {quote.company_id}
    assert [(line.kind, line.opco_name, line.opco_status) for e in enrolments for line in e.funding_lines] == [
        ("opco", "OPCO EP", "to_request")] * 2
    (convention,) = db.session.scalars(select(GeneratedDocument).where(
        GeneratedDocument.doc_type == "convention", GeneratedDocument.session_id == quote.session_id,
        GeneratedDocument.company_id == quote.company_id)).all()
    assert convention.docx_file_id
    assert [(line.kind, line.total) for line in quote.lines] == [("seats", Decimal("1200.00")),
                                                                 ("extra", Decimal("36.00"))]
    assert quote.total_excl_vat == Decimal("1236.00") and quote.vat_rate == 0  # the demo organisation is VAT exempt


def test_a_quote_awaits_its_answer_and_expires_this_week(full_demo):
    quote = quotes_by_company()[AWAITING["company"]["name"]]
    assert (quote.status, quote.seats, quote.session.course.slug) == ("sent", 3, "chorus-pro")
    assert quote.valid_until == paris_today() + dt.timedelta(days=AWAITING_VALID_DAYS)
    assert quote.link_nonce and quote.docx_file_id and quote.trainees == []
    sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "quote_sent",
                                                          OutboxMessage.recipient == quote.contact_email)).all()
    assert len(sent) == 1
    assert [q.id for q in pipeline(paris_today()).expiring_this_week] == [quote.id]
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.company_id == quote.company_id)) == 0


def test_an_intra_request_waits_in_draft(full_demo):
    quote = quotes_by_company()[INTRA_REQUEST["company"]["name"]]
    assert (quote.status, quote.kind, quote.source, quote.headcount) == ("draft", "intra", "public", 6)
    assert quote.course.slug == "chorus-pro" and quote.session_id is None and quote.wished_period
    assert quote.total_excl_vat == 0  # priced by the advisor before sending


def test_numbers_are_the_years_first_three(full_demo):
    year = paris_today().year
    assert [q.number for q in db.session.scalars(select(Quote).order_by(Quote.id))] == [
        f"DEV-{year}-000{n}" for n in (1, 2, 3)]


def test_loaded_once(full_demo):
    assert load_demo() == []
    assert db.session.scalar(select(func.count(Quote.id))) == 3


def test_left_out_with_the_paperwork(app):
    done = load_demo(invoices=False, chorus_cycle=False, paperwork=False)
    assert not any("devis" in line.lower() for line in done)
    assert db.session.scalar(select(func.count(Quote.id))) == 0
