"""The invoice automations: « Facture échue depuis n jours » and its default rules, the reminders at J+7, J+22 and J+37
from 09:00 (as the worker's periodic task did), to the payer of an invoice still unpaid only, once per rule, counted
on the invoice, in today's wording with the invoice and its transfer QR code; « Échéance de facture dans n jours »;
the context's audiences and variables; the manual reminder still there."""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from flask import render_template
from sqlalchemy import select

from trainingmgr.automations import engine, registry
from trainingmgr.automations.models import AutomationFiring, AutomationRule, MailTemplate
from trainingmgr.automations.rendering import check_template
from trainingmgr.automations.triggers import billing as billing_automations
from trainingmgr.billing.invoices.issue import is_public_buyer
from trainingmgr.billing.models import Invoice
from trainingmgr.billing.payments import services as payments
from trainingmgr.billing.payments.transfer import transfer_or_none
from trainingmgr.companies.models import CompanyContact
from trainingmgr.core.errors import ConflictError
from trainingmgr.core.formatting import money_fr
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.organisation.services import get_organisation

from tests.fixtures.billing import TODAY, at, flat, make_invoice, pay

DUE = TODAY  # the invoices of these tests fall due on TODAY (15/04/2031)


def day(n: int) -> dt.date:
    return DUE + dt.timedelta(days=n)


class Clock:
    """The time the automations' code reads (utcnow in the invoice triggers and the rules' services)."""

    def __init__(self, monkeypatch):
        self.now = at(DUE)
        for module in ("trainingmgr.automations.triggers.billing", "trainingmgr.automations.services"):
            monkeypatch.setattr(f"{module}.utcnow", lambda: self.now)

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment


@pytest.fixture
def invoice_clock(app, monkeypatch):
    return Clock(monkeypatch)


def fire(clock: Clock, n: int, hour: int = 10) -> int:
    """The worker's pass at J+n (after the due date), ``hour`` o'clock in Paris; committed."""
    count = engine.fire_due(clock.set(at(day(n), hour)))
    db.session.commit()
    return count


def plan(clock: Clock, moment: dt.datetime, days: int = 0) -> list[engine.Planned]:
    return engine.plan(clock.set(moment), moment + dt.timedelta(days=days))


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == payments.REMINDER_TOPIC)
                                   .order_by(OutboxMessage.id)))


def invoice_rule(trigger: str, audience: str, offset_days: int, template: str = "invoice_reminder",
                 attachments: tuple = ()) -> AutomationRule:
    """A rule as the pages make it (enabled_since left empty: it may fire for the past few days)."""
    engine.ensure_defaults()
    rule = AutomationRule(name=f"{trigger} {audience}", trigger=trigger, offset_days=offset_days, audience=audience,
                          template=db.session.scalar(select(MailTemplate).where(MailTemplate.code == template)),
                          attachments=list(attachments), active=True, send_time="08:30")
    db.session.add(rule)
    db.session.commit()
    return rule


@pytest.fixture
def unpaid(world):
    """Due on TODAY: one unpaid, one partly paid, one paid, one credited; a draft and a credit note."""
    made = {
        "unpaid": make_invoice(world, due_date=DUE, buyer_email="compta@client.example"),
        "partly": make_invoice(world, due_date=DUE, buyer_email="b@client.example"),
        "paid": make_invoice(world, due_date=DUE, buyer_email="c@client.example"),
        "credited": make_invoice(world, due_date=DUE, buyer_email="d@client.example"),
    }
    pay(made["partly"], "100")
    pay(made["paid"], "600")
    make_invoice(world, kind="credit_note", total="600.00", credited=made["credited"])
    make_invoice(world, status="draft", due_date=DUE)
    return made


# --------------------------------------------------------------------------- the default reminders


def test_the_default_rules_are_the_old_schedule(app):
    """7 days after the due date, then every 15 days, 3 at most, from 09:00 (the old BILLING_REMINDER_*)."""
    rules = [registry.DEFAULT_RULES[f"invoice_overdue_{n}"] for n in (1, 2, 3)]
    assert [(r.trigger, r.offset_days, r.send_time, r.audience, r.attachments, r.topic) for r in rules] == [
        ("invoice_overdue", days, "09:00", "payer", ("invoice_pdf", "transfer_qr"), "invoice_reminder")
        for days in (7, 22, 37)]
    for code in ("invoice_reminder", "invoice_due_notice"):
        template = registry.DEFAULT_TEMPLATES[code]
        assert check_template("invoice", template.subject, template.body) == []
    # The periodic task is gone: nothing leaves twice.
    assert not hasattr(payments, "send_due_reminders")
    assert "BILLING_REMINDER_MAX" not in app.config


def test_reminders_at_the_right_days_for_unpaid_invoices_only(unpaid, invoice_clock):
    """The dry run lists them; the worker sends exactly those, once per rule; none once paid."""
    unpaid_, partly = unpaid["unpaid"], unpaid["partly"]
    planned = plan(invoice_clock, at(day(0)), days=40)
    expected = [(at(day(days), 9), rule, invoice.id) for days, rule in ((7, 1), (22, 2), (37, 3))
                for invoice in (partly, unpaid_)]  # sorted by recipient: b@…, compta@…
    assert [(p.when, p.rule.code, p.obj.id) for p in planned
            if p.rule.trigger == "invoice_overdue"] == [(w, f"invoice_overdue_{n}", i) for w, n, i in expected]
    first = next(p for p in planned if p.obj.id == partly.id)
    assert first.recipient.email == "b@client.example"
    assert flat(first.subject) == flat(f"Relance : facture {partly.number} échue – reste dû {money_fr(Decimal('500'))}")
    assert first.attachments == [("QR code de virement", f"virement-{partly.number}.png")]
    # Nothing before J+7 09:00, two at J+7 from 09:00, never twice.
    assert fire(invoice_clock, 6) == 0
    assert fire(invoice_clock, 7, hour=8) == 0
    assert fire(invoice_clock, 7) == 2
    assert fire(invoice_clock, 7, hour=17) == 0
    assert fire(invoice_clock, 8) == 0
    assert [(m.recipient, m.subject.split(" : ")[0]) for m in outbox()] == [
        ("b@client.example", "Relance"), ("compta@client.example", "Relance")]
    # The partly paid invoice is paid off: no more reminders for it.
    pay(db.session.get(Invoice, partly.id), "500", paid_on=TODAY)
    assert fire(invoice_clock, 21) == 0
    assert fire(invoice_clock, 22) == 1
    assert fire(invoice_clock, 37) == 1
    assert fire(invoice_clock, 52) == 0 and fire(invoice_clock, 90) == 0
    messages = outbox()
    assert [m.recipient for m in messages] == ["b@client.example", "compta@client.example",
                                               "compta@client.example", "compta@client.example"]
    assert messages[-1].subject.startswith(f"Relance n° 3 : facture {unpaid_.number} échue")
    assert "relance n° 3" in messages[-1].body_text and "(37 jours de retard)" in messages[-1].body_text
    db.session.expire_all()
    assert db.session.get(Invoice, unpaid_.id).reminder_count == 3
    assert db.session.get(Invoice, partly.id).reminder_count == 1
    assert db.session.get(Invoice, unpaid["paid"].id).reminder_count == 0
    assert db.session.get(Invoice, unpaid["credited"].id).reminder_count == 0
    assert db.session.scalar(select(AutomationFiring.occasion).limit(1)) == "overdue"


def test_a_reminder_is_counted_logged_and_worded_as_today(world, caplog, invoice_clock):
    """The text is the manual reminder's (templates/mail/invoice_reminder.txt) word for word."""
    invoice = make_invoice(world, due_date=DUE, opco_file_number="EP-42")
    pay(invoice, "100")
    caplog.set_level(logging.INFO, logger="trainingmgr.billing")
    assert fire(invoice_clock, 7) == 1
    [message] = outbox()
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.reminder_count == 1 and invoice.last_reminder_at == at(day(7))
    assert f"Relance n° 1 de la facture {invoice.number} envoyée à compta@client.example (automatique)" in caplog.text
    assert message.body_text == old_wording(invoice, number=1, days_late=7)
    assert "Déjà réglé ou annulé par avoir" in message.body_text and "(dossier EP-42)" in message.body_text
    assert "Code de commerce" in message.body_text
    assert fire(invoice_clock, 22) == 1
    second = outbox()[-1]
    db.session.expire_all()
    assert second.body_text == old_wording(db.session.get(Invoice, invoice.id), number=2, days_late=22)
    assert flat(second.subject) == flat(f"Relance n° 2 : facture {invoice.number} échue – reste dû "
                                        f"{money_fr(Decimal('500'))}")


def old_wording(invoice: Invoice, number: int, days_late: int) -> str:
    """The manual reminder's text, as send_reminder renders it."""
    balance = payments.balance_of(invoice)
    transfer, _ = transfer_or_none(invoice, balance.balance)
    text = render_template(f"mail/{payments.REMINDER_TOPIC}.txt", invoice=invoice, balance=balance, number=number,
                           days_late=days_late, attached=invoice.docx_file_id is not None, org=get_organisation(),
                           public_terms=is_public_buyer(invoice), transfer=transfer)
    return text.strip() + "\n"


def test_a_public_buyer_reads_the_public_procurement_wording(world, invoice_clock):
    invoice = make_invoice(world, due_date=DUE, payer_kind="public_buyer", engagement_number="EJ-1")
    assert fire(invoice_clock, 7) == 1
    [message] = outbox()
    assert "Code de la commande publique" in message.body_text and "Code de commerce" not in message.body_text
    assert "(engagement EJ-1)" in message.body_text
    assert message.body_text == old_wording(db.session.get(Invoice, invoice.id), number=1, days_late=7)


def test_the_invoice_file_is_attached_checked_by_its_fingerprint(world, caplog, invoice_clock):
    from trainingmgr.files.services import path_for, store_bytes

    from tests.billing.test_payments import DOCX_BYTES, _docx

    good = make_invoice(world, due_date=DUE)
    good.docx_file = store_bytes(DOCX_BYTES, "F.docx", "document")
    altered = make_invoice(world, due_date=DUE, buyer_email="x@client.example")
    altered.docx_file = store_bytes(_docx("autre facture"), "G.docx", "document")
    db.session.commit()
    path_for(altered.docx_file).write_bytes(DOCX_BYTES + b"?")
    planned = {p.obj.id: p for p in plan(invoice_clock, at(day(7)))}
    assert planned[good.id].attachments == [("Facture", f"{good.number}.docx"),
                                            ("QR code de virement", f"virement-{good.number}.png")]
    assert fire(invoice_clock, 7) == 1  # the altered one is logged and skipped, the other leaves
    assert "altéré" in caplog.text
    [message] = outbox()
    assert message.recipient == "compta@client.example"
    assert "La facture est jointe à ce message." in message.body_text
    assert [(a.filename, a.data) for a in message.attachments][0] == (f"{good.number}.docx", DOCX_BYTES)
    assert [a.filename for a in message.attachments][1:] == [f"virement-{good.number}.png"]
    db.session.expire_all()
    assert db.session.get(Invoice, altered.id).reminder_count == 0


def test_no_recipient_no_reminder_and_a_switched_off_rule_sends_nothing(world, users, invoice_clock):
    from trainingmgr.automations import services

    nobody = make_invoice(world, due_date=DUE, buyer_email="")
    assert [p for p in plan(invoice_clock, at(day(7))) if p.obj.id == nobody.id] == []
    assert fire(invoice_clock, 7) == 0
    nobody.buyer_email = "x@client.example"
    db.session.commit()
    engine.ensure_defaults()
    first = db.session.scalar(select(AutomationRule).where(AutomationRule.code == "invoice_overdue_1"))
    services.set_rule_active(first, False, users["admin"])
    db.session.commit()
    assert fire(invoice_clock, 7, hour=11) == 0
    invoice_clock.set(at(day(7), 12))
    services.set_rule_active(first, True, users["admin"])
    db.session.commit()
    assert fire(invoice_clock, 7, hour=13) == 0  # switched on again, it does not catch up
    assert fire(invoice_clock, 22) == 1


# --------------------------------------------------------------------------- the manual reminder


def test_a_manual_reminder_the_same_day_replaces_the_automatic_one(world, users, invoice_clock):
    invoice = make_invoice(world, due_date=DUE)
    payments.send_reminder(invoice, users["advisor"], now=at(day(7), 8))
    db.session.commit()
    assert [p for p in plan(invoice_clock, at(day(7))) if p.obj.id == invoice.id] == []
    assert fire(invoice_clock, 7) == 0 and fire(invoice_clock, 8) == 0
    assert fire(invoice_clock, 22) == 1
    messages = outbox()
    assert [m.subject.split(" : ")[0] for m in messages] == ["Relance", "Relance n° 2"]
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).reminder_count == 2


def test_the_manual_reminder_still_works_after_an_automatic_one(world, users, invoice_clock):
    invoice = make_invoice(world, due_date=DUE)
    assert fire(invoice_clock, 7) == 1
    # Never twice the same day…
    with pytest.raises(ConflictError, match="déjà été envoyée aujourd'hui"):
        payments.send_reminder(db.session.get(Invoice, invoice.id), users["advisor"], now=at(day(7), 15))
    db.session.rollback()
    # …but another day, by hand.
    message = payments.send_reminder(db.session.get(Invoice, invoice.id), users["advisor"], now=at(day(10)))
    db.session.commit()
    assert message.subject.startswith(f"Relance n° 2 : facture {invoice.number}")
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).reminder_count == 2
    assert fire(invoice_clock, 22) == 1 and outbox()[-1].subject.startswith("Relance n° 3")


# --------------------------------------------------------------------------- the other trigger and audiences


def test_a_notice_before_the_due_date_only_while_unpaid(world, invoice_clock):
    rule = invoice_rule("invoice_due", "payer", 3, template="invoice_due_notice")
    notified = make_invoice(world, due_date=DUE, buyer_email="a@client.example")
    paid = make_invoice(world, due_date=DUE, buyer_email="b@client.example")
    pay(paid, "600", paid_on=TODAY - dt.timedelta(days=5))
    planned = [p for p in plan(invoice_clock, at(day(-10)), days=20) if p.rule.id == rule.id]
    assert [(p.when, p.obj.id, p.occurrence.occasion) for p in planned] == [
        (at(day(-3), 8).replace(minute=30), notified.id, "due")]
    assert planned[0].subject == f"Facture {notified.number} : échéance le 15/04/2031"
    assert fire(invoice_clock, -3) == 1
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == engine.TOPIC)).all()
    assert message.recipient == "a@client.example" and "arrive à échéance le 15/04/2031" in message.body_text
    db.session.expire_all()
    assert db.session.get(Invoice, notified.id).reminder_count == 0  # a notice is not a reminder
    # Too late once the invoice is overdue (a worker down until then).
    other = make_invoice(world, due_date=DUE, buyer_email="c@client.example")
    assert [p for p in plan(invoice_clock, at(day(1))) if p.obj.id == other.id and p.rule.id == rule.id] == []


def test_the_advisor_and_the_company_contacts_get_copies_that_do_not_count(world, users, invoice_clock):
    from trainingmgr.organisation.services import staff_recipients

    world.company.contacts.append(CompanyContact(role="hr", name="Rose RH", email="rh@client.example"))
    db.session.commit()
    advisor_rule = invoice_rule("invoice_overdue", "advisor", 7)
    hr_rule = invoice_rule("invoice_overdue", "company_hr", 7)
    invoice = make_invoice(world, due_date=DUE)
    context = registry.CONTEXTS["invoice"]
    [hr] = context.recipients(invoice, "company_hr")
    assert (hr.email, hr.name) == ("rh@client.example", "Rose RH")
    assert context.recipients(invoice, "company_signatory") == []
    [advisor] = context.recipients(invoice, "advisor")[:1]
    assert advisor.email == staff_recipients()[0]
    values = context.build(invoice, advisor)
    assert values["link"].endswith(f"/billing/{invoice.id}") or f"/{invoice.id}" in values["link"]
    assert context.build(invoice, hr)["link"] == ""
    assert fire(invoice_clock, 7) >= 3
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).reminder_count == 1  # the payer's reminder only
    copies = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.topic == engine.TOPIC)).all()
    assert "rh@client.example" in copies and advisor.email in copies
    fired = {r for r, in db.session.execute(select(AutomationFiring.rule_id))}
    assert {advisor_rule.id, hr_rule.id} <= fired


def test_the_context_variables(world, invoice_clock):
    invoice = make_invoice(world, due_date=DUE, total="1234.56")
    pay(invoice, "200")
    context = registry.CONTEXTS["invoice"]
    [payer] = context.recipients(invoice, "payer")
    invoice_clock.set(at(day(9)))
    values = context.build(invoice, payer)
    assert values["invoice"] | {} == {
        "number": invoice.number, "date": "06/03/2031", "due_date": "15/04/2031", "total": money_fr(Decimal("1234.56")),
        "settled": money_fr(Decimal("200")), "balance": money_fr(Decimal("1034.56")), "days_late": 9,
        "reminder_number": 1, "buyer": "Cabinet d'architecture Dupont", "file_number": "",
        "engagement_number": "", "payment_terms": "Paiement à 30 jours par virement.", "public_terms": False,
        "professional": True, "has_file": False}
    assert values["recipient"] == {"name": "Cabinet d'architecture Dupont", "email": "compta@client.example"}
    assert values["transfer"]["amount"] == money_fr(Decimal("1034.56"))
    assert values["transfer"]["reference"] == invoice.number and values["org"]["iban"]
    assert values["session"] == {"title": "", "reference": "", "dates": ""}
    names = registry.variable_names("invoice")
    assert {"org.iban", "invoice.balance", "invoice.days_late", "invoice.public_terms", "session.title"} <= names
    assert billing_automations.load("invoice", invoice.id) is invoice
    credit = make_invoice(world, kind="credit_note", total="100.00", credited=invoice)
    assert billing_automations.load("invoice", credit.id) is None


def test_the_preview_sample_is_the_session_s_invoice_to_its_payer(world, make_session, invoice_clock):
    session = make_session()
    assert registry.CONTEXTS["invoice"].sample(session.id, None) is None
    invoice = make_invoice(world, due_date=DUE, session_id=session.id)
    obj, recipient = registry.CONTEXTS["invoice"].sample(session.id, None)
    assert obj.id == invoice.id and recipient.email == "compta@client.example"
    values = registry.CONTEXTS["invoice"].build(obj, recipient)
    assert values["session"]["title"] == session.title and values["session"]["reference"] == f"n° {session.id}"
