"""Absence alerts: a company that asked for them has its HR contact (or else its signatory) e-mailed when an
employee is marked absent or late on a half-day, once per employee and half-day whatever the marks after it. The
e-mail is the default automation rule « Absence ou retard : prévenir l'entreprise »: it leaves at the worker's next
pass (``engine.fire_due``, run here after each mark)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from trainingmgr.attendance import services
from trainingmgr.attendance.models import AbsenceAlert
from trainingmgr.automations import engine
from trainingmgr.companies.services import save_contact
from trainingmgr.extensions import db
from trainingmgr.messaging.services import send_due_messages

from tests.enrolments.support import outbox
from tests.helpers import page

TOPIC = "absence_alert"


@pytest.fixture
def employer(world):
    """The client company, its HR contact and its signatory, absence alerts chosen."""
    save_contact(world.company, None, {"role": "signatory", "name": "Jean Dupont", "email": "direction@dupont.example"})
    save_contact(world.company, None, {"role": "hr", "name": "Marie Dupont", "email": "rh@dupont.example"})
    world.company.absence_alerts = True
    db.session.commit()
    return world.company


@pytest.fixture
def staffed(klass, employer):
    """The class of three: the first two employed by the company, the third on their own."""
    session, enrolments = klass
    for enrolment in enrolments[:2]:
        enrolment.company = employer
    db.session.commit()
    return session, enrolments


def first_slot(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))[0]


def fire(clock) -> None:
    """The worker's pass now: the automation rules' messages due."""
    engine.fire_due(clock.now)
    db.session.commit()


def mark(slot, enrolment, users, clock, **data):
    record = services.mark_presence(slot, enrolment, data, users["trainer"])
    db.session.commit()
    fire(clock)
    return record


def test_an_absence_mails_the_hr_contact_once_whatever_the_marks_after_it(staffed, users, clock):
    session, (alice, bob, _) = staffed
    slot = first_slot(session)
    mark(slot, alice, users, clock, presence="absent")
    mark(slot, alice, users, clock, presence="absent")
    mark(slot, alice, users, clock, presence="present", arrived_at="10:15")
    mails = outbox(TOPIC)
    assert [m.recipient for m in mails] == ["rh@dupont.example"]
    assert mails[0].subject == f"Absence de {alice.trainee.full_name} – {session.title}"
    assert "est noté(e) absent(e)" in mails[0].body_text and "matin (08:30–12:30)" in mails[0].body_text
    alerts = list(db.session.scalars(select(AbsenceAlert)))
    assert [(a.enrolment_id, a.slot_id, a.kind, a.message_id) for a in alerts] == [
        (alice.id, slot.id, "absent", mails[0].id)]


def test_a_late_arrival_mails_its_time_and_each_half_day_counts_once(staffed, users, clock):
    session, (alice, _, _) = staffed
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    mark(morning, alice, users, clock, presence="present", arrived_at="09:40")
    clock.at("13:45")
    mark(afternoon, alice, users, clock, presence="absent")
    mails = outbox(TOPIC)
    assert [m.subject.split(" de ")[0] for m in mails] == ["Retard", "Absence"]
    assert "en retard, à 09:40" in mails[0].body_text
    assert "après-midi" in mails[1].body_text


def test_an_early_departure_alone_sends_nothing(staffed, users, clock):
    session, (alice, _, _) = staffed
    clock.at("12:00")
    mark(first_slot(session), alice, users, clock, presence="present", left_at="11:30")
    assert outbox(TOPIC) == []


def test_nothing_is_sent_unless_the_company_chose_it(staffed, users, clock, employer):
    session, (alice, _, other) = staffed
    employer.absence_alerts = False
    db.session.commit()
    mark(first_slot(session), alice, users, clock, presence="absent")
    mark(first_slot(session), other, users, clock, presence="absent")  # no employer at all
    assert outbox(TOPIC) == []
    assert db.session.scalar(select(AbsenceAlert.id)) is None


def test_without_hr_contact_the_signatory_is_told(staffed, users, clock, employer):
    for contact in employer.contacts:
        if contact.role == "hr":
            contact.role = "accounting"
    db.session.commit()
    session, (alice, _, _) = staffed
    mark(first_slot(session), alice, users, clock, presence="absent")
    assert [m.recipient for m in outbox(TOPIC)] == ["direction@dupont.example"]


def test_the_advisor_s_correction_to_absent_alerts_too(staffed, users, clock):
    session, (_, bob, _) = staffed
    slot = first_slot(session)
    clock.at("14:00")
    services.correct(slot, bob, {"presence": "absent", "reason": "Parti avant la pause, sans signer"},
                     users["advisor"])
    db.session.commit()
    fire(clock)
    assert [m.recipient for m in outbox(TOPIC)] == ["rh@dupont.example"]


def test_a_refused_mark_sends_nothing(staffed, users, clock, trainer):
    session, (alice, _, _) = staffed
    slot = first_slot(session)
    response = trainer.post(f"/attendance/slots/{slot.id}/marks/{alice.id}",
                            data={"presence": "present", "arrived_at": "25:99"})
    assert response.status_code == 422
    fire(clock)
    assert outbox(TOPIC) == []


def test_the_e_mail_is_received_once_by_the_smtp_server_after_marking_twice(
        staffed, trainer, clock, smtp_app, smtp_server):  # noqa: F811 - fixtures imported above
    session, (alice, _, _) = staffed
    slot = first_slot(session)
    for _ in range(2):
        response = trainer.post(f"/attendance/slots/{slot.id}/marks/{alice.id}", data={"presence": "absent"})
        assert response.status_code == 302
    with smtp_app.app_context():
        try:
            engine.fire_due(clock.now)  # the worker's pass: the rule queues the e-mail, then the outbox sends it
            db.session.commit()
            sent, failed = send_due_messages()
        finally:
            db.session.remove()
    assert sent >= 1 and failed == 0  # with the other rules' messages due then (the links at the opening)
    received = [m for m in smtp_server.messages if m["To"] == "rh@dupont.example"]
    assert len(received) == 1 and received[0]["Subject"].startswith("Absence de ")
    assert alice.trainee.full_name in received[0].get_body(("plain",)).get_content()


def test_the_company_form_keeps_the_choice(world, advisor):
    form = {"name": world.company.name, "siret": world.company.siret, "absence_alerts": "y"}
    assert advisor.post(f"/companies/{world.company.id}", data=form).status_code == 302
    db.session.expire_all()
    assert world.company.absence_alerts is True
    assert 'name="absence_alerts"' in page(advisor.get(f"/companies/{world.company.id}"))
    form.pop("absence_alerts")
    assert advisor.post(f"/companies/{world.company.id}", data=form).status_code == 302
    db.session.expire_all()
    assert world.company.absence_alerts is False
