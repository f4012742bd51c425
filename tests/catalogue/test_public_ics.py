"""The .ics file of a public session: one VEVENT per half-day slot, in Europe/Paris time."""
from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from trainingmgr.catalogue.services import set_course_status
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status

from tests.helpers import MONDAY

UTC = dt.timezone.utc


def ics_url(course, session) -> str:
    return f"/catalogue/{course.slug}/sessions/{session.id}.ics"


def events(response) -> list:
    calendar = Calendar.from_ical(response.data)
    return [c for c in calendar.walk() if c.name == "VEVENT"]


def test_ics_is_a_valid_calendar_with_one_event_per_slot(client, world, open_session):
    session = open_session()
    response = client.get(ics_url(world.chorus, session))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="session-{session.id}.ics"'
    calendar = Calendar.from_ical(response.data)
    assert calendar["VERSION"] == "2.0"
    zones = [c for c in calendar.walk() if c.name == "VTIMEZONE"]
    assert [str(z["TZID"]) for z in zones] == ["Europe/Paris"]
    vevents = events(response)
    assert len(vevents) == len(session.slots) == 2
    for event, slot in zip(vevents, session.slots):
        assert event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event["DTEND"].params["TZID"] == "Europe/Paris"
        assert event.decoded("DTSTART") == slot.starts_at
        assert event.decoded("DTEND") == slot.ends_at
        assert "Chorus Pro" in str(event["SUMMARY"])
        assert "Salle Capitole" in str(event["LOCATION"])
    assert len({str(e["UID"]) for e in vevents}) == 2


def test_ics_times_are_paris_wall_clock_times(client, world, open_session):
    """3 March 2031 is winter time (UTC+1); 31 March 2031 is summer time (UTC+2)."""
    winter = open_session(course=world.dume, start=MONDAY)
    summer = open_session(course=world.dume, start=dt.date(2031, 3, 31))
    (w1, w2) = events(client.get(ics_url(world.dume, winter)))
    assert w1.decoded("DTSTART").astimezone(UTC) == dt.datetime(2031, 3, 3, 7, 30, tzinfo=UTC)
    assert w2.decoded("DTEND").astimezone(UTC) == dt.datetime(2031, 3, 3, 16, 30, tzinfo=UTC)
    (s1, s2) = events(client.get(ics_url(world.dume, summer)))
    assert s1.decoded("DTSTART").astimezone(UTC) == dt.datetime(2031, 3, 31, 6, 30, tzinfo=UTC)
    assert s2.decoded("DTEND").astimezone(UTC) == dt.datetime(2031, 3, 31, 15, 30, tzinfo=UTC)


def test_ics_of_a_confirmed_session(client, world, open_session):
    session = open_session()  # an inter session opens its enrolments before it is confirmed
    change_status(session, "confirmed")
    db.session.commit()
    vevents = events(client.get(ics_url(world.chorus, session)))
    assert len(vevents) == 2
    assert [str(e["STATUS"]) for e in vevents] == ["CONFIRMED", "CONFIRMED"]


def test_ics_of_an_open_session_is_tentative(client, world, open_session):
    """Enrolments are open but the session is not confirmed yet: it may still not take place."""
    session = open_session()
    vevents = events(client.get(ics_url(world.chorus, session)))
    assert [str(e["STATUS"]) for e in vevents] == ["TENTATIVE", "TENTATIVE"]


def test_ics_of_an_intra_session_is_404(client, world, make_session):
    """An intra session belongs to its client company: never public, even once confirmed."""
    session = make_session(format="intra", client_company_id=world.company.id)
    change_status(session, "confirmed")
    db.session.commit()
    assert session.status == "confirmed"
    assert client.get(ics_url(world.chorus, session)).status_code == 404


def test_ics_of_a_draft_session_is_404(client, world, make_session):
    session = make_session()
    assert client.get(ics_url(world.chorus, session)).status_code == 404


def test_ics_of_a_cancelled_session_is_404(client, world, open_session):
    session = open_session()
    change_status(session, "cancelled", reason="Formateur indisponible")
    db.session.commit()
    assert client.get(ics_url(world.chorus, session)).status_code == 404


def test_ics_under_another_course_is_404(client, world, open_session):
    session = open_session()
    assert client.get(ics_url(world.dume, session)).status_code == 404
    assert client.get(f"/catalogue/n-importe-quoi/sessions/{session.id}.ics").status_code == 404


def test_ics_of_an_unknown_session_is_404(client, world, open_session):
    session = open_session()
    assert client.get(f"/catalogue/chorus-pro/sessions/{session.id + 1000}.ics").status_code == 404


def test_ics_of_a_course_no_longer_published_is_404(client, world, open_session):
    session = open_session()
    set_course_status(world.chorus, "draft")
    db.session.commit()
    assert client.get(ics_url(world.chorus, session)).status_code == 404
