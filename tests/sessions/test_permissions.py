"""Who sees and changes sessions: trainers read only the sessions they teach; advisors and admins do everything;
anonymous visitors are sent to the login page."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from trainingmgr.accounts.services import create_user
from trainingmgr.core.errors import PermissionDenied
from trainingmgr.extensions import db
from trainingmgr.sessions import services
from trainingmgr.sessions.models import TrainingSession

from tests.fixtures.sessions import counts
from tests.helpers import MONDAY, page

TUESDAY = MONDAY + dt.timedelta(days=1)


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {int(x) for x in re.findall(r'data-session="(\d+)"', response.get_data(as_text=True))}


def snapshot(session_id: int) -> tuple:
    db.session.expire_all()
    s = db.session.get(TrainingSession, session_id)
    return (s.status, s.capacity, s.notes, s.location_id, tuple(t.id for t in s.trainers),
            tuple((x.id, x.date, x.start_time, x.end_time, x.trainer_id) for x in s.slots))


@pytest.fixture
def two(make_session, world):
    """Pierre teaches ``mine`` (MONDAY, room); Paula teaches ``theirs`` (TUESDAY, small room)."""
    mine = make_session(start=MONDAY, trainer=world.pierre, location=world.room)
    theirs = make_session(course=world.dume, start=TUESDAY, trainer=world.paula, location=world.small_room,
                          capacity=4)
    return mine, theirs


# --------------------------------------------------------------------------- anonymous


@pytest.mark.parametrize("url", ["/", "/sessions/", "/sessions/new", "/sessions/{id}", "/sessions/{id}/edit",
                                 "/sessions/{id}/slots/new", "/sessions/{id}/duplicate", "/calendar",
                                 "/calendar?month=2031-03"])
def test_anonymous_is_sent_to_login(client, two, url):
    response = client.get(url.format(id=two[0].id))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url,data", [
    ("/sessions/new", {"course_id": "1", "start_date": "2031-03-10"}),
    ("/sessions/{id}/edit", {"capacity": "2"}),
    ("/sessions/{id}/slots/new", {"date": "2031-03-12", "start_time": "09:00", "end_time": "12:00"}),
    ("/sessions/{id}/slots/{slot}", {"date": "2031-03-12", "start_time": "09:00", "end_time": "12:00"}),
    ("/sessions/{id}/slots/{slot}/delete", {}),
    ("/sessions/{id}/status", {"status": "open"}),
    ("/sessions/{id}/duplicate", {"start_date": "2031-03-17"}),
    ("/sessions/{id}/rebase", {}),
])
def test_anonymous_cannot_post(client, two, url, data):
    mine = two[0]
    before = snapshot(mine.id)
    response = client.post(url.format(id=mine.id, slot=mine.slots[0].id), data=data)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert snapshot(mine.id) == before
    assert counts() == (2, 4)


def test_login_page_says_why_in_french(client, two):
    response = client.get("/sessions/", follow_redirects=True)
    assert "Connectez-vous pour accéder à cette page." in page(response)


# --------------------------------------------------------------------------- trainer: reading


def test_trainer_dashboard_shows_only_their_sessions(trainer, trainer2, two):
    mine, theirs = two
    assert listed(trainer.get("/")) == {mine.id}
    assert listed(trainer2.get("/")) == {theirs.id}
    text = page(trainer.get("/"))
    assert "Mes sessions à venir" in text
    assert "Nouvelle session" not in text
    assert "Qualiopi" not in text


def test_warnings_are_shown_to_staff_only(advisor, trainer, two):
    """The warnings are the advisor's to-do list: neither the trainer's dashboard nor their session page shows them."""
    mine, _ = two
    services.delete_slot(mine.slots[1])
    db.session.commit()
    warning = "Durée planifiée : 3,5 h au lieu des 7 h de la formation."
    staff_dashboard = page(advisor.get("/"))
    assert "À vérifier" in staff_dashboard and warning in staff_dashboard
    assert warning in page(advisor.get(f"/sessions/{mine.id}"))
    trainer_dashboard = page(trainer.get("/"))
    assert mine.id in listed(trainer.get("/"))
    assert "À vérifier" not in trainer_dashboard and warning not in trainer_dashboard
    session_page = page(trainer.get(f"/sessions/{mine.id}"))
    assert "Chorus Pro" in session_page
    assert warning not in session_page and "alert-warning" not in session_page


def test_trainer_session_list_shows_only_their_sessions(trainer, two):
    mine, _ = two
    assert listed(trainer.get("/sessions/")) == {mine.id}
    assert listed(trainer.get("/sessions/?status=draft")) == {mine.id}


def test_trainer_sees_their_session(trainer, two):
    mine, _ = two
    response = trainer.get(f"/sessions/{mine.id}")
    assert response.status_code == 200
    text = page(response)
    assert "Chorus Pro" in text and "09:00 – 12:30" in text
    assert f"/sessions/{mine.id}/edit" not in text
    assert f"/sessions/{mine.id}/slots/new" not in text
    assert f"/sessions/{mine.id}/status" not in text


def test_trainer_cannot_see_another_trainers_session(trainer, two):
    _, theirs = two
    response = trainer.get(f"/sessions/{theirs.id}")
    assert response.status_code == 403
    assert "Vous n'intervenez pas sur cette session." in page(response)


def test_trainer_calendar_shows_only_their_slots(trainer, two):
    mine, theirs = two
    text = page(trainer.get("/calendar?month=2031-03"))
    assert f"/sessions/{mine.id}" in text
    assert f"/sessions/{theirs.id}" not in text
    assert "Marchés publics" not in text


def test_trainer_teaching_one_slot_sees_the_session(trainer, two, world):
    _, theirs = two
    services.add_slot(theirs, {"date": TUESDAY + dt.timedelta(days=1), "start_time": "09:00", "end_time": "12:00",
                               "trainer_id": world.pierre.id})
    db.session.commit()
    assert trainer.get(f"/sessions/{theirs.id}").status_code == 200
    assert theirs.id in listed(trainer.get("/sessions/"))


def test_trainer_account_without_trainer_record_sees_nothing(app, two):
    create_user("autre@test.example", "other-password-1", "trainer", "Autre Formateur")
    db.session.commit()
    c = app.test_client()
    assert c.post("/login", data={"email": "autre@test.example", "password": "other-password-1"}).status_code == 302
    assert listed(c.get("/")) == set()
    assert listed(c.get("/sessions/")) == set()
    assert c.get(f"/sessions/{two[0].id}").status_code == 403
    assert "/sessions/" not in re.sub(r'href="/sessions/"', "", page(c.get("/calendar?month=2031-03")))


def test_service_visibility(two, world):
    mine, theirs = two
    pierre, paula = world.users["trainer"], world.users["trainer2"]
    assert [s.id for s in services.list_sessions(pierre)] == [mine.id]
    assert [s.id for s in services.list_sessions(world.users["advisor"])] == [mine.id, theirs.id]
    assert [s.id for s in services.dashboard_sessions(paula)] == [theirs.id]
    assert services.get_session(mine.id, pierre).id == mine.id
    with pytest.raises(PermissionDenied):
        services.get_session(theirs.id, pierre)
    with pytest.raises(PermissionDenied):
        services.get_slot(theirs.slots[0].id, pierre)
    assert {s.session_id for s in services.slots_between(pierre, MONDAY, TUESDAY)} == {mine.id}
    assert {s.session_id for s in services.slots_between(world.users["admin"], MONDAY, TUESDAY)} == {
        mine.id, theirs.id}


def test_dashboard_lists_only_sessions_still_to_deliver(make_session, world):
    upcoming = make_session(start=MONDAY)
    unplanned = make_session(start=None)
    past = make_session(start=dt.date(2020, 1, 6))
    completed = make_session(start=TUESDAY)
    completed.status = "completed"
    cancelled = make_session(start=TUESDAY + dt.timedelta(days=1))
    services.change_status(cancelled, "cancelled", reason="Pas de stagiaires")
    db.session.commit()
    shown = [s.id for s in services.dashboard_sessions(world.users["advisor"], today=MONDAY)]
    assert shown == [upcoming.id, unplanned.id]
    assert past.id not in shown and completed.id not in shown and cancelled.id not in shown


# --------------------------------------------------------------------------- trainer: no change


@pytest.mark.parametrize("url,data", [
    ("/sessions/new", {"course_id": "{course}", "start_date": "2031-03-10", "trainer_ids": ["{trainer}"]}),
    ("/sessions/{id}/edit", {"capacity": "2", "format": "inter", "delivery_mode": "presentiel"}),
    ("/sessions/{id}/slots/new", {"date": "2031-03-12", "start_time": "09:00", "end_time": "12:00"}),
    ("/sessions/{id}/slots/{slot}", {"date": "2031-03-12", "start_time": "09:00", "end_time": "12:00"}),
    ("/sessions/{id}/slots/{slot}/delete", {}),
    ("/sessions/{id}/status", {"status": "open"}),
    ("/sessions/{id}/status", {"status": "cancelled", "cancel_reason": "Je suis malade"}),
    ("/sessions/{id}/duplicate", {"start_date": "2031-03-17"}),
    ("/sessions/{id}/rebase", {}),
])
@pytest.mark.parametrize("whose", [0, 1], ids=["own", "other"])
def test_trainer_cannot_change_any_session(trainer, two, world, url, data, whose):
    session = two[whose]
    befores = [snapshot(s.id) for s in two]
    values = {"id": session.id, "slot": session.slots[0].id, "course": world.chorus.id, "trainer": world.pierre.id}
    data = {k: ([x.format(**values) for x in v] if isinstance(v, list) else v.format(**values))
            for k, v in data.items()}
    response = trainer.post(url.format(**values), data=data)
    assert response.status_code == 403
    assert "Accès refusé" in page(response)
    assert [snapshot(s.id) for s in two] == befores
    assert counts() == (2, 4)


@pytest.mark.parametrize("url", ["/sessions/new", "/sessions/{id}/edit", "/sessions/{id}/slots/new",
                                 "/sessions/{id}/slots/{slot}", "/sessions/{id}/duplicate"])
def test_trainer_cannot_open_the_forms(trainer, two, url):
    mine = two[0]
    assert trainer.get(url.format(id=mine.id, slot=mine.slots[0].id)).status_code == 403


def test_services_refuse_trainers(two, world):
    mine, _ = two
    pierre = world.users["trainer"]
    slot = mine.slots[0]
    calls = [
        lambda: services.create_session({"course_id": world.chorus.id}, pierre),
        lambda: services.update_session(mine, {"capacity": 2}, pierre),
        lambda: services.add_slot(mine, {"date": "2031-03-12", "start_time": "09:00", "end_time": "12:00"}, pierre),
        lambda: services.update_slot(slot, {"start_time": "09:30"}, pierre),
        lambda: services.delete_slot(slot, pierre),
        lambda: services.change_status(mine, "open", pierre),
        lambda: services.duplicate_session(mine, dt.date(2031, 3, 17), pierre),
        lambda: services.rebase_to_current_version(mine, pierre),
    ]
    before = snapshot(mine.id)
    for call in calls:
        with pytest.raises(PermissionDenied) as info:
            call()
        db.session.rollback()
        assert info.value.message == "Seul le conseiller formation peut modifier une session."
    assert snapshot(mine.id) == before
    assert counts() == (2, 4)


# --------------------------------------------------------------------------- advisor and admin


@pytest.mark.parametrize("who", ["advisor", "admin"])
def test_staff_can_do_everything(request, two, world, who):
    c = request.getfixturevalue(who)
    mine, theirs = two
    assert listed(c.get("/")) == {mine.id, theirs.id}
    assert listed(c.get("/sessions/")) == {mine.id, theirs.id}
    for s in two:
        assert c.get(f"/sessions/{s.id}").status_code == 200
        assert c.get(f"/sessions/{s.id}/edit").status_code == 200
    text = page(c.get("/calendar?month=2031-03"))
    assert f"/sessions/{mine.id}" in text and f"/sessions/{theirs.id}" in text

    response = c.post("/sessions/new", data={"course_id": str(world.chorus.id), "start_date": "2031-03-10",
                                              "location_id": str(world.room.id), "trainer_ids": [str(world.pierre.id)],
                                              "price_per_trainee": "500", "format": "", "delivery_mode": ""})
    assert response.status_code == 302, page(response)
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = c.post(f"/sessions/{new_id}/edit", data={
        "format": "inter", "delivery_mode": "presentiel", "location_id": str(world.room.id),
        "trainer_ids": [str(world.pierre.id)], "capacity": "5", "min_trainees": "2", "price_per_trainee": "500",
        "notes": "modifiée"})
    assert response.status_code == 302, page(response)
    response = c.post(f"/sessions/{new_id}/slots/new", data={
        "date": "2031-03-11", "start_time": "09:00", "end_time": "12:00", "location_id": str(world.room.id),
        "trainer_id": str(world.pierre.id)})
    assert response.status_code == 302, page(response)
    slot_id = db.session.scalar(db.select(TrainingSession).where(TrainingSession.id == new_id)).slots[-1].id
    assert c.post(f"/sessions/{new_id}/slots/{slot_id}/delete").status_code == 302
    assert c.post(f"/sessions/{new_id}/status", data={"status": "open"}).status_code == 302
    assert c.post(f"/sessions/{new_id}/duplicate", data={"start_date": "2031-03-24"}).status_code == 302
    assert c.post(f"/sessions/{new_id}/status", data={"status": "cancelled",
                                                      "cancel_reason": "Test"}).status_code == 302
    db.session.expire_all()
    saved = db.session.get(TrainingSession, new_id)
    assert (saved.status, saved.capacity, saved.notes, len(saved.slots)) == ("cancelled", 5, "modifiée", 2)
    assert counts() == (4, 8)
