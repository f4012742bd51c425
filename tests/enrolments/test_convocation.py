"""Convocations: the job "convocation:<id>" is due at confirmation, or at J−7 09:00 Paris before the first slot
when that is later (CONVOCATION_DAYS_BEFORE); running it queues the convocation with its documents and a .ics to
the trainee and the employer's HR contact, dates it and records it; a cancelled enrolment's job sends nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.companies.services import save_contact
from trainingmgr.core.timeutil import PARIS, paris_today, utcnow
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.services import run_due_jobs, schedule_job, send_due_messages

from tests.enrolments.support import event_kinds, events, fresh, job_of, outbox, recipients
from tests.fixtures.enrolments import confirm, enrol
from tests.helpers import MONDAY

UTC = dt.timezone.utc


def paris(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(UTC)


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
    enrolment = enrol(dume_session, new_trainee(1))
    job = job_of(enrolment)
    assert job.key == f"convocation:{enrolment.id}"
    assert job.due_at == paris(MONDAY - dt.timedelta(days=7), 9)
    assert job.due_at == dt.datetime(2031, 2, 24, 8, 0, tzinfo=UTC)


def test_summer_time_is_respected(world, open_session, new_trainee):
    june = dt.date(2031, 6, 16)  # a Monday, Paris on UTC+2
    session = open_session(course=world.dume, start=june)
    enrolment = enrol(session, new_trainee(1))
    assert job_of(enrolment).due_at == dt.datetime(2031, 6, 9, 7, 0, tzinfo=UTC)


def test_the_delay_is_a_setting(app, monkeypatch, world, dume_session, new_trainee):
    monkeypatch.setitem(app.config, "CONVOCATION_DAYS_BEFORE", 3)
    enrolment = enrol(dume_session, new_trainee(1))
    assert job_of(enrolment).due_at == paris(MONDAY - dt.timedelta(days=3), 9)


def test_a_session_starting_within_the_week_is_convoked_at_confirmation(world, open_session, new_trainee):
    start = paris_today() + dt.timedelta(days=3)
    session = open_session(course=world.dume, start=start)
    before = utcnow()
    enrolment = enrol(session, new_trainee(1))
    after = utcnow()
    due = job_of(enrolment).due_at
    assert before - dt.timedelta(seconds=1) <= due <= after + dt.timedelta(seconds=1)
    confirm(session)
    run_due_jobs(now=utcnow() + dt.timedelta(seconds=5))
    assert recipients("convocation", enrolment) == ["p01@exemple.fr"]


def test_running_the_job_sends_the_convocation_to_the_trainee_and_the_hr_contact(world, company_with_contacts,
                                                                                dume_session, new_trainee):
    trainee = new_trainee(1, company_id=company_with_contacts.id)
    enrolment = enrol(dume_session, trainee)
    confirm(dume_session)
    due = job_of(enrolment).due_at
    assert run_due_jobs(now=due - dt.timedelta(minutes=1)) == (0, 0)  # not yet
    assert outbox("convocation") == []
    assert run_due_jobs(now=due + dt.timedelta(minutes=1)) == (1, 0)
    messages = outbox("convocation", enrolment)
    assert [m.recipient for m in messages] == ["p01@exemple.fr", "rh@dupont.example"]
    for message in messages:
        assert message.subject.startswith("Convocation – Marchés publics : DUME et Chorus Pro")
        # The convocation, the programme, the règlement intérieur (test_convocation_pack.py), then the .ics.
        assert [a.filename.split("-")[0] for a in message.attachments[:3]] == ["CONVOC", "PROG", "RI"]
        assert (message.attachments[3].filename, message.attachments[3].content_type) == (
            f"convocation-session-{dume_session.id}.ics", "text/calendar")
        ics = message.attachments[3].data.decode()
        assert "BEGIN:VCALENDAR" in ics and ics.count("BEGIN:VEVENT") == len(dume_session.slots)
    assert "Vous êtes convoqué(e)" in messages[0].body_text
    assert "/t/" in messages[0].body_text  # the trainee's personal link
    assert "Bonjour Rémi RH" in messages[1].body_text
    assert "convocation de Mme Prénom01 Nom01" in messages[1].body_text
    assert "/t/" not in messages[1].body_text  # the employer does not get the trainee's link
    enrolment = fresh(Enrolment, enrolment.id)
    assert enrolment.convocation_sent_at is None  # queued, not sent yet: the outbox dates the sending
    assert job_of(enrolment).status == "done"
    last = events(enrolment)[-1]
    assert last.kind == "convocation"
    assert last.message == "Convocation mise en envoi pour p01@exemple.fr, rh@dupont.example."
    assert send_due_messages() == (3, 0)  # the enrolment e-mail and the two convocations (console backend)
    enrolment = fresh(Enrolment, enrolment.id)
    sent = fresh(type(messages[0]), messages[0].id)
    assert enrolment.convocation_sent_at == sent.sent_at
    assert events(enrolment)[-1].message == ("Convocation écrite dans la console pour p01@exemple.fr (aucun e-mail "
                                             "n'est parti).")  # the tests' console backend
    # Run again: nothing more.
    assert run_due_jobs(now=due + dt.timedelta(days=1)) == (0, 0)
    assert len(outbox("convocation")) == 2


def test_without_hr_contact_the_signatory_gets_it_and_without_company_only_the_trainee(world, dume_session,
                                                                                       new_trainee):
    save_contact(world.company, None, {"role": "signatory", "name": "Anne Dupont", "email": "anne@dupont.example"})
    db.session.commit()
    employed = enrol(dume_session, new_trainee(1, company_id=world.company.id))
    alone = enrol(dume_session, new_trainee(2, bpf_status="individual"))
    confirm(dume_session)
    run_due_jobs(now=job_of(employed).due_at + dt.timedelta(minutes=1))
    assert recipients("convocation", employed) == ["p01@exemple.fr", "anne@dupont.example"]
    assert recipients("convocation", alone) == ["p02@exemple.fr"]


def test_a_cancelled_enrolment_gets_no_convocation(world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    due = job_of(enrolment).due_at
    services.cancel(fresh(Enrolment, enrolment.id), world.users["advisor"], "Désistement")
    db.session.commit()
    assert job_of(enrolment).status == "cancelled"
    assert run_due_jobs(now=due + dt.timedelta(minutes=1)) == (0, 0)
    # Even a job still pending (put back by hand) sends nothing for a cancelled enrolment.
    schedule_job("convocation", f"convocation:{enrolment.id}", due, {"enrolment_id": enrolment.id})
    db.session.commit()
    assert run_due_jobs(now=due + dt.timedelta(minutes=1)) == (1, 0)
    assert outbox("convocation") == []
    assert fresh(Enrolment, enrolment.id).convocation_sent_at is None
    assert "convocation" not in event_kinds(enrolment)


def test_a_cancelled_session_sends_no_convocation(world, open_session, new_trainee):
    from trainingmgr.sessions.services import change_status

    session = open_session(course=world.dume)
    enrolment = enrol(session, new_trainee(1))
    due = job_of(enrolment).due_at
    change_status(session, "cancelled", world.users["advisor"], reason="Trop peu d'inscrits")
    db.session.commit()
    run_due_jobs(now=due + dt.timedelta(minutes=1))
    assert outbox("convocation") == []
    assert job_of(enrolment).status == "cancelled"


def test_the_waiting_list_is_not_convoked_until_promoted(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    first, second = enrol(session, new_trainee(1)), enrol(session, new_trainee(2))
    assert job_of(second) is None
    confirm(session)
    due = job_of(first).due_at
    run_due_jobs(now=due + dt.timedelta(minutes=1))
    assert recipients("convocation") == ["p01@exemple.fr"]
    # Promoted after the first's convocation left: the second has its own job and convocation.
    services.cancel(fresh(Enrolment, first.id), world.users["advisor"], "Empêchement")
    db.session.commit()
    later = utcnow() + dt.timedelta(days=3650)
    run_due_jobs(now=later)
    assert recipients("convocation") == ["p01@exemple.fr", "p02@exemple.fr"]


def test_an_open_session_convokes_nobody_until_it_is_confirmed(world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    due = job_of(enrolment).due_at
    # Due, but the session is still only open: the job waits for the next morning, no attempt counted.
    assert run_due_jobs(now=due + dt.timedelta(minutes=1)) == (0, 0)
    job = job_of(enrolment)
    assert (job.status, job.attempts) == ("pending", 0)
    assert job.last_error == "En attente de la confirmation de la session."
    assert job.due_at.astimezone(PARIS).time() == dt.time(9, 0)
    assert outbox("convocation") == []
    # Confirming the session brings the convocation back to J−7 (or now when later).
    confirm(dume_session)
    assert job_of(enrolment).due_at == due
    assert run_due_jobs(now=due + dt.timedelta(minutes=1)) == (1, 0)
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
