"""The attendance automations: the signing link at each half-day's opening, « Demi-journée close avec des signatures
manquantes » (default: the advisor told at the close) and « Absence constatée » (default: the employer's HR contact,
as the immediate absence alert did), their recipients, conditions and offsets, and the ledger (once each)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.attendance import services as attendance
from trainingmgr.attendance.models import AbsenceAlert
from trainingmgr.automations import engine, registry
from trainingmgr.automations.models import AutomationFiring, AutomationRule, MailTemplate
from trainingmgr.automations.rendering import check_template
from trainingmgr.companies.services import save_contact
from trainingmgr.extensions import db

from tests.enrolments.support import outbox
from tests.fixtures.attendance import Clock, paris
from tests.helpers import MONDAY

ADVISOR = "conseil@formaction.example"  # the organisation's quality contact (tests' world)


@pytest.fixture(autouse=True)
def frozen(app, monkeypatch):
    """The attendance code's clock (tests/fixtures/attendance.py), moved by each step below."""
    global CLOCK
    CLOCK = Clock(monkeypatch)
    yield CLOCK
    CLOCK = None


CLOCK = None


def fire(hhmm: str, day: dt.date = MONDAY) -> int:
    """The worker's pass at ``hhmm`` (Paris) on ``day``, the clock there; committed."""
    count = engine.fire_due(CLOCK.at(hhmm, day))
    db.session.commit()
    return count


def dry_run(hhmm: str, hours: int = 24, day: dt.date = MONDAY) -> list[engine.Planned]:
    now = CLOCK.at(hhmm, day)
    return engine.plan(now, now + dt.timedelta(hours=hours))


def rule_of(code: str) -> AutomationRule:
    engine.ensure_defaults()
    return db.session.scalar(select(AutomationRule).where(AutomationRule.code == code))


def new_rule(trigger: str, audience: str, template_code: str, offset_days: int = 0, body: str | None = None):
    """A rule made in the browser (enabled since long ago)."""
    engine.ensure_defaults()
    template = db.session.scalar(select(MailTemplate).where(MailTemplate.code == template_code))
    if body is not None:
        template = MailTemplate(name="Essai", context=template.context, subject="Essai {{ slot.date }}", body=body)
    rule = AutomationRule(name=f"Essai {audience}", trigger=trigger, offset_days=offset_days, audience=audience,
                          template=template, attachments=[], active=True,
                          enabled_since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    db.session.add(rule)
    db.session.commit()
    return rule


def at(hhmm: str, fn, *args, day: dt.date = MONDAY, **kwargs):
    result = fn(*args, now=CLOCK.at(hhmm, day), **kwargs)
    db.session.commit()
    return result


def sign(slot, enrolment, hhmm: str):
    return at(hhmm, attendance.sign, slot, enrolment, method="link", typed_name=enrolment.trainee.full_name)


def mark(slot, enrolment, users, hhmm: str, **data):
    return at(hhmm, attendance.mark_presence, slot, enrolment, data, users["trainer"])


def halves(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))


@pytest.fixture
def employer(world):
    save_contact(world.company, None, {"role": "signatory", "name": "Jean Dupont", "email": "direction@dupont.example"})
    save_contact(world.company, None, {"role": "hr", "name": "Marie Dupont", "email": "rh@dupont.example"})
    world.company.absence_alerts = True
    db.session.commit()
    return world.company


@pytest.fixture
def staffed(klass, employer):
    """The class of three, the first two employed by the company."""
    session, enrolments = klass
    for enrolment in enrolments[:2]:
        enrolment.company = employer
    db.session.commit()
    return session, enrolments


# --------------------------------------------------------------------------- registry and templates


def test_the_contexts_triggers_and_default_rules_are_registered(app):
    assert registry.TRIGGERS["halfday_missing"].label == "Demi-journée close avec des signatures manquantes"
    assert registry.TRIGGERS["absence_marked"].label == "Absence constatée"
    assert set(registry.TRIGGERS["absence_marked"].audiences) == {"company_hr", "company_signatory", "trainee",
                                                                  "advisor"}
    assert {"missing.full_name", "link", "slot.half_day", "session.place"} <= registry.variable_names("slot")
    assert {"company.name", "trainee.full_name", "absence.kind"} <= registry.variable_names("absence")
    rules = {code: registry.DEFAULT_RULES[code] for code in ("absence_alert", "attendance_link", "attendance_missing")}
    assert {(r.trigger, r.audience) for r in rules.values()} == {
        ("absence_marked", "company_hr"), ("halfday_open", "trainee"), ("halfday_missing", "advisor")}
    for code in ("absence_alert", "attendance_link", "attendance_missing"):
        template = registry.DEFAULT_TEMPLATES[code]
        assert check_template(template.context, template.subject, template.body) == [], code


def test_the_default_rules_are_active(app):
    assert all(rule_of(code).active for code in ("absence_alert", "attendance_link", "attendance_missing"))


# --------------------------------------------------------------------------- opening links


def test_each_trainee_who_has_not_signed_gets_the_link_at_the_opening_once(klass):
    session, (julie, paul, sarah) = klass
    morning = halves(session)[0]
    planned = [p for p in dry_run("07:00", hours=2) if p.rule.code == "attendance_link"]
    assert sorted(p.recipient.email for p in planned) == sorted(e.trainee.email for e in (julie, paul, sarah))
    assert {p.when for p in planned} == {paris(MONDAY, "08:15")}
    fire("08:10")
    assert outbox("attendance_link") == []
    fire("08:16")
    messages = outbox("attendance_link")
    assert len(messages) == 3 and all(m.subject == f"Feuille d'émargement ouverte – {session.title}" for m in messages)
    mail = next(m for m in messages if m.recipient == julie.trainee.email)
    assert "/emargement/" in mail.body_text and "jusqu'à 13:30" in mail.body_text and mail.enrolment_id == julie.id
    assert "matin (08:30–12:30)" in mail.body_text
    fire("08:30")
    assert len(outbox("attendance_link")) == 3
    fire("13:16")  # the afternoon opens
    assert len(outbox("attendance_link")) == 6
    assert db.session.scalar(select(AutomationFiring.id).where(AutomationFiring.object_id == morning.id,
                                                               AutomationFiring.occasion == "open")) is not None


def test_no_link_once_the_window_has_closed(klass):
    fire("18:45")  # the worker was down all day: both windows closed, links would no longer sign
    assert outbox("attendance_link") == []


# --------------------------------------------------------------------------- missing signatures


def test_the_advisor_is_told_of_the_missing_signatures_at_the_close(klass, users):
    session, (julie, paul, sarah) = klass
    morning, afternoon = halves(session)
    sign(morning, julie, "09:00")
    mark(morning, sarah, users, "09:05", presence="absent")
    planned = [p for p in dry_run("09:10") if p.rule.code == "attendance_missing"]
    assert [(p.recipient.email, p.when) for p in planned] == [
        (ADVISOR, paris(MONDAY, "13:30")), (ADVISOR, paris(MONDAY, "18:30"))]
    fire("13:29")
    assert outbox("attendance_missing") == []
    fire("13:31")
    (mail,) = outbox("attendance_missing")
    assert mail.recipient == ADVISOR and mail.subject == f"Signatures manquantes – {session.title}, 03/03/2031 matin"
    assert f"- {paul.trainee.full_name}\n" in mail.body_text
    assert julie.trainee.full_name not in mail.body_text and sarah.trainee.full_name not in mail.body_text
    assert f"/attendance/slots/{morning.id}" in mail.body_text
    fire("14:00")
    assert len(outbox("attendance_missing")) == 1
    # Everybody signs the afternoon: nothing to say about it.
    for enrolment in (julie, paul, sarah):
        sign(afternoon, enrolment, "14:00")
    fire("18:31")
    assert len(outbox("attendance_missing")) == 1


def test_a_rule_to_trainees_and_trainers_with_an_offset(klass):
    session, (julie, paul, sarah) = klass
    morning = halves(session)[0]
    sign(morning, julie, "09:00")
    body = "{{ recipient.name }} : {% for m in missing %}{{ m.full_name }}; {% endfor %}{{ link }}"
    trainees = new_rule("halfday_missing", "trainee", "attendance_missing", offset_days=1, body=body)
    trainers = new_rule("halfday_missing", "trainer", "attendance_missing", body=body)
    fire("13:31")
    to_trainer = [m for m in outbox("automation") if m.recipient == "formateur@test.example"]
    assert len(to_trainer) == 1 and f"/attendance/slots/{morning.id}" in to_trainer[0].body_text
    assert paul.trainee.full_name in to_trainer[0].body_text
    assert not [m for m in outbox("automation") if m.recipient == paul.trainee.email]
    tuesday = MONDAY + dt.timedelta(days=1)
    fire("13:31", day=tuesday)
    to_trainees = sorted(m.recipient for m in outbox("automation") if m.recipient != "formateur@test.example")
    assert to_trainees == sorted([paul.trainee.email, sarah.trainee.email])  # not Julie, who signed
    assert {f.rule_id for f in db.session.scalars(select(AutomationFiring))} >= {trainees.id, trainers.id}


# --------------------------------------------------------------------------- absences


def test_an_absence_mails_the_hr_contact_once_whatever_the_marks_after_it(staffed, users):
    session, (alice, bob, _) = staffed
    slot = halves(session)[0]
    mark(slot, alice, users, "09:00", presence="absent")
    planned = [p for p in dry_run("09:00", hours=1) if p.rule.code == "absence_alert"]
    assert [(p.recipient.email, p.when, p.subject) for p in planned] == [
        ("rh@dupont.example", paris(MONDAY, "09:00"), f"Absence de {alice.trainee.full_name} – {session.title}")]
    fire("09:01")
    mark(slot, alice, users, "09:10", presence="absent")
    mark(slot, alice, users, "10:15", presence="present", arrived_at="10:15")
    fire("10:20")
    (mail,) = outbox("absence_alert")
    assert mail.recipient == "rh@dupont.example" and mail.subject == planned[0].subject
    assert mail.body_text.startswith("Bonjour Marie Dupont,\n\n")
    assert "est noté(e) absent(e) à la demi-journée du 03/03/2031, matin (08:30–12:30)" in mail.body_text
    assert "Dupont" in mail.body_text and "a demandé à être prévenue" in mail.body_text
    alerts = list(db.session.scalars(select(AbsenceAlert)))
    assert [(a.enrolment_id, a.slot_id, a.kind, a.message_id) for a in alerts] == [(alice.id, slot.id, "absent",
                                                                                     mail.id)]


def test_what_the_sheet_reads_when_it_leaves(staffed, users):
    session, (alice, bob, _) = staffed
    morning, afternoon = halves(session)
    mark(morning, alice, users, "09:00", presence="absent")
    sign(morning, alice, "09:20")  # she came after all: nothing leaves
    mark(morning, bob, users, "09:00", presence="present", arrived_at="09:40")
    fire("09:45")
    (mail,) = outbox("absence_alert")
    assert mail.subject.startswith(f"Retard de {bob.trainee.full_name}") and "en retard, à 09:40" in mail.body_text


def test_no_alert_unless_the_company_asked_and_an_early_departure_alone_is_not_one(staffed, users, employer):
    session, (alice, bob, other) = staffed
    morning = halves(session)[0]
    mark(morning, alice, users, "12:00", presence="present", left_at="11:30")
    mark(morning, other, users, "09:00", presence="absent")  # no employer
    employer.absence_alerts = False
    db.session.commit()
    mark(morning, bob, users, "09:00", presence="absent")
    fire("12:05")
    assert outbox("absence_alert") == []
    assert db.session.scalar(select(AbsenceAlert.id)) is None


def test_other_audiences_and_an_offset(staffed, users):
    session, (alice, _, _) = staffed
    morning = halves(session)[0]
    signatory = new_rule("absence_marked", "company_signatory", "absence_alert", offset_days=2)
    trainee = new_rule("absence_marked", "trainee", "absence_alert")
    mark(morning, alice, users, "09:00", presence="absent")
    fire("09:05")
    assert [m.recipient for m in outbox("automation")] == [alice.trainee.email]
    assert [m.recipient for m in outbox("absence_alert")] == ["rh@dupont.example"]
    fire("08:59", day=MONDAY + dt.timedelta(days=2))
    assert len(outbox("automation")) == 1
    fire("09:01", day=MONDAY + dt.timedelta(days=2))
    assert [m.recipient for m in outbox("automation")][1:] == ["direction@dupont.example"]
    assert {f.rule_id for f in db.session.scalars(select(AutomationFiring))} >= {signatory.id, trainee.id}


def test_editing_the_rule_never_sends_again(staffed, users):
    session, (alice, _, _) = staffed
    morning = halves(session)[0]
    mark(morning, alice, users, "09:00", presence="absent")
    fire("09:05")
    rule = rule_of("absence_alert")
    rule.offset_days = 1
    rule.active = False
    db.session.commit()
    rule.active = True
    db.session.commit()
    fire("09:05", day=MONDAY + dt.timedelta(days=1))
    assert len(outbox("absence_alert")) == 1
    assert [p for p in dry_run("09:00", hours=72) if p.rule.code == "absence_alert"] == []


def test_the_preview_samples_a_real_half_day_and_absence(staffed, users):
    session, (alice, _, _) = staffed
    morning = halves(session)[0]
    assert registry.CONTEXTS["absence"].sample(session.id, None) is None  # nobody absent yet
    mark(morning, alice, users, "09:00", presence="absent")
    absence, recipient = registry.CONTEXTS["absence"].sample(session.id, alice.id)
    assert absence.enrolment.id == alice.id and recipient.email == "rh@dupont.example"
    half_day, trainee = registry.CONTEXTS["slot"].sample(session.id, alice.id)
    assert half_day.slot.id == morning.id and trainee.enrolment_id == alice.id
    context = registry.CONTEXTS["slot"].build(half_day, trainee)
    assert context["link"].startswith("http") and "/emargement/" in context["link"]
    assert context["session"]["place"] and context["org"]["signature"]
