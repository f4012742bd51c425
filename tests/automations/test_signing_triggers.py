"""The signature automations: « Document en attente de signature depuis n jours » and its default rules, the
reminders at J+3 and J+7 to every signatory still invited (as the reminder jobs did), once each, counted, never
after a signature, a refusal or the deadline; the context's audiences and variables."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import render_template
from sqlalchemy import select

from trainingmgr.automations import engine, registry
from trainingmgr.automations.models import AutomationFiring, AutomationRule, MailTemplate
from trainingmgr.automations.rendering import check_template
from trainingmgr.automations.triggers import signing as signing_automations
from trainingmgr.core.timeutil import paris_today
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job
from trainingmgr.organisation.services import get_organisation
from trainingmgr.signing import services as signing
from trainingmgr.signing.mails import end_of

from tests.fixtures.signing import outbox, send, sign_by_link

REMINDER = "Rappel : document à signer"


def fire(signature_request, days: float) -> None:
    """The worker's pass ``days`` after the request was sent; committed."""
    engine.fire_due(signature_request.created_at + dt.timedelta(days=days))
    db.session.commit()


def reminders(email: str) -> list:
    return outbox(email, REMINDER)


def signature_rule(audience: str, offset_days: int = 2) -> AutomationRule:
    """A rule made in the browser on the default reminder template, for ``audience``."""
    engine.ensure_defaults()
    template = db.session.scalar(select(MailTemplate).where(MailTemplate.code == "signature_reminder"))
    rule = AutomationRule(name=f"Relance {audience}", trigger="signature_pending", offset_days=offset_days,
                          audience=audience, template=template, attachments=[], active=True)
    db.session.add(rule)
    db.session.commit()
    return rule


@pytest.fixture
def pending(sale):
    """The convention sent to Anne Dupont (company) then the organisation, due in 15 days."""
    return send(sale.convention, sale.advisor, anne=sale.anne.id)


# --------------------------------------------------------------------------- the default reminders


def test_the_default_rules_are_one_reminder_per_day_of_the_setting(app):
    engine.ensure_defaults()
    rules = {r.code: r for r in db.session.scalars(select(AutomationRule).where(
        AutomationRule.trigger == "signature_pending"))}
    assert {code: (r.offset_days, r.audience) for code, r in rules.items()} == {
        "signature_reminder_3": (3, "signatory"), "signature_reminder_7": (7, "signatory")}
    assert app.config["SIGNATURE_REMINDER_DAYS"] == (3, 7)
    template = rules["signature_reminder_3"].template
    assert check_template("signature", template.subject, template.body) == []


def test_reminders_leave_at_three_and_seven_days_once_each_and_are_counted(pending):
    anne, org = pending.signatories
    fire(pending, 2.9)
    assert reminders(anne.email) == []
    fire(pending, 3.01)
    fire(pending, 3.5)  # the next passes find the ledger row: no second J+3 reminder
    assert len(reminders(anne.email)) == 1 and anne.reminders_sent == 1
    fire(pending, 7.01)
    fire(pending, 8)
    assert len(reminders(anne.email)) == 2 and anne.reminders_sent == 2
    assert outbox(org.email, "Rappel") == []  # the organisation signs last: not invited yet, not reminded
    fired = db.session.scalars(select(AutomationFiring).where(AutomationFiring.object_id == anne.id,
                                                              AutomationFiring.object_type == "signatory")).all()
    assert sorted((f.occasion, f.session_id) for f in fired) == [("pending", pending.document.session_id)] * 2


def test_a_reminder_says_what_the_reminder_job_said(pending):
    anne = pending.signatories[0]
    fire(pending, 3.01)
    message, = reminders(anne.email)
    link = re.search(r"https?://\S+/signature/[\w.-]+", message.body_text).group(0)
    document = pending.document
    before = render_template("mail/signature_invitation.txt", org=get_organisation(), signatory=anne, link=link,
                             reminder=True, request=pending, document=document, session=document.session)
    assert message.body_text.strip() == before.strip()
    assert message.subject == f"{REMINDER} – {document.label} n° {document.number}"
    assert message.topic == "signature_invitation" and message.body_html
    assert pending.deadline.strftime("%d/%m/%Y") in message.body_text


def test_the_dry_run_lists_the_reminders_the_worker_then_sends(pending):
    anne = pending.signatories[0]
    start = pending.created_at + dt.timedelta(minutes=1)
    planned = [p for p in engine.plan(start, start + dt.timedelta(days=8)) if p.rule.trigger == "signature_pending"]
    assert [(p.rule.code, p.recipient.email, p.when, p.subject) for p in planned] == [
        ("signature_reminder_3", anne.email, pending.created_at + dt.timedelta(days=3), reminders_subject(pending)),
        ("signature_reminder_7", anne.email, pending.created_at + dt.timedelta(days=7), reminders_subject(pending))]
    db.session.rollback()
    for p in planned:
        fire(pending, (p.when - pending.created_at) / dt.timedelta(days=1))
    assert [m.subject for m in reminders(anne.email)] == [p.subject for p in planned]


def reminders_subject(signature_request) -> str:
    return f"{REMINDER} – {signature_request.document.label} n° {signature_request.document.number}"


def test_no_job_is_scheduled_for_the_reminders_any_more(pending):
    kinds = set(db.session.scalars(select(Job.kind).where(Job.key.like(f"signature:{pending.id}:%"))))
    assert kinds == {"signature_expiry"}


# --------------------------------------------------------------------------- when nobody is reminded


def test_a_signatory_who_signed_is_not_reminded_and_the_organisation_then_is(pending, app):
    anne, org = pending.signatories
    sign_by_link(app.test_client(), anne)
    fire(pending, 3.01)
    assert reminders(anne.email) == []
    assert len(reminders(org.email)) == 1  # invited once the company signed: reminded like any signatory


def test_nobody_is_reminded_after_a_refusal_or_a_cancellation(pending, sale):
    signing.refuse(pending.signatories[0], "Le prix ne correspond pas au devis.")
    db.session.commit()
    fire(pending, 3.01)
    fire(pending, 7.01)
    assert reminders(sale.anne.email) == [] and reminders(pending.signatories[1].email) == []


def test_a_signatory_locked_out_after_wrong_codes_is_not_reminded(pending):
    pending.signatories[0].locked_at = pending.created_at
    db.session.commit()
    fire(pending, 3.01)
    assert reminders(pending.signatories[0].email) == []


def test_no_reminder_past_the_deadline_even_after_an_outage(sale):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id, deadline=paris_today() + dt.timedelta(days=5))
    anne = request.signatories[0]
    starts = request.created_at + dt.timedelta(minutes=1)
    planned = [p for p in engine.plan(starts, starts + dt.timedelta(days=30)) if p.rule.trigger == "signature_pending"]
    assert [p.rule.code for p in planned] == ["signature_reminder_3"]  # J+7 falls after the deadline
    assert planned[0].occurrence.expires_at == end_of(request.deadline)
    db.session.rollback()
    late = (end_of(request.deadline) - request.created_at) / dt.timedelta(days=1)
    fire(request, late + 0.01)  # the worker comes back after the deadline: the J+3 reminder is dropped
    assert reminders(anne.email) == []


def test_a_reminder_due_during_an_outage_leaves_once_when_the_worker_comes_back(pending):
    fire(pending, 8)  # nothing ran between J+3 and J+8: both reminders, once each
    assert len(reminders(pending.signatories[0].email)) == 2
    fire(pending, 9)
    assert len(reminders(pending.signatories[0].email)) == 2


def test_a_default_rule_switched_off_sends_nothing(pending):
    engine.ensure_defaults()
    for rule in db.session.scalars(select(AutomationRule).where(AutomationRule.trigger == "signature_pending")):
        rule.active = False
    db.session.commit()
    fire(pending, 8)
    assert reminders(pending.signatories[0].email) == []


# --------------------------------------------------------------------------- audiences and variables


def test_a_role_audience_reaches_only_the_signatories_of_that_role(pending, sale):
    signature_rule("trainee")
    signature_rule("company_signatory", offset_days=1)
    fire(pending, 2.01)
    assert len(reminders(sale.anne.email)) == 1  # the company's one; no trainee signs a convention


def test_the_trainee_of_a_contract_is_reached_and_the_message_filed_under_the_enrolment(individual_sale):
    request = send(individual_sale.contract, individual_sale.advisor, keys=("trainee:{e}",),
                   e=individual_sale.enrolment.id)
    signature_rule("trainee")
    fire(request, 2.01)
    message, = reminders(individual_sale.enrolment.trainee.email)
    assert message.enrolment_id == individual_sale.enrolment.id


def test_the_advisor_is_told_with_the_request_page_never_the_personal_link(pending, sale):
    rule = signature_rule("advisor")
    template = rule.template
    template.subject = "Toujours pas signé : {{ document.number }} par {{ signatory.name }}"
    template.body = "Bonjour {{ recipient.name }},\n{{ signatory.name }} n'a pas signé depuis le {{ sent_on }}.\n{{ link }}"
    db.session.commit()
    fire(pending, 2.01)
    message, = outbox(sale.advisor.email, "Toujours pas signé")
    assert message.subject.endswith("par Anne Dupont")
    assert f"/signatures/{pending.id}" in message.body_text and "/signature/" not in message.body_text
    assert pending.signatories[0].reminders_sent == 0  # only a reminder to the signatory counts


def test_every_variable_of_the_catalogue_is_built(pending):
    context = registry.CONTEXTS["signature"]
    anne = pending.signatories[0]
    found = context.sample(pending.document.session_id, None)
    assert found is not None and found[0].id == anne.id
    built = context.build(*found)
    for var in context.variables:
        value = built
        for part in var.name.split("."):
            value = value[part]
        assert isinstance(value, str), var.name
    assert built["deadline"] == pending.deadline.strftime("%d/%m/%Y")
    assert built["session"]["title"] == pending.document.session.title
    assert signing_automations.ROLE_AUDIENCES["company"] == "company_signatory"
    assert "signatory" in registry.AUDIENCES

