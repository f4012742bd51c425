"""The last two fixed e-mails made default automation rules (issue 25): the surveys' first invitations
(« Enquête à envoyer : … », triggers survey_send_<kind>) and a contrat de formation's payment call (« Échéance d'un
contrat de formation facturée »). For each: the dry run lists exactly what the worker then sends to a real SMTP
server (aiosmtpd), hour by hour; once only, even after the rule is edited; the link in the e-mail opens the survey;
the old jobs end quietly; links sent before keep working."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from trainingmgr.automations import engine, services
from trainingmgr.automations.models import AutomationRule
from trainingmgr.billing.invoices.drafts import create_draft
from trainingmgr.billing.schedule import services as schedule
from trainingmgr.core.formatting import money_fr
from trainingmgr.core.timeutil import PARIS
from trainingmgr.core.tokens import make_token
from trainingmgr.evaluations.models import SurveyInvitation
from trainingmgr.evaluations.surveys import services as surveys
from trainingmgr.extensions import db
from trainingmgr.messaging import services as messaging
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.organisation.services import update_organisation
from trainingmgr.sessions.services import change_status

from tests.billing.transfer_support import IBAN
from tests.fixtures.attendance import paris
from tests.fixtures.billing import enrol_with, fill_buyer
from tests.helpers import MONDAY, page

END = paris(MONDAY, "17:30")  # the ``ended`` session's last half-day ends then (completed at 17:45)
STEP = dt.timedelta(hours=1)
LINK = re.compile(r"https?://\S+/s/\S+")


def mail_of(recipient: str, subject: str, filenames) -> tuple:
    return recipient.lower(), subject, tuple(sorted(filenames))


def received(smtp_server) -> list[tuple]:
    return sorted(mail_of(str(m["To"]), str(m["Subject"]), [a.get_filename() for a in m.iter_attachments()])
                  for m in smtp_server.messages)


def listed(planned) -> list[tuple]:
    return sorted(mail_of(p.recipient.email, p.subject, [name for _, name in p.attachments]) for p in planned)


def run_passes(run_in, start: dt.datetime, hours: int, before=None) -> int:
    """The worker's passes, hourly from ``start``: the rules fire (after ``before(now)``, the due jobs), then
    the outbox leaves."""
    fired, now = 0, start
    for _ in range(hours + 1):
        if before is not None:
            before(now)
        fired += engine.fire_due(now)
        db.session.commit()
        run_in(messaging.send_due_messages, now)
        now += STEP
    return fired


def edit_rules(rules) -> None:
    """Every field a staff member may change: delay, time, template text."""
    for rule in rules:
        data = {"name": rule.name, "trigger": rule.trigger, "offset_days": rule.offset_days + 1,
                "send_time": "07:30", "audience": rule.audience, "template_id": rule.template_id,
                "attachments": list(rule.attachments)}
        services.update_rule(rule, data, None)
        services.save_template(rule.template, rule.template.subject + " (modifié)",
                               rule.template.body + "\n\nTexte modifié.", None)
    db.session.commit()


# --------------------------------------------------------------------------- surveys


@pytest.fixture
def survey_world(ended, survey_clock):
    engine.ensure_defaults()
    db.session.execute(delete(OutboxMessage))  # the setup's own e-mails are not the rules' business
    db.session.commit()
    return ended


def test_the_default_survey_rules_replace_the_send_jobs(survey_world):
    rules = {r.code: r for r in db.session.scalars(select(AutomationRule).where(
        AutomationRule.trigger.startswith("survey_send_")))}
    assert {code: (r.offset_days, r.audience, r.template.code) for code, r in rules.items()} == {
        "survey_send_hot": (0, "trainee", "survey_invitation"),
        "survey_send_acquis": (0, "trainee", "survey_invitation"),
        "survey_send_trainer_report": (0, "trainer", "survey_invitation"),
        "survey_send_client": (7, "company_hr", "survey_invitation"),
        "survey_send_funder": (7, "funder", "survey_invitation"),
        "survey_send_cold": (60, "trainee", "survey_invitation")}
    assert rules["survey_send_cold"].name == "Enquête « évaluation à froid » : envoi J+60 aux stagiaires"


def test_the_survey_dry_run_is_what_leaves_once_with_links_that_open_the_survey(
        survey_world, run_in, smtp_server, client):
    session, enrolments = survey_world
    start = END - STEP
    dry_run = [p for p in engine.plan(start, start + dt.timedelta(days=2))]
    db.session.rollback()
    assert db.session.scalars(select(SurveyInvitation)).all() == []  # the dry run made no invitation
    assert not [p.error for p in dry_run if p.error]
    kinds = sorted(p.rule.code for p in dry_run)
    assert kinds == ["survey_send_acquis"] * 3 + ["survey_send_hot"] * 3 + ["survey_send_trainer_report"]
    hot = next(p for p in dry_run if p.rule.code == "survey_send_hot" and p.recipient.email == "p1@exemple.fr")
    assert hot.subject == f"Satisfaction à chaud – {session.title}" and hot.when == END
    assert "Merci d'avoir participé à la formation" in hot.text
    shown_links = {p.recipient.email + p.rule.code: LINK.search(p.text).group(0) for p in dry_run}

    assert run_passes(run_in, start, 48) == len(dry_run)
    assert received(smtp_server) == listed(dry_run)
    # The e-mail carries the very link the dry run showed, and it opens the person's survey.
    for mail in smtp_server.messages:
        text = mail.get_body(preferencelist=("plain",)).get_content()
        assert LINK.search(text).group(0) in shown_links.values()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolments[0].id,
                                                                  SurveyInvitation.kind == "hot"))
    assert invitation.sent_at is not None and shown_links["p1@exemple.fr" + "survey_send_hot"] == \
        surveys.survey_url(invitation)
    response = client.get(surveys.survey_url(invitation).split("localhost", 1)[1])
    assert response.status_code == 200 and "Satisfaction à chaud" in page(response)

    # Once: another pass, « send now », an edited rule send nothing more.
    count = len(smtp_server.messages)
    assert surveys.send_survey({"session_id": session.id, "kind": "hot"}) == 0
    edit_rules(list(db.session.scalars(select(AutomationRule).where(
        AutomationRule.id.in_({p.rule.id for p in dry_run})))))
    assert [p for p in engine.plan(start, start + dt.timedelta(days=2)) if p.rule.id in {q.rule.id for q in dry_run}
            ] == []
    assert run_passes(run_in, start, 48) == 0
    assert len(smtp_server.messages) == count
    assert len(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.kind == "hot")).all()) == 3


def test_the_company_and_cold_surveys_wait_their_delay(survey_world):
    session, _ = survey_world
    planned = engine.plan(END, END + dt.timedelta(days=61), session_id=session.id)
    db.session.rollback()
    sends = {(p.rule.code, p.recipient.email): p.when for p in planned if p.rule.trigger.startswith("survey_send_")}
    assert sends[("survey_send_client", "rh@dupont.example")] == END + dt.timedelta(days=7)
    assert sends[("survey_send_cold", "p3@exemple.fr")] == END + dt.timedelta(days=60)


def test_a_session_not_marked_completed_sends_no_survey_and_an_answer_on_the_spot_is_not_mailed(
        survey_world, users):
    session, enrolments = survey_world
    invitation = surveys.hot_invitation_on_site(session, enrolments[0])
    invitation.responded_at = END
    db.session.commit()
    planned = [p for p in engine.plan(END, END + STEP) if p.rule.code == "survey_send_hot"]
    assert sorted(p.recipient.email for p in planned) == ["p2@exemple.fr", "p3@exemple.fr"]
    db.session.rollback()
    session.status = "in_progress"  # not marked « terminée » yet: nothing leaves
    db.session.commit()
    assert [p for p in engine.plan(END, END + STEP) if p.rule.trigger.startswith("survey_send_")] == []


def test_an_old_send_job_ends_quietly_and_old_links_still_open(survey_world, client):
    session, enrolments = survey_world
    messaging.schedule_job("survey_send", f"survey:hot:{session.id}", END, {"session_id": session.id, "kind": "hot"})
    db.session.commit()
    assert messaging.run_due_jobs(END) == (1, 0)
    assert db.session.scalars(select(SurveyInvitation)).all() == [] and db.session.scalars(
        select(OutboxMessage)).all() == []
    engine.fire_due(END)
    db.session.commit()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolments[1].id,
                                                                  SurveyInvitation.kind == "hot"))
    old = make_token(surveys.TOKEN_PURPOSE, {"i": invitation.id})  # a link e-mailed before issue 25
    assert surveys.invitation_from_token(old).id == invitation.id
    assert client.get(f"/s/{old}").status_code == 200
    assert client.get(f"/s/{surveys._key_serializer().dumps('hot:0:enrolment:0')}").status_code == 404
    assert client.get("/s/nimporte-quoi").status_code == 403


# --------------------------------------------------------------------------- payment calls

SIGNED = dt.date(2031, 2, 1)
AFTER_WITHDRAWAL = dt.date(2031, 2, 12)
COURSE_DAY = MONDAY


def at(day: dt.date, hour: int = 8) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS).astimezone(dt.UTC)


@pytest.fixture
def calls_world(inter, monkeypatch):
    """A self-paying trainee's schedule (180 € on 12/02, 420 € on the course's day), their address known, the
    session confirmed, the organisation's IBAN set; ``day["today"]`` is the schedule's clock."""
    day = {"today": dt.date(2031, 2, 5)}
    monkeypatch.setattr("trainingmgr.billing.schedule.services.paris_today", lambda: day["today"])
    enrolment = enrol_with(inter.session, 1, [{"kind": "individual", "amount": "600.00"}])
    enrolment.contract_signed_on = SIGNED
    fill_buyer(create_draft(inter.session, {"payer_kind": "individual", "payer_trainee_id": enrolment.trainee_id},
                            inter.advisor))
    update_organisation({"iban": IBAN, "bic": "AGRIFRPP"})
    change_status(inter.session, "confirmed", inter.advisor)
    schedule.save(enrolment, [{"due_on": AFTER_WITHDRAWAL, "amount": "180"}, {"due_on": COURSE_DAY, "amount": "420"}],
                  inter.advisor, today=day["today"])
    engine.ensure_defaults()
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    return enrolment, day


def test_the_payment_call_rule_sends_what_the_dry_run_lists_once(calls_world, run_in, smtp_server):
    enrolment, day = calls_world
    [rule] = db.session.scalars(select(AutomationRule).where(AutomationRule.code == "payment_call")).all()
    assert (rule.trigger, rule.audience, rule.attachments) == ("payment_call_invoiced", "trainee",
                                                               ["call_invoice", "call_transfer_qr"])
    # Before its date, nothing is invoiced: nothing to list (an invoice's number exists once issued).
    assert [p for p in engine.plan(at(day["today"]), at(AFTER_WITHDRAWAL, 23)) if p.rule.id == rule.id] == []
    db.session.rollback()
    day["today"] = AFTER_WITHDRAWAL
    messaging.run_due_jobs(at(AFTER_WITHDRAWAL))  # the call's job, 08:00: the invoice issued
    db.session.commit()
    first = schedule.calls_of(enrolment)[0]
    invoice = first.invoice
    assert (first.status, invoice.total_incl_vat) == ("sent", Decimal("180.00"))
    dry_run = [p for p in engine.plan(at(AFTER_WITHDRAWAL), at(AFTER_WITHDRAWAL) + dt.timedelta(days=7))
               if p.rule.id == rule.id]
    db.session.rollback()
    [planned] = dry_run
    assert planned.recipient.email == enrolment.trainee.email and planned.when == at(AFTER_WITHDRAWAL)
    assert planned.subject == (f"Échéance 1/2 de votre formation « {enrolment.session.title} » : facture "
                               f"{invoice.number} de {money_fr(Decimal('180.00'))}")
    assert [name for _, name in planned.attachments] == [f"{invoice.number}.docx", f"virement-{invoice.number}.png"]
    assert f"- échéance 2 : {money_fr(Decimal('420.00'))} le 03/03/2031" in planned.text and f"référence {invoice.number}" in planned.text

    assert run_passes(run_in, at(AFTER_WITHDRAWAL), 24) == 1
    assert received(smtp_server) == listed(dry_run)
    [mail] = smtp_server.messages
    assert "à régler au plus tard le" in mail.get_body(preferencelist=("plain",)).get_content()
    # Once: the next passes, an edited rule, a second click send nothing more.
    edit_rules([rule])
    assert run_passes(run_in, at(AFTER_WITHDRAWAL), 24) == 0 and len(smtp_server.messages) == 1


def test_a_call_sent_by_hand_leaves_at_the_next_pass_and_the_next_one_on_its_day(calls_world, run_in, smtp_server):
    enrolment, day = calls_world
    day["today"] = dt.date(2031, 2, 14)  # the first call's job was refused (no address then): sent by hand

    def jobs(now):
        messaging.run_due_jobs(now)
        db.session.commit()

    first = schedule.calls_of(enrolment)[0]
    schedule.send_call(first, None, address={"buyer_address": "5 rue des Fleurs", "buyer_postal_code": "31400",
                                             "buyer_city": "Toulouse"})
    db.session.commit()
    run_passes(run_in, at(day["today"], 15), 1, before=jobs)
    day["today"] = COURSE_DAY
    run_passes(run_in, at(COURSE_DAY, 7), 3, before=jobs)  # the job invoices at 08:00, the rule mails it
    subjects = [str(m["Subject"])[:12] for m in smtp_server.messages if str(m["Subject"]).startswith("Éché")]
    assert subjects == ["Échéance 1/2", "Échéance 2/2"]
    assert len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == schedule.TOPIC)).all()) == 2
    assert [c.status for c in schedule.calls_of(enrolment)] == ["sent", "sent"]
