"""The survey automations: « Enquête sans réponse après n jours » and its default rules, the reminders at J+3 and J+7
after a survey's send to the person it went to (as the old reminder jobs did), once each, only while unanswered, the
needs analysis never after the session has started; today's wording; the context's audiences and variables.

The surveys' clock is ``survey_clock`` (tests/fixtures/evaluations.py): ``run_due_jobs(at)`` moves it, and with it
the clock this module's reminders count with."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import render_template
from sqlalchemy import select

from trainingmgr.automations import engine, registry
from trainingmgr.automations.models import AutomationFiring, AutomationRule, MailTemplate
from trainingmgr.automations.rendering import check_template
from trainingmgr.automations.triggers import surveys as survey_automations
from trainingmgr.evaluations.models import QUESTIONNAIRE_KINDS, Questionnaire, SurveyInvitation
from trainingmgr.evaluations.surveys import services as surveys
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job
from trainingmgr.organisation.services import get_organisation

from tests.enrolments.support import outbox
from tests.fixtures.attendance import paris
from tests.fixtures.evaluations import run_due_jobs
from tests.helpers import MONDAY

END = paris(MONDAY, "17:30")  # the end of the ``ended`` session: its hot, acquis and trainer surveys leave then
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def clock(survey_clock, monkeypatch):
    monkeypatch.setattr(survey_automations, "utcnow", lambda: survey_clock["now"])
    return survey_clock


def tick(at: dt.datetime) -> int:
    """One pass of the worker at ``at``: the due jobs (the surveys' first sends), then the rules; committed."""
    run_due_jobs(at)
    count = engine.fire_due(at)
    db.session.commit()
    return count


def reminders(subject: str = "") -> list:
    return [m for m in outbox(survey_automations.TOPIC) if subject in m.subject]


def invitation_of(enrolment, kind: str = "hot") -> SurveyInvitation:
    db.session.expire_all()
    return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolment.id,
                                                            SurveyInvitation.kind == kind))


def submit(invitation: SurveyInvitation) -> None:
    """The person answers (every question, a 4 on the scales), through the survey service."""
    data = {}
    for question in invitation.questionnaire.questions:
        if question.kind == "scale":
            data[f"q{question.id}"] = "4"
        elif question.kind in ("single", "multiple"):
            data[f"q{question.id}"] = str(question.choices[0].id)
        elif question.kind == "yes_no":
            data[f"q{question.id}"] = "yes"
        elif question.kind == "text":
            data[f"q{question.id}"] = "Très bien."
    surveys.answer(invitation, data, submit=True)
    db.session.commit()


# --------------------------------------------------------------------------- the default rules


def test_the_default_rules_remind_each_audience_at_j3_and_j7(app):
    engine.ensure_defaults()
    db.session.commit()
    rules = db.session.scalars(select(AutomationRule).where(AutomationRule.trigger == "survey_unanswered")).all()
    assert sorted((r.audience, r.offset_days) for r in rules) == sorted(
        (audience, days) for audience in ("trainee", "company_hr", "trainer", "funder") for days in (3, 7))
    assert {r.template.code for r in rules} == {"survey_reminder"} and all(r.active for r in rules)
    assert all(r.enabled_since is None for r in rules)
    assert all(engine.topic_of(r) == "survey_reminder" for r in rules)
    template = registry.DEFAULT_TEMPLATES["survey_reminder"]
    assert check_template("survey", template.subject, template.body) == []
    # Nothing schedules the old reminder jobs any more.
    assert "survey_remind" not in {job.kind for job in db.session.scalars(select(Job))}


def test_reminders_leave_at_j3_and_j7_to_those_who_have_not_answered(ended):
    session, (first, second, _) = ended
    tick(END)
    assert reminders() == []
    assert not db.session.scalars(select(Job).where(Job.kind == "survey_remind")).all()
    # The dry run shows what will leave, when: each invitation sent at the end, reminded at J+3 and J+7.
    planned = engine.plan(END, END + 8 * DAY)
    ours = [p for p in planned if p.rule.trigger == "survey_unanswered"]
    hot = invitation_of(first)
    assert sorted(p.when for p in ours if p.obj.id == hot.id) == [END + 3 * DAY, END + 7 * DAY]
    assert {p.recipient.email for p in ours} == {"p1@exemple.fr", "p2@exemple.fr", "p3@exemple.fr",
                                                  "formateur@test.example"}
    # Nothing before J+3; at J+3 one reminder per unanswered invitation (hot, acquis quiz, trainer's report).
    tick(END + 3 * DAY - dt.timedelta(minutes=1))
    assert reminders() == []
    tick(END + 3 * DAY)
    title = session.title
    assert sorted(m.recipient for m in reminders("Satisfaction à chaud")) == ["p1@exemple.fr", "p2@exemple.fr",
                                                                            "p3@exemple.fr"]
    assert [m.recipient for m in reminders("Bilan du formateur")] == ["formateur@test.example"]
    assert len(reminders("Évaluation des acquis")) == 3
    mail = next(m for m in reminders("Satisfaction à chaud") if m.recipient == "p1@exemple.fr")
    assert mail.subject == f"Rappel : Satisfaction à chaud – {title}" and mail.enrolment_id == first.id
    assert "il est encore temps" in mail.body_text and "/s/" in mail.body_text and mail.body_html
    hot = invitation_of(first)
    assert hot.reminders == 1 and hot.last_reminder_at == END + 3 * DAY
    # The first trainee answers: the J+7 reminder skips their hot survey only.
    submit(hot)
    tick(END + 7 * DAY)
    hot_reminders = [m.recipient for m in reminders("Satisfaction à chaud")]
    assert hot_reminders.count("p1@exemple.fr") == 1 and hot_reminders.count("p2@exemple.fr") == 2
    assert invitation_of(first).reminders == 1 and invitation_of(second).reminders == 2
    assert len(reminders("Évaluation des acquis")) == 6  # the quiz was not answered by anyone


def test_each_rule_reminds_once_whatever_the_passes(ended):
    tick(END)
    tick(END + 3 * DAY)
    count = len(reminders())
    assert count == 7  # 3 hot, 3 acquis, 1 trainer's report
    for at in (END + 3 * DAY, END + 3 * DAY + dt.timedelta(hours=5), END + 5 * DAY):
        tick(at)
        assert len(reminders()) == count
        assert not [p for p in engine.plan(at, at + DAY) if p.rule.trigger == "survey_unanswered"]
    # An edited rule (J+3 moved to J+4) does not send again: the occasion is keyed without the offset.
    rule = db.session.scalar(select(AutomationRule).where(AutomationRule.code == "survey_reminder_trainee_j3"))
    rule.offset_days = 4
    db.session.commit()
    tick(END + 4 * DAY)
    assert len(reminders()) == count
    keys = db.session.scalars(select(AutomationFiring).where(AutomationFiring.rule_id == rule.id)).all()
    assert len(keys) == 6 and {k.occasion for k in keys} == {"unanswered"}


def test_an_answered_survey_gets_no_reminder(ended):
    _, enrolments = ended
    tick(END)
    for enrolment in enrolments:
        submit(invitation_of(enrolment))
    assert not [p for p in engine.plan(END, END + 10 * DAY) if p.obj.kind == "hot"]
    tick(END + 3 * DAY)
    tick(END + 7 * DAY)
    assert reminders("Satisfaction à chaud") == [] and len(reminders("Évaluation des acquis")) == 6


def test_a_reminder_due_during_an_outage_leaves_once_within_the_late_limit(ended):
    tick(END)
    tick(END + 3 * DAY + engine.LATE_LIMIT - dt.timedelta(minutes=1))  # the worker is back just in time
    assert len(reminders()) == 7
    tick(END + 7 * DAY + engine.LATE_LIMIT)  # back too late for the J+7 reminders: none leaves
    assert len(reminders()) == 7


def test_the_client_survey_goes_to_the_company_and_is_reminded_from_its_own_send(ended):
    tick(END)
    tick(END + 7 * DAY)  # the client survey leaves at J+7
    assert [m.recipient for m in outbox("survey_client")] == ["rh@dupont.example"]
    assert reminders("Satisfaction de l'entreprise") == []
    tick(END + 10 * DAY)
    (mail,) = reminders("Satisfaction de l'entreprise")
    assert mail.recipient == "rh@dupont.example" and mail.enrolment_id is None


# --------------------------------------------------------------------------- today's wording


def _old_reminder(invitation: SurveyInvitation, template: str) -> str:
    """The reminder the old job sent (the mail templates' reminder branch)."""
    from trainingmgr.sessions.models import TrainingSession

    session = db.session.get(TrainingSession, invitation.session_id)
    label = QUESTIONNAIRE_KINDS[invitation.kind]
    return render_template(template, invitation=invitation, session=session, org=get_organisation(),
                           link=surveys.survey_url(invitation), reminder=True, label=label.lower(),
                           anonymous=invitation.questionnaire.anonymous)


@pytest.mark.parametrize("anonymous", [False, True])
def test_the_reminder_says_what_the_old_one_said(ended, app, anonymous):
    _, (first, _, _) = ended
    hot = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot"))
    hot.anonymous = anonymous
    db.session.commit()
    tick(END)
    tick(END + 3 * DAY)
    invitation = invitation_of(first)
    mail = next(m for m in reminders("Satisfaction à chaud") if m.recipient == "p1@exemple.fr")
    link = mail.body_text.split("/s/", 1)[1].split()[0]
    old = _old_reminder(invitation, "mail/survey.txt")
    old_link = old.split("/s/", 1)[1].split()[0]
    assert mail.body_text.strip() == old.replace(old_link, link).strip()
    assert ("Vos réponses sont anonymes" in mail.body_text) is anonymous


# --------------------------------------------------------------------------- the needs analysis


@pytest.fixture
def needs_sent(world, make_session, surveys, users, clock):
    """A DUME session on MONDAY whose company (HR contact: Marie Dupont) got the needs analysis five days before."""
    from trainingmgr.companies.services import save_contact
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.evaluations.needs import services as needs
    from trainingmgr.sessions.services import change_status
    from trainingmgr.trainees.services import save_trainee

    save_contact(world.company, None, {"role": "hr", "name": "Marie Dupont", "email": "rh@dupont.example"})
    session = make_session(course=world.dume)
    change_status(session, "open", users["advisor"])
    trainee = save_trainee(None, {"civility": "Mme", "first_name": "Prénom", "last_name": "Nom",
                                  "email": "p1@exemple.fr", "company_id": world.company.id})
    enrol(session, trainee, company=world.company, actor=users["advisor"], notify=False)
    start = min(slot.starts_at for slot in session.slots)
    clock["now"] = start - 5 * DAY
    (invitation,) = needs.send_needs_analysis(session, users["advisor"], now=start - 5 * DAY).invitations
    db.session.commit()
    return session, invitation, start


def test_the_needs_analysis_is_reminded_only_before_the_session_starts(needs_sent):
    session, invitation, start = needs_sent
    sent = start - 5 * DAY
    planned = [p for p in engine.plan(sent, start + 10 * DAY) if p.rule.trigger == "survey_unanswered"]
    assert [(p.when, p.rule.offset_days) for p in planned] == [(sent + 3 * DAY, 3)]  # J+7 falls after the start
    assert engine.fire_due(sent + 3 * DAY) >= 1
    db.session.commit()
    (mail,) = reminders()
    assert mail.recipient == "rh@dupont.example"
    assert mail.subject == f"Rappel : Analyse des besoins – {session.title}"
    old = _old_reminder(invitation, "mail/needs_analysis.txt")
    link = mail.body_text.split("/s/", 1)[1].split()[0]
    assert mail.body_text.strip() == old.replace(old.split("/s/", 1)[1].split()[0], link).strip()
    assert "Nous n'avons pas encore reçu votre analyse des besoins" in mail.body_text
    engine.fire_due(sent + 7 * DAY)
    db.session.commit()
    assert len(reminders()) == 1


def test_a_cancelled_session_reminds_nobody(needs_sent, users):
    from trainingmgr.sessions.services import change_status

    session, _, start = needs_sent
    change_status(session, "cancelled", users["advisor"], reason="Trop peu d'inscrits")
    db.session.commit()
    assert not [p for p in engine.plan(start - 5 * DAY, start) if p.rule.trigger == "survey_unanswered"]


# --------------------------------------------------------------------------- the context


def test_an_advisor_rule_gets_the_session_page_not_the_personal_link(ended, app):
    engine.ensure_defaults()
    template = db.session.scalar(select(MailTemplate).where(MailTemplate.code == "survey_reminder"))
    rule = AutomationRule(name="Point sur les enquêtes", trigger="survey_unanswered", offset_days=5,
                          audience="advisor", template=template, attachments=[], active=True)
    db.session.add(rule)
    db.session.commit()
    tick(END)
    planned = [p for p in engine.plan(END, END + 6 * DAY) if p.rule.id == rule.id]
    staff = get_organisation().quality_contact_email
    assert len(planned) == 7 and {p.recipient.email for p in planned} == {staff}  # one per unanswered invitation
    for message in planned:
        assert "/s/" not in message.text and f"/sessions/{message.obj.session_id}" in message.text
    session, (first, _, _) = ended
    context = registry.CONTEXTS["survey"]
    invitation = invitation_of(first)
    values = context.build(invitation, context.recipients(invitation, "trainee")[0])
    assert values["survey"]["name"] == "Satisfaction à chaud" and values["survey"]["label"] == "satisfaction à chaud"
    assert values["recipient"]["email"] == "p1@exemple.fr" and values["link"].startswith("http://localhost/s/")
    assert values["session"]["dates"] == session.dates_label and values["deadline"] == ""
    assert context.recipients(invitation, "trainer") == [] and context.recipients(invitation, "company_hr") == []
    # The preview's sample: the trainee's own invitation.
    sample, recipient = context.sample(session.id, first.id)
    assert sample.enrolment_id == first.id and recipient.email == "p1@exemple.fr"
    assert context.sample(session.id + 1000, None) is None
