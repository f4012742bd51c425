"""The engine: the default set, the plan (who, when, what, which files, what it skips) and the firing that follows
it. The clock is the argument ``now`` (the engine reads no other); the session starts on MONDAY (2031-03-03)."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select

from tests.fixtures.automations import first_start, only, paris, rule_of
from tests.helpers import MONDAY
from trainingmgr.automations import engine, registry, services
from trainingmgr.automations.models import AutomationFiring, AutomationRule, MailTemplate, MailTemplateVersion
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

SATURDAY, FRIDAY = MONDAY - dt.timedelta(days=2), MONDAY - dt.timedelta(days=3)
TESTS = ("test_reminder_j2", "test_mission_j3")


def week_plan(now=None, **kwargs):
    now = now or paris(FRIDAY - dt.timedelta(days=4))
    return only(engine.plan(now, now + dt.timedelta(days=7), **kwargs), *TESTS)


def outbox(topic: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if topic is not None:
        query = query.where(OutboxMessage.topic == topic)
    return list(db.session.scalars(query))


def test_ensure_defaults_creates_the_missing_templates_and_rules_once(app, test_automations):
    engine.ensure_defaults()
    engine.ensure_defaults()
    db.session.commit()
    rule = rule_of("test_reminder_j2")
    assert (rule.trigger, rule.offset_days, rule.send_time, rule.audience, rule.attachments, rule.active,
            rule.enabled_since) == ("test_before_start", 2, "09:00", "trainee", ["test_ics"], True, None)
    assert rule.template.code == "test_reminder" and rule.template.version == 1
    assert [(v.version, v.subject) for v in rule.template.versions] == [(1, "Rappel : {{ session.title }}")]
    assert db.session.scalar(select(func.count()).select_from(MailTemplate).where(
        MailTemplate.code == "test_reminder")) == 1
    assert db.session.scalar(select(func.count()).select_from(AutomationRule).where(
        AutomationRule.code.in_(TESTS))) == 2
    assert db.session.scalar(select(func.count()).select_from(MailTemplateVersion)) == len(registry.DEFAULT_TEMPLATES)


def test_ensure_defaults_keeps_what_the_organisation_changed(app, test_automations, services_clock):
    engine.ensure_defaults()
    rule = rule_of("test_reminder_j2")
    services.set_rule_active(rule, False, None)
    services.save_template(rule.template, "Autre objet", "Autre corps", None)
    engine.ensure_defaults()
    db.session.commit()
    rule = rule_of("test_reminder_j2")
    assert (rule.active, rule.template.subject, rule.template.version) == (False, "Autre objet", 2)


def test_the_plan_lists_each_message_with_its_moment_recipient_subject_and_files(app, rules_world):
    session = rules_world
    planned = week_plan()
    assert [(p.rule.code, p.recipient.email, p.when) for p in planned] == [
        ("test_mission_j3", "formateur@test.example", paris(FRIDAY, 8, 30)),
        ("test_reminder_j2", "p01@exemple.fr", paris(SATURDAY)),
        ("test_reminder_j2", "p02@exemple.fr", paris(SATURDAY)),
    ]
    mission, reminder, _ = planned
    assert mission.subject == f"Mission : {session.title}" and mission.attachments == [] and not mission.error
    assert reminder.subject == f"Rappel : {session.title}"
    assert reminder.text.startswith("Bonjour Prénom01 Nom01,\n\nRendez-vous le 03/03/2031.")
    assert reminder.attachments == [("Agenda", f"session-{session.id}.ics")]
    assert (reminder.occurrence.object_type, reminder.occurrence.occasion) == ("session", "start")
    assert reminder.key == (reminder.rule.id, "p01@exemple.fr", "session", session.id, "start")


def test_the_plan_stops_at_its_end_and_filters_by_session(app, rules_world, open_session):
    other = open_session()  # a week later
    assert len(week_plan()) == 3
    assert week_plan(session_id=other.id) == []  # its trainer is due a week later, it has no trainee
    now = paris(FRIDAY, 8, 0)
    assert [p.rule.code for p in only(engine.plan(now, paris(FRIDAY, 9)), *TESTS)] == ["test_mission_j3"]
    assert [p.recipient.email for p in week_plan(rule=rule_of("test_reminder_j2"))] == [
        "p01@exemple.fr", "p02@exemple.fr"]


def test_a_message_already_due_is_planned_now(app, rules_world):
    now = paris(SATURDAY, 12)
    planned = only(engine.plan(now, now + dt.timedelta(days=7)), *TESTS)
    assert {p.when for p in planned} == {now}
    assert len(planned) == 3


def test_a_switched_off_rule_plans_nothing(app, rules_world, services_clock):
    services.set_rule_active(rule_of("test_reminder_j2"), False, None)
    assert [p.rule.code for p in week_plan()] == ["test_mission_j3"]


def test_a_rule_switched_off_for_the_session_plans_nothing_for_it(app, rules_world, open_session, services_clock):
    other = open_session()
    services.set_rule_session(rule_of("test_mission_j3"), rules_world.id, True, None)
    now = paris(FRIDAY - dt.timedelta(days=4))
    planned = only(engine.plan(now, now + dt.timedelta(days=14)), "test_mission_j3")
    assert [p.occurrence.session_id for p in planned] == [other.id]
    services.set_rule_session(rule_of("test_mission_j3"), rules_world.id, False, None)
    assert len(only(engine.plan(now, now + dt.timedelta(days=14)), "test_mission_j3")) == 2


def test_a_recipient_without_an_address_is_skipped(app, rules_world, world):
    world.pierre.email = ""
    db.session.commit()
    assert [p.rule.code for p in week_plan()] == ["test_reminder_j2"] * 2


def test_an_expired_occurrence_is_not_planned(app, rules_world):
    session_start = first_start(rules_world)
    assert only(engine.plan(session_start, session_start + dt.timedelta(days=1)), *TESTS) == []


def test_past_the_late_limit_nothing_is_planned(app, rules_world, monkeypatch):
    monkeypatch.setattr(engine, "LATE_LIMIT", dt.timedelta(hours=1))
    now = paris(SATURDAY, 9, 30)  # the J−3 was due yesterday, the J−2 half an hour ago
    assert len(only(engine.plan(now, now), *TESTS)) == 3  # their own expiry (the session's start) decides
    trigger = registry.TRIGGERS["test_before_start"]

    def without_expiry(rule, start, end):
        return [dataclasses.replace(o, expires_at=None) for o in trigger.find(rule, start, end)]

    monkeypatch.setitem(registry.TRIGGERS, trigger.code, dataclasses.replace(trigger, find=without_expiry))
    assert [p.rule.code for p in only(engine.plan(now, now), *TESTS)] == ["test_reminder_j2"] * 2


def test_a_rule_made_in_the_browser_does_not_mail_the_past(app, rules_world, services_clock):
    template = rule_of("test_reminder_j2").template
    services_clock.now = paris(SATURDAY, 10)  # after the J−2 moment, before J−1
    data = {"name": "Rappel", "trigger": "test_before_start", "offset_days": 2, "send_time": "09:00",
            "audience": "trainee", "template_id": template.id, "attachments": [], "active": True}
    late = services.create_rule(data, None)
    timely = services.create_rule({**data, "offset_days": 1}, None)
    db.session.commit()
    now = paris(SATURDAY, 11)
    planned = engine.plan(now, now + dt.timedelta(days=2))
    assert [p for p in planned if p.rule.id == late.id] == []
    assert [(p.recipient.email, p.when) for p in planned if p.rule.id == timely.id] == [
        ("p01@exemple.fr", paris(MONDAY - dt.timedelta(days=1))),
        ("p02@exemple.fr", paris(MONDAY - dt.timedelta(days=1)))]
    assert engine.topic_of(timely) == "automation"


def test_a_template_that_fails_is_shown_with_its_error_and_not_sent(app, rules_world, services_clock):
    rule = rule_of("test_mission_j3")
    rule.template.body = "{{ 1 / 0 }}"  # stored before the checks, say
    db.session.commit()
    mission = week_plan()[0]
    assert mission.error == "Modèle « Mission (test) » : Corps, ligne 1 : le modèle ne peut pas être rendu : " \
                            "division par zéro."
    assert engine.fire_due(paris(SATURDAY)) == 2  # the trainees' still leave
    db.session.commit()
    assert [m.recipient for m in outbox()] == ["p01@exemple.fr", "p02@exemple.fr"]
    assert db.session.scalar(select(func.count()).select_from(AutomationFiring).where(
        AutomationFiring.rule_id == rule.id)) == 0


def test_an_attachment_that_fails_skips_that_message_only(app, rules_world, monkeypatch):
    kind = registry.ATTACHMENTS["test_ics"]

    def broken(session, recipient):
        if recipient.email == "p01@exemple.fr":
            raise RuntimeError("disque plein")
        return kind.build(session, recipient)

    monkeypatch.setitem(registry.ATTACHMENTS, "test_ics", registry.AttachmentKind(
        kind.code, kind.label, kind.contexts, kind.describe, broken))
    assert engine.fire_due(paris(SATURDAY)) == 2
    db.session.commit()
    assert sorted(m.recipient for m in outbox()) == ["formateur@test.example", "p02@exemple.fr"]
    assert [p.recipient.email for p in week_plan(paris(SATURDAY, 10))] == ["p01@exemple.fr"]  # tried again


def test_firing_queues_html_and_text_with_the_topic_the_enrolment_and_the_files(app, rules_world):
    assert engine.fire_due(paris(SATURDAY)) == 3
    db.session.commit()
    reminder = outbox("test_reminder")[0]
    assert reminder.recipient == "p01@exemple.fr" and reminder.enrolment_id is not None
    assert reminder.body_text.startswith("Bonjour Prénom01 Nom01,")
    assert "Bonjour Prénom01 Nom01," in reminder.body_html and "<html" in reminder.body_html.lower()
    assert [a.filename for a in reminder.attachments] == [f"session-{rules_world.id}.ics"]
    [mission] = outbox("test_mission_j3")  # a default rule without its own topic: its code
    assert mission.enrolment_id is None
    firing = db.session.scalar(select(AutomationFiring).where(AutomationFiring.message_id == reminder.id))
    assert (firing.recipient, firing.occasion, firing.session_id, firing.due_at, firing.template_version) == (
        "p01@exemple.fr", "start", rules_world.id, paris(SATURDAY), 1)


def test_after_fired_runs_once_per_message(app, rules_world, monkeypatch):
    seen = []
    trigger = registry.TRIGGERS["test_before_start"]
    monkeypatch.setitem(registry.TRIGGERS, trigger.code, registry.Trigger(
        trigger.code, trigger.label, trigger.context, trigger.offset, trigger.audiences, trigger.find,
        dated=True, after_fired=lambda obj, recipient, message: seen.append((recipient.email, message.subject))))
    engine.fire_due(paris(SATURDAY))
    engine.fire_due(paris(SATURDAY, 10))
    assert sorted(email for email, _ in seen) == ["formateur@test.example", "p01@exemple.fr", "p02@exemple.fr"]


def test_topic_of_a_default_rule_is_its_own(app, rules_world):
    assert engine.topic_of(rule_of("test_reminder_j2")) == "test_reminder"
    assert engine.topic_of(rule_of("test_mission_j3")) == "test_mission_j3"


def test_fire_now_sends_today_what_a_rule_plans_for_one_session_and_only_once(app, rules_world, open_session):
    other = open_session()  # a week later: its reminders keep their date
    now = paris(FRIDAY - dt.timedelta(days=20))  # weeks before the J−2 reminder
    reminder = rule_of("test_reminder_j2")
    assert engine.fire_now(now, session_id=rules_world.id, rules=[reminder]) == 2
    db.session.commit()
    assert [(m.recipient, m.topic) for m in outbox()] == [("p01@exemple.fr", "test_reminder"),
                                                          ("p02@exemple.fr", "test_reminder")]
    firing = db.session.scalar(select(AutomationFiring).where(AutomationFiring.message_id == outbox()[0].id))
    assert (firing.session_id, firing.due_at, firing.fired_at) == (rules_world.id, paris(SATURDAY), now)
    # A second click, then the date itself: nothing more (the ledger); the other rule and session are untouched.
    assert engine.fire_now(now, session_id=rules_world.id, rules=[reminder]) == 0
    assert only(engine.plan(paris(SATURDAY), paris(SATURDAY), session_id=rules_world.id), "test_reminder_j2") == []
    assert engine.fire_due(paris(SATURDAY)) == 1  # the trainer's mission, at its own date
    assert [p.rule.code for p in week_plan(paris(SATURDAY), session_id=other.id)] != []
