"""Fixtures of the company-space tests (tests/companies/test_company_space.py, tests/e2e/test_company_space_journey.py):
two client companies whose staff took the same DUME session (delivered: signatures, a late arrival, an absence
justified), an upcoming Chorus Pro session, their documents archived with a PDF (tests/signing: fake_pdf), their
invoices issued with a Factur-X PDF, a payment and a credit note, and helpers to open the space as a contact."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from types import SimpleNamespace

import pytest

from trainingmgr.core.timeutil import PARIS, paris_today
from trainingmgr.extensions import db

from tests.documents.conftest import drawing
from tests.enrolments.support import COLOMIERS_SIRET, person
from tests.signing.fixtures import dume_session, fake_pdf, open_session  # noqa: F401 - fixtures
from tests.signing.support import document as pdf_document

__all__ = ["dume_session", "facturx_pdf", "fake_pdf", "open_session", "space_link", "space_world", "at"]


def at(day: dt.date, time: dt.time, minutes: int = 0) -> dt.datetime:
    return (dt.datetime.combine(day, time, tzinfo=PARIS) + dt.timedelta(minutes=minutes)).astimezone(dt.timezone.utc)


def space_link(contact) -> str:
    """The path of the contact's company space (the link made, and committed, if there was none)."""
    from trainingmgr.companies.space import link_token

    token = link_token(contact)
    db.session.commit()
    return f"/entreprise/{token}"


@pytest.fixture
def facturx_pdf(monkeypatch, fake_pdf):  # noqa: F811 - the fixture imported above
    """Invoices get their Factur-X PDF too (a pypdf document in place of LibreOffice's PDF/A-3)."""
    from trainingmgr.documents import pdf

    monkeypatch.setattr(pdf, "unavailable_reason", lambda: None)
    monkeypatch.setattr(pdf, "convert", lambda docx, timeout=60, pdf_a3=False: pdf_document(
        "Document " + hashlib.sha256(docx).hexdigest()[:16]))


def _deliver(session, advisor, trainer_user, late, absent) -> None:
    """Every expected trainee signs every half-day, except ``late`` (marked arrived 30 minutes late on the first
    half-day) and ``absent`` (marked absent on the last one, then justified); the trainer countersigns, the session
    completes."""
    from trainingmgr.attendance import services as attendance
    from trainingmgr.sessions.services import change_status

    change_status(session, "confirmed", advisor)
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    change_status(session, "in_progress", advisor, now=at(slots[0].date, slots[0].start_time))
    for n, slot in enumerate(slots):
        for i, enrolment in enumerate(attendance.expected_enrolments(session)):
            if enrolment.id == absent.id and slot is slots[-1]:
                attendance.mark_presence(slot, enrolment, {"presence": "absent"}, trainer_user,
                                         now=at(slot.date, slot.start_time, 20))
                continue
            attendance.sign(slot, enrolment, method="link", drawing=drawing(n * 10 + i),
                            now=at(slot.date, slot.start_time, 35 if enrolment.id == late.id and n == 0 else 2),
                            ip="192.0.2.1", user_agent="test")
        if n == 0:
            arrived = at(slot.date, slot.start_time, 30).astimezone(PARIS).strftime("%H:%M")
            attendance.mark_presence(slot, late, {"presence": "present", "arrived_at": arrived}, trainer_user,
                                     now=at(slot.date, slot.start_time, 40))
        attendance.countersign(slot, trainer_user, typed_name=session.trainers[0].full_name,
                               now=at(slot.date, slot.end_time, 1))
    attendance.justify(slots[-1], absent, {"reason": "Arrêt maladie (certificat reçu)"}, advisor,
                       now=at(slots[-1].date, slots[-1].end_time, 30))
    change_status(session, "completed", advisor, now=at(slots[-1].date, slots[-1].end_time, 2))


def _issue(session, advisor):
    from trainingmgr.billing.invoices import issue_invoice, propose_invoices

    drafts = sorted(propose_invoices(session, advisor).created, key=lambda i: i.id)
    for draft in drafts:  # a trainee has no postal address on file: the advisor types it on the draft
        if not draft.buyer_address:
            draft.buyer_address, draft.buyer_postal_code, draft.buyer_city = "5 allée des Demoiselles", "31400", "Toulouse"
    return [issue_invoice(draft, advisor) for draft in drafts]


@pytest.fixture
def space_world(world, open_session, facturx_pdf):  # noqa: F811 - fixtures imported above
    """Company A (world.company: Anne its signatory, Hugo its HR contact, Alice and Bruno its staff) and company B
    (Béatrice its HR contact, Bernard its staff) in a delivered DUME session with a self-paying trainee; Alice and
    Bernard in an upcoming Chorus Pro session; A's quote issued twice (version 1 replaced), each company's
    convention, the convocations, attestations and certificates; an invoice to each company (A's partly paid, B's
    partly credited) and one to the self-paying trainee; a draft invoice to A left unissued."""
    from trainingmgr.billing import payments
    from trainingmgr.billing.invoices import credit_invoice
    from trainingmgr.billing.models import Invoice
    from trainingmgr.companies.services import save_company, save_contact
    from trainingmgr.documents import services as documents
    from trainingmgr.enrolments.services import enrol, save_funding_line
    from trainingmgr.trainees.services import save_trainee

    advisor, trainer_user = world.users["advisor"], world.users["trainer"]
    a = world.company
    a.address, a.postal_code, a.city = "8 quai de la Daurade", "31000", "Toulouse"
    b = save_company(None, {"name": "Bureau d'études Colomiers", "siret": COLOMIERS_SIRET, "address": "1 place",
                            "postal_code": "31770", "city": "Colomiers"})
    db.session.flush()
    anne = save_contact(a, None, {"role": "signatory", "name": "Anne Dupont", "job_title": "Gérante",
                                  "email": "anne@dupont.example"})
    hugo = save_contact(a, None, {"role": "hr", "name": "Hugo Martin", "email": "hugo@dupont.example"})
    bea = save_contact(b, None, {"role": "hr", "name": "Béatrice Colomiers", "email": "rh@colomiers.example"})
    past = open_session(course=world.dume)
    upcoming = open_session()  # Chorus Pro, the week after: a prerequisite to confirm

    def staff(n: int, first: str, last: str, company):
        trainee = save_trainee(None, person(n, first_name=first, last_name=last,
                                            company_id=company.id if company else None))
        db.session.flush()
        enrolment = enrol(past, trainee, actor=advisor, notify=False)
        kind = "company" if company else "individual"
        save_funding_line(enrolment, None, {"kind": kind, "amount": str(enrolment.price_incl_vat)}, advisor)
        if company is None:
            enrolment.contract_signed_on = dt.date(2026, 1, 2)
        return enrolment

    alice, bruno = staff(1, "Alice", "Arnaud", a), staff(2, "Bruno", "Bernardin", a)
    bernard, solo = staff(3, "Bernard", "Colin", b), staff(4, "Sophie", "Seule", None)
    later_alice = enrol(upcoming, alice.trainee, actor=advisor, notify=False)
    later_bernard = enrol(upcoming, bernard.trainee, actor=advisor, notify=False)
    db.session.commit()
    _deliver(past, advisor, trainer_user, late=bruno, absent=bruno)
    db.session.commit()

    quote_v1 = documents.generate("quote", past, advisor, company=a)
    quote = documents.generate("quote", past, advisor, company=a, reason="Remise accordée")
    made = {"quote_v1": quote_v1, "quote": quote,
            "convention_a": documents.generate("convention", past, advisor, company=a),
            "convention_b": documents.generate("convention", past, advisor, company=b),
            "quote_b": documents.generate("quote", past, advisor, company=b)}
    for name, enrolment in (("alice", alice), ("bruno", bruno), ("bernard", bernard), ("solo", solo)):
        for doc_type in ("convocation", "attestation", "certificate"):
            made[f"{doc_type}_{name}"] = documents.generate(doc_type, past, advisor, enrolment=enrolment)
    made["contract_solo"] = documents.generate("contract", past, advisor, enrolment=solo)
    made["programme"] = documents.generate("programme", past, advisor)
    db.session.commit()

    invoices = {i.payer_company_id or "solo": i for i in _issue(past, advisor)}
    invoice_a, invoice_b = invoices[a.id], invoices[b.id]
    payments.record_payment(invoice_a, {"paid_on": paris_today(), "amount": "200.00", "method": "transfer",
                                        "reference": "VIR 1"}, advisor, today=paris_today())
    credit_b = credit_invoice(invoice_b, advisor, amount="100.00", reason="Geste commercial")
    draft_a = Invoice(kind="invoice", status="draft", payer_kind="company", payer_company_id=a.id,
                      session_id=past.id, buyer_name=a.name, total_incl_vat=Decimal("50.00"))
    db.session.add(draft_a)
    db.session.commit()
    return SimpleNamespace(world=world, advisor=advisor, a=a, b=b, anne=anne, hugo=hugo, bea=bea, past=past,
                           upcoming=upcoming, alice=alice, bruno=bruno, bernard=bernard, solo=solo,
                           later_alice=later_alice, later_bernard=later_bernard, docs=made, invoice_a=invoice_a,
                           invoice_b=invoice_b, credit_b=credit_b, invoice_solo=invoices["solo"], draft_a=draft_a)
