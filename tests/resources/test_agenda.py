"""The trainer's iCal subscription (portals/trainer/agenda.py): every slot of that trainer and no other's, parsed with
icalendar; a moved slot keeps its UID and gets a higher SEQUENCE and its new times; a cancelled session's slots stay
as cancelled events; the link's refusals (forged 403; expired, renewed, revoked 410)."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from itsdangerous import TimestampSigner
from sqlalchemy import select

from tests.helpers import MONDAY, login, page
from trainingmgr.core import personal_links
from trainingmgr.extensions import db
from trainingmgr.portals.trainer import agenda
from trainingmgr.resources import links
from trainingmgr.sessions import services as session_services

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = MONDAY + dt.timedelta(days=1)


def feed_url(trainer) -> str:
    url = f"/formateur/{links.token(trainer)}/agenda.ics"
    db.session.commit()  # a first link gives the trainer a nonce
    return url


def events(client, url: str) -> dict[str, dict]:
    """The feed's events by UID: SEQUENCE, DTSTART, DTEND, STATUS, SUMMARY, LOCATION, DESCRIPTION."""
    response = client.get(url)
    assert response.status_code == 200, page(response)
    assert response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    calendar = Calendar.from_ical(response.data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    found = {}
    for event in calendar.walk("VEVENT"):
        found[str(event["UID"])] = {
            "sequence": int(event.get("SEQUENCE", 0)), "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"), "status": str(event["STATUS"]), "summary": str(event["SUMMARY"]),
            "location": str(event.get("LOCATION", "")), "description": str(event["DESCRIPTION"])}
    return found


def uid(slot) -> str:
    return f"session-{slot.session_id}-slot-{slot.id}@trainingmgr"


@pytest.fixture
def pierre_session(make_session, world):
    """Chorus Pro on MONDAY, 09:00-12:30 and 13:30-17:00, Pierre in the Capitole room, for 4 trainees (the small
    room would do)."""
    return make_session(start=MONDAY, trainer=world.pierre, location=world.room, capacity=4)


@pytest.fixture
def paula_session(make_session, world):
    return make_session(course=world.dume, start=TUESDAY, trainer=world.paula, location=world.small_room,
                        capacity=4)


def test_the_feed_lists_the_trainers_slots_in_paris_time_in_french(client, world, pierre_session):
    found = events(client, feed_url(world.pierre))
    morning, afternoon = pierre_session.slots
    assert set(found) == {uid(morning), uid(afternoon)}
    event = found[uid(morning)]
    assert event["start"] == dt.datetime(2031, 3, 3, 9, 0, tzinfo=PARIS)
    assert event["end"] == dt.datetime(2031, 3, 3, 12, 30, tzinfo=PARIS)
    assert str(event["start"].tzinfo) == "Europe/Paris"
    assert event["sequence"] == 0 and event["status"] == "TENTATIVE"  # a draft session
    assert event["summary"] == "Chorus Pro – matin"
    assert event["location"] == "Salle Capitole, 1 rue A, 31000 Toulouse"
    assert f"Session « Chorus Pro » le 03/03/2031 (n° {pierre_session.id}), brouillon." in event["description"]
    assert "Matin du 03/03/2031, de 09:00 à 12:30." in event["description"]
    assert "Organisme : Formaction Sud-Ouest" in event["description"]


def test_a_moved_slot_keeps_its_uid_with_a_higher_sequence_and_its_new_times(client, world, pierre_session):
    url = feed_url(world.pierre)
    morning, afternoon = pierre_session.slots
    before = events(client, url)[uid(morning)]

    session_services.update_slot(morning, {"date": TUESDAY, "start_time": "10:00", "end_time": "12:00"})
    db.session.commit()
    after = events(client, url)
    assert after[uid(morning)]["sequence"] == before["sequence"] + 1
    assert after[uid(morning)]["start"] == dt.datetime(2031, 3, 4, 10, 0, tzinfo=PARIS)
    assert after[uid(morning)]["end"] == dt.datetime(2031, 3, 4, 12, 0, tzinfo=PARIS)
    assert after[uid(afternoon)]["sequence"] == 0  # the other slot did not move

    session_services.update_slot(morning, {"location_id": world.small_room.id})  # another room is a move too
    db.session.commit()
    again = events(client, url)[uid(morning)]
    assert again["sequence"] == before["sequence"] + 2 and again["location"].startswith("Petite salle")


def test_the_audit_log_records_the_move_not_the_sequence(world, pierre_session):
    from trainingmgr.audit.models import AuditEntry

    morning = pierre_session.slots[0]
    session_services.update_slot(morning, {"start_time": "09:30"})
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.object_id == pierre_session.id and any("start_time" in key for key in entry.changes)
    assert not any("sequence" in key for key in entry.changes)


def test_a_move_through_the_advisors_page_raises_the_sequence(client, world, pierre_session):
    url = feed_url(world.pierre)
    afternoon = pierre_session.slots[1]
    login(client, "conseil@test.example")
    response = client.post(f"/sessions/{pierre_session.id}/slots/{afternoon.id}", data={
        "date": "2031-03-05", "start_time": "14:00", "end_time": "17:30", "location_id": str(world.room.id),
        "trainer_id": str(world.pierre.id)})
    assert response.status_code == 302, page(response)
    event = events(client, url)[uid(afternoon)]
    assert (event["sequence"], event["start"]) == (1, dt.datetime(2031, 3, 5, 14, 0, tzinfo=PARIS))


def test_saving_a_slot_unchanged_keeps_its_sequence(client, world, pierre_session):
    url = feed_url(world.pierre)
    morning = pierre_session.slots[0]
    session_services.update_slot(morning, {"date": MONDAY, "start_time": "09:00", "end_time": "12:30"})
    db.session.commit()
    assert events(client, url)[uid(morning)]["sequence"] == 0


def test_moving_the_session_to_another_room_moves_its_slots(client, world, pierre_session):
    url = feed_url(world.pierre)
    session_services.update_session(pierre_session, {"location_id": world.small_room.id})
    db.session.commit()
    found = events(client, url)
    assert [found[uid(slot)]["sequence"] for slot in pierre_session.slots] == [1, 1]
    assert all(found[uid(slot)]["location"].startswith("Petite salle") for slot in pierre_session.slots)


def test_a_cancelled_session_stays_in_the_feed_as_cancelled(client, world, pierre_session):
    url = feed_url(world.pierre)
    session_services.change_status(pierre_session, "cancelled", world.users["advisor"],
                                   reason="Pas assez d'inscrits")
    db.session.commit()
    found = events(client, url)
    assert len(found) == 2
    for event in found.values():
        assert (event["status"], event["sequence"]) == ("CANCELLED", 1)
        assert event["summary"].startswith("Annulée – Chorus Pro")
        assert "Motif de l'annulation : Pas assez d'inscrits" in event["description"]


def test_confirming_then_cancelling_raises_the_sequence_each_time(client, world, pierre_session):
    url, advisor = feed_url(world.pierre), world.users["advisor"]
    seen = []
    for status in ("open", "confirmed", "cancelled"):
        session_services.change_status(pierre_session, status, advisor, reason="Formateur malade")
        db.session.commit()
        seen.append(sorted({(e["status"], e["sequence"]) for e in events(client, url).values()}))
    assert seen == [[("TENTATIVE", 0)], [("CONFIRMED", 1)], [("CANCELLED", 2)]]


def test_the_feed_holds_only_that_trainers_slots(client, world, pierre_session, paula_session):
    pierre, paula = events(client, feed_url(world.pierre)), events(client, feed_url(world.paula))
    assert set(pierre) == {uid(slot) for slot in pierre_session.slots}
    assert set(paula) == {uid(slot) for slot in paula_session.slots}

    # a slot given to Paula (on another day than hers) leaves Pierre's feed for hers
    moved = pierre_session.slots[1]
    session_services.update_slot(moved, {"trainer_id": world.paula.id})
    db.session.commit()
    assert uid(moved) not in events(client, feed_url(world.pierre))
    assert uid(moved) in events(client, feed_url(world.paula))


def test_a_forged_link_is_403(client, world, pierre_session):
    good = links.token(world.pierre)
    db.session.commit()
    for bad in ("lien-contrefait", good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
                personal_links.token_for("company-space", world.pierre)):  # made for another purpose
        response = client.get(f"/formateur/{bad}/agenda.ics")
        assert response.status_code == 403, bad
        assert "Ce lien n'est pas valide" in page(response)


def test_a_renewed_or_revoked_link_ends_the_subscription(client, world, pierre_session):
    old = feed_url(world.pierre)
    personal_links.renew(world.pierre)
    db.session.commit()
    response = client.get(old)
    assert response.status_code == 410 and "remplacé ou révoqué" in page(response)
    new = feed_url(world.pierre)
    assert client.get(new).status_code == 200

    personal_links.revoke(world.pierre)
    db.session.commit()
    assert client.get(new).status_code == 410


def test_an_expired_link_is_410(app, client, world, pierre_session, monkeypatch):
    days = app.config["TRAINER_LINK_MAX_AGE_DAYS"]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
    old = feed_url(world.pierre)
    monkeypatch.undo()
    response = client.get(old)
    assert response.status_code == 410 and "expiré" in page(response)
    assert client.get(feed_url(world.pierre)).status_code == 200


def test_an_archived_trainers_subscription_is_410(client, world, pierre_session):
    url = feed_url(world.pierre)
    world.pierre.active = False
    db.session.commit()
    assert client.get(url).status_code == 410


def test_feed_url_is_the_public_address_of_the_subscription(app, world):
    token = links.token(world.pierre)
    db.session.commit()
    assert agenda.feed_url(token) == f"http://localhost/formateur/{token}/agenda.ics"
    assert links.trainer_from_token(token) == world.pierre


def test_the_space_home_shows_the_subscription_and_the_unavailability_page(client, world):
    token = links.token(world.pierre)
    db.session.commit()
    text = page(client.get(f"/formateur/{token}"))
    assert f'value="http://localhost/formateur/{token}/agenda.ics"' in text
    assert f'href="webcal://localhost/formateur/{token}/agenda.ics"' in text
    assert f'href="/formateur/{token}/indisponibilites"' in text
