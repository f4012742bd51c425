"""Convocations: the default automation rules « convocation » (the trainee) and « convocation_company » (the
employer's HR contact, once per company) fire at J−7 09:00 Paris before the first slot, or at the worker's next pass
when the trainee is confirmed later (automations/triggers/sessions.py); each queues the convocation with its
documents and a .ics, records it in the history, and the sending dates it; a cancelled enrolment gets nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.automations import engine
from trainingmgr.automations.models import AutomationRule
from trainingmgr.companies.services import save_contact
from trainingmgr.core.timeutil import PARIS, paris_today, utcnow
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.services import send_due_messages

from tests.enrolments.support import event_kinds, events, fresh, outbox, recipients
from tests.fixtures.enrolments import confirm, enrol
from tests.helpers import MONDAY

UTC = dt.timezone.utc


def paris(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(UTC)


def convocations_due(now: dt.datetime, until: dt.datetime | None = None) -> list:
    """The convocations the worker will send from ``now`` to ``until`` (the dry run)."""
    return [p for p in engine.plan(now, until or now) if engine.topic_of(p.rule) == "convocation"]


def due_at(session) -> set[dt.datetime]:
    """When the convocations of ``session`` leave, as planned over the year to come."""
    start = min(s.date for s in session.slots)
    now = paris(start - dt.timedelta(days=300), 0)
    return {p.when for p in convocations_due(now, paris(start, 23))}


def fire(now: dt.datetime) -> int:
    count = engine.fire_due(now)
    db.session.commit()
    return count


@pytest.fixture
def company_with_contacts(world):
    company = world.company
    save_contact(company, None, {"role": "signatory", "name": "Anne Dupont", "email": "anne@dupont.example"})
    save_contact(company, None, {"role": "hr", "name": "Rémi RH", "email": "rh@dupont.example"})
    save_contact(company, None, {"role": "accounting", "name": "Compta", "email": "compta@dupont.example"})
    db.session.commit()
    return company


def test_far_session_convocation_is_due_at_j_minus_7_at_9_paris(world, dume_session, new_trainee):
    # DUME starts on MONDAY at 08:30 (Paris, winter time).
    first = min(dume_session.slots, key=lambda s: (s.date, s.start_time))
    assert (first.date, first.start_time) == (MONDAY, dt.time(8, 30))
    enrol(dume_session, new_trainee(1))
    confirm(dume_session)
    assert due_at(dume_session) == {paris(MONDAY - dt.timedelta(days=7), 9)}
    assert due_at(dume_session) == {dt.datetime(2031, 2, 24, 8, 0, tzinfo=UTC)}


def test_summer_time_is_respected(world, open_session, new_trainee):
    june = dt.date(2031, 6, 16)  # a Monday, Paris on UTC+2
    session = open_session(course=world.dume, start=june)
    enrol(session, new_trainee(1))
    confirm(session)
    assert due_at(session) == {dt.datetime(2031, 6, 9, 7, 0, tzinfo=UTC)}


def test_the_delay_is_the_rules_offset(world, dume_session, new_trainee):
    engine.ensure_defaults()
    for rule in db.session.scalars(select(AutomationRule).where(AutomationRule.code.like("convocation%"))):
        rule.offset_days = 3
    db.session.commit()
    enrol(dume_session, new_trainee(1))
    confirm(dume_session)
    assert due_at(dume_session) == {paris(MONDAY - dt.timedelta(days=3), 9)}


def test_a_session_starting_within_the_week_is_convoked_at_confirmation(world, open_session, new_trainee):
    start = paris_today() + dt.timedelta(days=3)
    session = open_session(course=world.dume, start=start)
    enrolment = enrol(session, new_trainee(1))
    confirm(session)
    now = utcnow() + dt.timedelta(seconds=5)
    assert [p.when for p in convocations_due(now)] == [now]
    fire(now)
    assert recipients("convocation", enrolment) == ["p01@exemple.fr"]


def test_the_convocation_goes_to_the_trainee_and_the_hr_contact(world, company_with_contacts, dume_session,
                                                                 new_trainee):
    trainee = new_trainee(1, company_id=company_with_contacts.id)
    enrolment = enrol(dume_session, trainee)
    confirm(dume_session)
    [due] = due_at(dume_session)
    assert fire(due - dt.timedelta(minutes=1)) == 0 or outbox("convocation") == []  # not yet
    assert outbox("convocation") == []
    fire(due)
    messages = outbox("convocation", enrolment)
    assert [m.recipient for m in messages] == ["p01@exemple.fr", "rh@dupont.example"]
    for message in messages:
        assert message.subject.startswith("Convocation – Marchés publics : DUME et Chorus Pro")
        # The convocation, the programme, the règlement intérieur (test_convocation_pack.py), then the .ics.
        assert [a.filename.split("-")[0] for a in message.attachments[:3]] == ["convocation", "programme", "reglement"]
        assert (message.attachments[3].filename, message.attachments[3].content_type) == (
            f"session-{dume_session.id}.ics", "text/calendar")
        ics = message.attachments[3].data.decode()
        assert "BEGIN:VCALENDAR" in ics and ics.count("BEGIN:VEVENT") == len(dume_session.slots)
    assert "Vous êtes convoqué(e)" in messages[0].body_text
    assert "/t/" in messages[0].body_text  # the trainee's personal link
    assert "Bonjour Rémi RH" in messages[1].body_text
    assert "convocation de Mme Prénom01 Nom01" in messages[1].body_text
    assert "/t/" not in messages[1].body_text  # the employer does not get the trainee's link
    enrolment = fresh(Enrolment, enrolment.id)
    assert enrolment.convocation_sent_at is None  # queued, not sent yet: the outbox dates the sending
    assert [e.message for e in events(enrolment) if e.kind == "convocation"] == [
        "Convocation mise en envoi pour p01@exemple.fr.",
        "Convocation mise en envoi pour rh@dupont.example (Cabinet d'architecture Dupont)."]
    send_due_messages(now=due + dt.timedelta(minutes=1))
    enrolment = fresh(Enrolment, enrolment.id)
    sent = fresh(type(messages[0]), messages[0].id)
    assert enrolment.convocation_sent_at == sent.sent_at
    assert events(enrolment)[-1].message == ("Convocation écrite dans la console pour p01@exemple.fr (aucun e-mail "
                                             "n'est parti).")  # the tests' console backend
    # Another pass: nothing more.
    assert fire(due + dt.timedelta(days=1)) == 0 or len(outbox("convocation")) == 2
    assert len(outbox("convocation")) == 2


def test_without_hr_contact_the_signatory_gets_it_and_without_company_only_the_trainee(world, dume_session,
                                                                                       new_trainee):
    save_contact(world.company, None, {"role": "signatory", "name": "Anne Dupont", "email": "anne@dupont.example"})
    db.session.commit()
    employed = enrol(dume_session, new_trainee(1, company_id=world.company.id))
    alone = enrol(dume_session, new_trainee(2, bpf_status="individual"))
    confirm(dume_session)
    [due] = due_at(dume_session)
    fire(due)
    assert recipients("convocation", employed) == ["p01@exemple.fr", "anne@dupont.example"]
    assert recipients("convocation", alone) == ["p02@exemple.fr"]


def test_a_cancelled_enrolment_gets_no_convocation(world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    confirm(dume_session)
    [due] = due_at(dume_session)
    services.cancel(fresh(Enrolment, enrolment.id), world.users["advisor"], "Désistement")
    db.session.commit()
    assert convocations_due(due) == []
    fire(due + dt.timedelta(minutes=1))
    assert outbox("convocation") == []
    assert fresh(Enrolment, enrolment.id).convocation_sent_at is None
    assert "convocation" not in event_kinds(enrolment)


def test_a_cancelled_session_sends_no_convocation(world, open_session, new_trainee):
    from trainingmgr.sessions.services import change_status

    session = open_session(course=world.dume)
    enrol(session, new_trainee(1))
    confirm(session)
    [due] = due_at(session)
    change_status(session, "cancelled", world.users["advisor"], reason="Trop peu d'inscrits")
    db.session.commit()
    fire(due + dt.timedelta(minutes=1))
    assert outbox("convocation") == []


def test_the_waiting_list_is_not_convoked_until_promoted(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    first, second = enrol(session, new_trainee(1)), enrol(session, new_trainee(2))
    confirm(session)
    [due] = due_at(session)
    fire(due)
    assert recipients("convocation") == ["p01@exemple.fr"]
    # Promoted after the first's convocation left: the second gets its own at the next pass, before the start.
    services.cancel(fresh(Enrolment, first.id), world.users["advisor"], "Empêchement")
    db.session.commit()
    assert fresh(Enrolment, second.id).status == "confirmed"
    fire(due + dt.timedelta(days=2))
    assert recipients("convocation") == ["p01@exemple.fr", "p02@exemple.fr"]


def test_an_open_session_convokes_nobody_until_it_is_confirmed(world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    due = paris(MONDAY - dt.timedelta(days=7), 9)
    # Due, but the session is still only open: nothing is planned, nothing leaves.
    assert convocations_due(due) == []
    fire(due + dt.timedelta(minutes=1))
    assert outbox("convocation") == []
    # Confirmed at J−5: the convocation leaves at the next pass.
    confirm(dume_session)
    later = due + dt.timedelta(days=2)
    assert [p.when for p in convocations_due(later)] == [later]
    fire(later)
    assert recipients("convocation", enrolment) == ["p01@exemple.fr"]


def test_an_open_session_near_its_start_warns_that_convocations_wait(world, open_session, new_trainee):
    from trainingmgr.sessions.services import session_warnings

    soon = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=5))
    assert not any("convocations attendent" in w for w in session_warnings(soon))  # nobody enrolled yet
    enrol(soon, new_trainee(1))
    assert "J−5 et session non confirmée : les convocations attendent sa confirmation." in session_warnings(soon)
    far = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=30))
    enrol(far, new_trainee(2))
    assert not any("convocations attendent" in w for w in session_warnings(far))
    confirm(soon)
    assert not any("convocations attendent" in w for w in session_warnings(soon))
