"""Payments, balances, overdue invoices and reminders (trainingmgr/billing/payments.py, payment_views.py).

Invoices are created directly as rows (status "issued", number, totals, a line), so that these tests do not
depend on the issue service. "Today" is frozen by replacing the names imported in the payments modules."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from trainingmgr.billing.models import Invoice, Payment
from trainingmgr.billing.payments import services as payments
from trainingmgr.billing.payments.views import panel_context
from trainingmgr.companies.models import CompanyContact
from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.core.formatting import money_fr
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

from tests.fixtures.billing import TODAY, Today, at, flat, make_invoice, pay
from tests.helpers import page

def _docx(text: str) -> bytes:
    """A small zip standing for a Word file (stored files must be real packages: files/safety.py)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", f"<?xml version='1.0'?><w:document><w:t>{text}</w:t></w:document>")
    return buffer.getvalue()


DOCX_BYTES = _docx("facture de test")


@pytest.fixture
def today(app, monkeypatch):
    return Today(monkeypatch)


class Worker:
    """A pass of the worker's automation rules at ``day``, ``hour`` o'clock in Paris (committed): the number of
    messages queued. The invoice rules read that moment."""

    def __init__(self, monkeypatch):
        self.now = at(TODAY)
        monkeypatch.setattr("trainingmgr.automations.triggers.billing.utcnow", lambda: self.now)

    def __call__(self, day: dt.date, hour: int = 10) -> int:
        from trainingmgr.automations import engine

        self.now = at(day, hour)
        count = engine.fire_due(self.now)
        db.session.commit()
        return count


@pytest.fixture
def worker(app, monkeypatch):
    return Worker(monkeypatch)


def payment_count(invoice_id=None) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(Payment)
    if invoice_id is not None:
        query = query.where(Payment.invoice_id == invoice_id)
    return db.session.scalar(query)


def form(**overrides) -> dict:
    data = {"paid_on": TODAY.isoformat(), "amount": "200,00", "method": "transfer", "reference": "VIR 42"}
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- balances and statuses


def test_partial_then_full_payment(world, today):
    invoice = make_invoice(world)
    assert payments.payment_status(invoice) == "unpaid"
    pay(invoice, "200")
    detail = payments.balance_of(invoice)
    assert (detail.paid, detail.balance, detail.status) == (Decimal("200.00"), Decimal("400.00"), "partial")
    pay(invoice, "399,99")
    assert payments.balances([invoice]) == {invoice.id: Decimal("0.01")}
    pay(invoice, "0.01")
    assert payments.payment_status(invoice) == "paid"
    assert payments.balances([invoice]) == {invoice.id: Decimal("0.00")}
    with pytest.raises(ConflictError, match="soldée"):
        pay(invoice, "1")
    assert payment_count(invoice.id) == 3


def test_balances_of_a_list_in_two_queries(world, today, count_queries):
    invoices = [make_invoice(world) for _ in range(5)]
    pay(invoices[0], "100")
    make_invoice(world, kind="credit_note", total="50.00", credited=invoices[1])
    draft = make_invoice(world, status="draft")
    note = make_invoice(world, kind="credit_note", total="10.00", credited=invoices[2])
    db.session.expire_all()
    listed = list(db.session.scalars(select(Invoice).order_by(Invoice.id)))
    with count_queries() as counter:
        result = payments.balances(listed)
    assert counter.count == 2
    assert result[invoices[0].id] == Decimal("500.00")
    assert result[invoices[1].id] == Decimal("550.00")
    assert result[invoices[3].id] == Decimal("600.00")
    assert result[draft.id] == Decimal("600.00")  # nothing can be paid yet: its whole total
    assert result[note.id] == Decimal("0.00")
    statuses = payments.payment_statuses(listed)
    assert statuses[invoices[0].id] == "partial" and statuses[invoices[3].id] == "unpaid"
    assert statuses[draft.id] is None and statuses[note.id] is None


def test_credit_notes_reduce_the_balance(world, today):
    invoice = make_invoice(world)
    make_invoice(world, kind="credit_note", total="100.00", credited=invoice)
    make_invoice(world, kind="credit_note", status="draft", total="300.00", credited=invoice)  # not issued: ignored
    detail = payments.balance_of(invoice)
    assert (detail.credited, detail.balance, detail.status) == (Decimal("100.00"), Decimal("500.00"), "unpaid")
    with pytest.raises(ValidationError) as refused:
        pay(invoice, "550")
    assert refused.value.fields["amount"] == [
        f"Le montant ({money_fr(Decimal('550'))}) est supérieur au solde restant dû ({money_fr(Decimal('500'))})."]
    pay(invoice, "500")
    assert payments.payment_status(invoice) == "paid"


def test_a_fully_credited_invoice_takes_no_payment(world, today):
    invoice = make_invoice(world)
    pay(invoice, "100")
    make_invoice(world, kind="credit_note", total="600.00", credited=invoice)
    detail = payments.balance_of(invoice)
    assert detail.status == "credited"
    assert detail.balance == Decimal("-100.00") and detail.overpaid == Decimal("100.00")  # a refund is owed
    with pytest.raises(ConflictError):
        pay(invoice, "1")


# --------------------------------------------------------------------------- recording through the panel


def test_advisor_records_a_payment_from_the_panel(advisor, world, today):
    invoice = make_invoice(world)
    response = advisor.post(f"/billing/{invoice.id}/payments",
                            data=form(amount="150,50", method="cheque", reference="Chèque n° 1234567"))
    assert response.status_code == 302
    payment = db.session.scalar(select(Payment))
    assert (payment.amount, payment.method, payment.paid_on) == (Decimal("150.50"), "cheque", TODAY)
    assert payment.reference == "Chèque n° 1234567"
    assert payment.created_by.email == "conseil@test.example"
    # Back to the page the panel was on.
    response = advisor.post(f"/billing/{invoice.id}/payments", data=form(amount="10", next="/billing/overdue"))
    assert response.status_code == 302 and response.location.endswith("/billing/overdue")
    # The panel itself (as the invoice page includes it).
    from flask import render_template

    with app_request(advisor):
        html = render_template("billing/_payments.html", **panel_context(db.session.get(Invoice, invoice.id)))
    assert "Partiellement réglée" in html and "Chèque n° 1234567" in html
    assert money_fr(Decimal("439.50")) in html  # what remains, also pre-filled in the form
    assert 'name="csrf_token"' in html


class app_request:  # noqa: N801 - reads like a context manager
    """A request context in which the panel renders (csrf_token(), url_for, request.path)."""

    def __init__(self, client):
        self.ctx = client.application.test_request_context("/billing/1")

    def __enter__(self):
        self.ctx.push()

    def __exit__(self, *exc):
        self.ctx.pop()


@pytest.mark.parametrize("data, field, message", [
    ({"amount": "0"}, "amount", "Le montant doit être supérieur à 0 €."),
    ({"amount": "-50"}, "amount", "Le montant doit être supérieur à 0 €."),
    ({"amount": "10,005"}, "amount", "Le montant : deux décimales au plus."),
    ({"amount": "600,01"}, "amount", "supérieur au solde restant dû (600,00\xa0€)"),
    ({"amount": "beaucoup"}, "amount", "Saisissez un nombre, par exemple 600 ou 1 234,56."),
    ({"amount": ""}, "amount", "Le montant est obligatoire."),
    ({"paid_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "paid_on", "ne peut pas être dans le futur"),
    ({"paid_on": (TODAY - dt.timedelta(days=41)).isoformat()}, "paid_on", "ne peut pas précéder l'émission"),
    ({"paid_on": ""}, "paid_on", "La date du paiement est obligatoire."),
    ({"method": "bitcoin"}, "method", "Choisissez un mode de paiement dans la liste."),
    ({"reference": "x" * 101}, "reference", "ne doit pas dépasser 100 caractères"),
])
def test_bad_payments_are_refused_in_french(advisor, world, today, data, field, message):
    invoice = make_invoice(world)
    response = advisor.post(f"/billing/{invoice.id}/payments", data=form(**data))
    assert response.status_code == 422
    text = page(response)
    assert message in text
    assert f'id="{field}"' in text  # the panel is shown again with the input
    assert payment_count() == 0


def test_no_payment_on_a_draft_or_a_credit_note(advisor, world, today):
    draft = make_invoice(world, status="draft")
    response = advisor.post(f"/billing/{draft.id}/payments", data=form())
    assert response.status_code == 409
    assert "brouillon" in page(response)
    invoice = make_invoice(world)
    note = make_invoice(world, kind="credit_note", total="100.00", credited=invoice)
    response = advisor.post(f"/billing/{note.id}/payments", data=form())
    assert response.status_code == 409
    assert "Un avoir ne reçoit pas de paiement" in page(response)
    assert advisor.post("/billing/999999/payments", data=form()).status_code == 404
    assert payment_count() == 0


def test_a_post_without_csrf_token_is_refused(advisor, world, today):
    invoice = make_invoice(world)
    response = advisor.post(f"/billing/{invoice.id}/payments", data=form(), csrf=False)
    assert response.status_code == 400
    assert "jeton de sécurité" in page(response)
    assert payment_count() == 0


def test_two_payments_at_once_cannot_exceed_the_balance(app, world, today, monkeypatch):
    """Two advisors record 400 € each on a 600 € invoice at the same moment: the invoice row is locked, so the
    second one sees the first and is refused. The balance is read slowly to widen the race window."""
    invoice = make_invoice(world)
    invoice_id, advisor_id = invoice.id, world.users["advisor"].id
    slow_balance = payments.balance_of

    def balance_of(inv):
        result = slow_balance(inv)
        threading.Event().wait(0.3)
        return result

    monkeypatch.setattr(payments, "balance_of", balance_of)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        with app.app_context():
            try:
                target = db.session.get(Invoice, invoice_id)
                actor = db.session.get(type(world.users["advisor"]), advisor_id)
                barrier.wait(timeout=10)
                payments.record_payment(target, {"paid_on": TODAY, "amount": "400", "method": "transfer"}, actor,
                                        today=TODAY)
                db.session.commit()
                outcomes.append("ok")
            except ValidationError as exc:
                db.session.rollback()
                outcomes.append(exc.fields["amount"][0])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=len) == ["ok", f"Le montant ({money_fr(Decimal('400'))}) est supérieur au solde "
                                               f"restant dû ({money_fr(Decimal('200'))})."]
    db.session.expire_all()
    assert payments.balance_of(db.session.get(Invoice, invoice_id)).balance == Decimal("200.00")


# --------------------------------------------------------------------------- cancelling a payment


def cancel_url(invoice, payment) -> str:
    return f"/billing/{invoice.id}/payments/{payment.id}/cancel"


def test_a_payment_recorded_by_mistake_is_cancelled_with_a_reason_and_stays_listed(advisor, world, today):
    invoice = make_invoice(world)
    payment = pay(invoice, "600", actor=world.users["advisor"])
    assert payments.payment_status(invoice) == "paid"
    # No reason, or too long a one: the panel again, the message beside that payment, nothing changed.
    for reason, message in ((" ", "Indiquez pourquoi ce paiement est annulé"),
                            ("x" * 501, "Le motif ne doit pas dépasser 500 caractères.")):
        response = advisor.post(cancel_url(invoice, payment), data={"reason": reason})
        assert response.status_code == 422
        text = page(response)
        assert message in text and f'data-payment="{payment.id}"' in text
        db.session.expire_all()
        assert db.session.get(Payment, payment.id).cancelled_at is None
    # A month later: cancelling is still possible (the trace stays, whatever the day).
    today.day = TODAY + dt.timedelta(days=30)
    response = advisor.post(cancel_url(invoice, payment), data={"reason": "  Chèque   rejeté par la banque ",
                                                                "next": f"/billing/{invoice.id}"})
    assert response.status_code == 302 and response.location.endswith(f"/billing/{invoice.id}")
    assert payment_count() == 1  # never deleted
    payment = db.session.get(Payment, payment.id)
    assert payment.cancelled_at == at(TODAY + dt.timedelta(days=30))
    assert payment.cancelled_by.email == "conseil@test.example"
    assert payment.cancel_reason == "Chèque rejeté par la banque"
    assert payment.is_cancelled and payment.amount == Decimal("600.00")  # the row itself is kept as it was
    # It no longer counts: the whole invoice is due again, and can be paid again.
    detail = payments.balance_of(invoice)
    assert (detail.paid, detail.balance, detail.status) == (Decimal("0.00"), Decimal("600.00"), "unpaid")
    # Listed, struck through, with who, when and why; no second cancellation button.
    from flask import render_template

    with app_request(advisor):
        html = render_template("billing/_payments.html", **panel_context(db.session.get(Invoice, invoice.id)))
    assert f'data-payment="{payment.id}" data-cancelled="1"' in html
    assert f"<s>{money_fr(Decimal('600'))}</s>" in html
    assert (f"le {(TODAY + dt.timedelta(days=30)).strftime('%d/%m/%Y')} 10:00 par Camille Conseil : "
            "Chèque rejeté par la banque") in html
    assert "/annuler" not in html and "Non réglée" in html
    # Twice: refused, the first cancellation kept.
    response = advisor.post(cancel_url(invoice, payment), data={"reason": "encore"})
    assert response.status_code == 409
    assert "déjà été annulé" in page(response) and "Chèque rejeté par la banque" in page(response)
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).cancel_reason == "Chèque rejeté par la banque"
    pay(invoice, "600")
    assert payments.payment_status(invoice) == "paid" and payment_count(invoice.id) == 2
    # Another invoice's payment, an unknown one: 404.
    other = make_invoice(world)
    assert advisor.post(cancel_url(other, payment), data={"reason": "x" * 10}).status_code == 404
    assert advisor.post(f"/billing/{invoice.id}/payments/999999/cancel",
                        data={"reason": "x" * 10}).status_code == 404
    assert advisor.post(cancel_url(invoice, payment), data={"reason": "sans jeton"}, csrf=False).status_code == 400


def test_cancel_payment_service(world, today):
    invoice = make_invoice(world)
    payment = pay(invoice, "100")
    with pytest.raises(ValidationError) as refused:
        payments.cancel_payment(payment, "ok", world.users["advisor"])
    assert refused.value.fields == {"reason": ["Indiquez pourquoi ce paiement est annulé (saisie erronée, doublon, "
                                               "chèque impayé…)."]}
    db.session.rollback()
    payments.cancel_payment(payment, "Saisi sur la mauvaise facture", world.users["admin"])
    db.session.commit()
    with pytest.raises(ConflictError, match="déjà été annulé le 15/04/2031 par Ada Admin"):
        payments.cancel_payment(payment, "encore", world.users["advisor"])
    db.session.rollback()


def test_cancelled_payments_count_nowhere(world, today, count_queries, worker):
    """Balances of a list (still two queries), statuses, the overdue list and its dashboard count, reminders."""
    paid = make_invoice(world, due_date=TODAY - dt.timedelta(days=7), buyer_name="Entreprise A")
    partly = make_invoice(world, due_date=TODAY - dt.timedelta(days=7), buyer_name="Entreprise B")
    wrong = pay(paid, "600")
    pay(partly, "100")
    second = pay(partly, "200")
    assert payments.overdue_count(TODAY) == 1 and payments.balances([paid, partly]) == {
        paid.id: Decimal("0.00"), partly.id: Decimal("300.00")}
    with pytest.raises(ConflictError, match="soldée"):
        payments.send_reminder(paid)
    db.session.rollback()
    for payment in (wrong, second):
        payments.cancel_payment(db.session.get(Payment, payment.id), "Saisie erronée", world.users["advisor"])
    db.session.commit()
    db.session.expire_all()
    listed = list(db.session.scalars(select(Invoice).order_by(Invoice.id)))
    with count_queries() as counter:
        result = payments.balance_details(listed)
    assert counter.count == 2
    assert {pk: (d.paid, d.balance, d.status) for pk, d in result.items()} == {
        paid.id: (Decimal("0.00"), Decimal("600.00"), "unpaid"),
        partly.id: (Decimal("100.00"), Decimal("500.00"), "partial")}
    assert [(r.invoice.id, r.balance.balance) for r in payments.overdue_invoices(TODAY)] == [
        (paid.id, Decimal("600.00")), (partly.id, Decimal("500.00"))]
    assert payments.overdue_count(TODAY) == 2
    # The worker (the automation rule « J+7 ») reminds both again; the reminder states what is really due.
    assert worker(TODAY) == 2
    subjects = [flat(m.subject) for m in outbox()]
    assert subjects == [flat(f"Relance : facture {paid.number} échue – reste dû {money_fr(Decimal('600'))}"),
                        flat(f"Relance : facture {partly.number} échue – reste dû {money_fr(Decimal('500'))}")]
    # A payment of the full balance is accepted again.
    pay(db.session.get(Invoice, paid.id), "600")
    assert payments.payment_status(db.session.get(Invoice, paid.id)) == "paid"


# --------------------------------------------------------------------------- overdue invoices


@pytest.fixture
def overdue_set(world, today):
    """Due yesterday and unpaid; due 40 days ago, partly paid; due today; due long ago but paid; fully credited;
    a draft; a credit note."""
    late = make_invoice(world, due_date=TODAY - dt.timedelta(days=1), buyer_name="Entreprise A")
    partly = make_invoice(world, due_date=TODAY - dt.timedelta(days=40), issue_date=TODAY - dt.timedelta(days=70),
                          buyer_name="Entreprise B")
    pay(partly, "250")
    due_today = make_invoice(world, due_date=TODAY)
    paid = make_invoice(world, due_date=TODAY - dt.timedelta(days=10))
    pay(paid, "600")
    credited = make_invoice(world, due_date=TODAY - dt.timedelta(days=10))
    make_invoice(world, kind="credit_note", total="600.00", credited=credited)
    make_invoice(world, status="draft", due_date=TODAY - dt.timedelta(days=10))
    return late, partly, due_today


def test_overdue_invoices_with_days_late(overdue_set, advisor):
    late, partly, _ = overdue_set
    rows = payments.overdue_invoices(TODAY)
    assert [(r.invoice.id, r.days_late, r.balance.balance) for r in rows] == [
        (partly.id, 40, Decimal("350.00")), (late.id, 1, Decimal("600.00"))]
    assert payments.overdue_count(TODAY) == 2
    response = advisor.get("/billing/overdue")
    assert response.status_code == 200
    text = page(response)
    assert "Factures échues impayées" in text
    assert f'data-invoice="{late.id}"' in text and f'data-invoice="{partly.id}"' in text
    assert "40 j" in text and money_fr(Decimal("350")) in text
    assert money_fr(Decimal("950")) in text  # the total still due
    # The advisor's dashboard says so, with a link.
    text = page(advisor.get("/"))
    assert "2 factures échues impayées." in text and "/billing/overdue" in text


def test_no_overdue_warning_on_an_empty_dashboard(advisor, world, today):
    assert 'data-field="overdue-invoices"' not in page(advisor.get("/"))
    assert "Aucune facture échue impayée." in page(advisor.get("/billing/overdue"))


# --------------------------------------------------------------------------- reminders


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "invoice_reminder")
                                   .order_by(OutboxMessage.id)))


def test_manual_reminder_with_the_invoice_attached(advisor, world, today):
    from trainingmgr.files.services import store_bytes

    invoice = make_invoice(world, due_date=TODAY - dt.timedelta(days=3), opco_file_number="")
    invoice.docx_file = store_bytes(DOCX_BYTES, "F2031-0001.docx", "document")
    db.session.commit()
    response = advisor.post(f"/billing/{invoice.id}/remind", data={"next": "/billing/overdue"})
    assert response.status_code == 302 and response.location.endswith("/billing/overdue")
    [message] = outbox()
    assert message.recipient == "compta@client.example"
    assert message.subject == f"Relance : facture {invoice.number} échue – reste dû {money_fr(Decimal('600'))}"
    assert f"la facture {invoice.number} du {(TODAY - dt.timedelta(days=40)).strftime('%d/%m/%Y')}" in message.body_text
    assert "indemnité forfaitaire de 40 €" in message.body_text
    # The invoice, and its transfer QR code (the organisation of the tests has the demo's IBAN).
    attachments = [(a.filename, a.data) for a in message.attachments]
    assert attachments[0] == (f"{invoice.number}.docx", DOCX_BYTES)
    assert [name for name, _ in attachments[1:]] == [f"virement-{invoice.number}.png"]
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.reminder_count == 1 and invoice.last_reminder_at == at(TODAY)
    # Never twice the same day.
    response = advisor.post(f"/billing/{invoice.id}/remind")
    assert response.status_code == 409
    assert "déjà été envoyée aujourd'hui" in page(response)
    assert len(outbox()) == 1


def test_reminders_refused_when_not_due_paid_or_altered(advisor, world, today):
    from trainingmgr.files.services import path_for, store_bytes

    not_due = make_invoice(world, due_date=TODAY)
    response = advisor.post(f"/billing/{not_due.id}/remind")
    assert response.status_code == 409 and "pas encore échue" in page(response)
    paid = make_invoice(world, due_date=TODAY - dt.timedelta(days=20))
    pay(paid, "600")
    response = advisor.post(f"/billing/{paid.id}/remind")
    assert response.status_code == 409 and "soldée" in page(response)
    draft = make_invoice(world, status="draft")
    assert advisor.post(f"/billing/{draft.id}/remind").status_code == 409
    altered = make_invoice(world, due_date=TODAY - dt.timedelta(days=20))
    stored = store_bytes(_docx("facture à relancer"), "F.docx", "document")
    altered.docx_file = stored
    db.session.commit()
    path_for(stored).write_bytes(DOCX_BYTES + b"?")
    response = advisor.post(f"/billing/{altered.id}/remind")
    assert response.status_code == 409 and "altéré" in page(response)
    assert outbox() == []


def test_reminder_recipients(world, today, open_session, new_trainee):
    from trainingmgr.enrolments.models import FundingLine
    from trainingmgr.enrolments.services import enrol

    # A company invoice without buyer e-mail: the accounting contact, else the signatory.
    company = make_invoice(world, buyer_email="", due_date=TODAY - dt.timedelta(days=3))
    with pytest.raises(ConflictError, match="Aucun destinataire"):
        payments.send_reminder(company)
    db.session.rollback()
    world.company.contacts.append(CompanyContact(role="signatory", name="Jean Dupont", email="jean@dupont.example"))
    db.session.commit()
    assert payments.reminder_recipient(company) == "jean@dupont.example"
    world.company.contacts.append(CompanyContact(role="accounting", name="Compta", email="compta@dupont.example"))
    db.session.commit()
    assert payments.reminder_recipient(company) == "compta@dupont.example"
    # An OPCO invoice: the OPCO's contact on the funding line.
    session = open_session()
    enrolment = enrol(session, new_trainee(1), actor=world.users["advisor"], notify=False)
    line = FundingLine(enrolment_id=enrolment.id, kind="opco", amount=Decimal("420"), opco_name="OPCO EP",
                       opco_contact_email="conseiller@opcoep.example", subrogation=True)
    db.session.add(line)
    db.session.commit()
    opco = make_invoice(world, payer_kind="opco", buyer_email="", opco_name="OPCO EP", buyer_name="OPCO EP",
                        due_date=TODAY - dt.timedelta(days=3))
    opco.lines[0].funding_line_id = line.id
    db.session.commit()
    assert payments.reminder_recipient(opco) == "conseiller@opcoep.example"
    # A trainee paying personally.
    trainee = new_trainee(2)
    own = make_invoice(world, payer_kind="individual", buyer_email="", payer_trainee_id=trainee.id)
    assert payments.reminder_recipient(own) == trainee.email
    # The e-mail written on the invoice comes first.
    assert payments.reminder_recipient(make_invoice(world, payer_kind="opco", buyer_email="factures@opco.example",
                                                    opco_name="OPCO EP")) == "factures@opco.example"
    message = payments.send_reminder(opco)
    db.session.commit()
    assert message.recipient == "conseiller@opcoep.example"


def test_automatic_reminders_at_due_date_plus_7_then_every_15_days(app, world, today, worker):
    """The default automation rules (automations/triggers/billing.py) replace the old periodic task, same schedule:
    J+7, J+22 and J+37 after the due date, from 09:00."""
    from trainingmgr.messaging.services import tick

    due = TODAY - dt.timedelta(days=30)
    invoice = make_invoice(world, due_date=due, issue_date=due - dt.timedelta(days=30))
    paid_later = make_invoice(world, due_date=due, issue_date=due - dt.timedelta(days=30), buyer_email="b@client.example")
    assert worker(due + dt.timedelta(days=6)) == 0
    assert worker(due + dt.timedelta(days=7), hour=8) == 0  # from 09:00 only
    assert worker(due + dt.timedelta(days=7)) == 2
    assert worker(due + dt.timedelta(days=7), hour=17) == 0  # never twice
    assert sorted(m.recipient for m in outbox()) == ["b@client.example", "compta@client.example"]
    # The second invoice is paid: no more reminders for it.
    pay(paid_later, "600", paid_on=due + dt.timedelta(days=10))
    assert worker(due + dt.timedelta(days=21)) == 0
    assert worker(due + dt.timedelta(days=22)) == 1
    # The worker's pass runs the rules too.
    worker.now = at(due + dt.timedelta(days=37))
    tick(worker.now)
    messages = outbox()
    assert len(messages) == 4
    assert messages[-1].subject.startswith(f"Relance n° 3 : facture {invoice.number}")
    assert "relance n° 3" in messages[-1].body_text
    # At most three.
    assert worker(due + dt.timedelta(days=52)) == 0
    assert worker(due + dt.timedelta(days=90)) == 0
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).reminder_count == 3
    assert db.session.get(Invoice, paid_later.id).reminder_count == 1


def test_a_manual_reminder_the_same_day_replaces_the_automatic_one(app, world, today, worker):
    """The rules fire on fixed days; a manual reminder no longer moves them, but the rule skips an invoice already
    reminded that day."""
    due = TODAY - dt.timedelta(days=3)
    invoice = make_invoice(world, due_date=due)
    payments.send_reminder(invoice, world.users["advisor"], now=at(due + dt.timedelta(days=7), 8))
    db.session.commit()
    assert worker(due + dt.timedelta(days=7)) == 0
    assert worker(due + dt.timedelta(days=22)) == 1
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).reminder_count == 2


def test_no_automatic_reminder_without_recipient_nor_when_switched_off(app, world, today, worker):
    from trainingmgr.automations import engine
    from trainingmgr.automations.models import AutomationRule

    due = TODAY - dt.timedelta(days=30)
    nobody = make_invoice(world, due_date=due, buyer_email="")
    assert worker(due + dt.timedelta(days=7)) == 0
    nobody.buyer_email = "x@client.example"
    engine.ensure_defaults()
    for rule in db.session.scalars(select(AutomationRule).where(AutomationRule.trigger == "invoice_overdue")):
        rule.active = False  # the Automatisations page switches them off
    db.session.commit()
    assert worker(due + dt.timedelta(days=22)) == 0
    for rule in db.session.scalars(select(AutomationRule).where(AutomationRule.trigger == "invoice_overdue")):
        rule.active = True
    db.session.commit()
    assert worker(due + dt.timedelta(days=37)) == 1


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("method, url", [
    ("get", "/billing/overdue"), ("post", "/billing/{id}/payments"), ("post", "/billing/{id}/remind"),
    ("post", "/billing/{id}/payments/1/cancel"), ("get", "/billing/journal"),
    ("post", "/billing/journal.csv"),
])
def test_staff_only(client, trainer, world, today, method, url):
    invoice = make_invoice(world, due_date=TODAY - dt.timedelta(days=3))
    url = url.format(id=invoice.id)
    data = {"data": form()} if method == "post" else {}
    response = getattr(trainer, method)(url, **data)
    assert response.status_code == 403
    anonymous = getattr(client, method)(url, **data)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert payment_count() == 0 and outbox() == []


def test_the_invoice_page_shows_the_panel_and_payments_come_back_to_it(app, advisor, world, today):
    if "billing.show" not in app.view_functions:  # pragma: no cover - the invoice screens are another module
        pytest.skip("pas de page de facture")
    invoice = make_invoice(world, due_date=TODAY - dt.timedelta(days=2))
    text = page(advisor.get(f"/billing/{invoice.id}"))
    assert 'data-field="payments-panel"' in text and "Non réglée" in text
    assert "en retard de 2 jours" in text and "Envoyer une relance" in text
    assert f'name="next" value="/billing/{invoice.id}"' in text
    response = advisor.post(f"/billing/{invoice.id}/payments", data=form(next=f"/billing/{invoice.id}"))
    assert response.status_code == 302 and response.location.endswith(f"/billing/{invoice.id}")
    text = page(advisor.get(f"/billing/{invoice.id}"))
    assert "Partiellement réglée" in text and money_fr(Decimal("400")) in text
