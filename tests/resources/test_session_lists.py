"""The trainer's and the location's pages list their sessions (portals/trainer/history.py), latest first, in a number of
SQL statements that does not grow with the history; the trainee's page lists their enrolments the same way."""
from __future__ import annotations

import datetime as dt
import re

from trainingmgr.enrolments.services import enrol
from trainingmgr.extensions import db
from trainingmgr.trainees.services import save_trainee

from tests.helpers import MONDAY, page


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'data-session="(\d+)"', page(response))]


def weeks(make_session, count: int, first: int = 0, **extra) -> list:
    return [make_session(start=MONDAY + dt.timedelta(weeks=first + n), **extra) for n in range(count)]


def statements(count_queries, client, url: str) -> int:
    db.session.expire_all()
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_trainer_page_lists_the_sessions_they_teach_latest_first(advisor_client, world, make_session):
    older, newer = weeks(make_session, 2)
    other = make_session(start=MONDAY + dt.timedelta(weeks=3), trainer=world.paula)
    assert listed(advisor_client.get(f"/trainers/{world.pierre.id}")) == [newer.id, older.id]
    assert listed(advisor_client.get(f"/trainers/{world.paula.id}")) == [other.id]


def test_the_location_page_lists_its_sessions(advisor_client, world, make_session):
    here = make_session()
    elsewhere = make_session(start=MONDAY + dt.timedelta(weeks=1), location=world.small_room)
    assert listed(advisor_client.get(f"/locations/{world.room.id}")) == [here.id]
    assert listed(advisor_client.get(f"/locations/{world.small_room.id}")) == [elsewhere.id]
    assert "Aucune session dans ce lieu." in page(advisor_client.get(f"/locations/{world.remote.id}"))


def test_the_lists_take_a_fixed_number_of_statements(advisor_client, world, make_session, count_queries):
    weeks(make_session, 1)
    advisor_client.get("/trainers/")  # the login's first request aside
    trainer, location = (statements(count_queries, advisor_client, f"/trainers/{world.pierre.id}"),
                         statements(count_queries, advisor_client, f"/locations/{world.room.id}"))
    weeks(make_session, 6, first=1, course=world.dume)
    assert statements(count_queries, advisor_client, f"/trainers/{world.pierre.id}") == trainer
    assert statements(count_queries, advisor_client, f"/locations/{world.room.id}") == location


def test_the_trainee_page_lists_enrolments_in_a_fixed_number_of_statements(advisor_client, world, make_session,
                                                                           count_queries):
    from trainingmgr.sessions.services import change_status

    advisor = world.users["advisor"]
    trainee = save_trainee(None, {"civility": "Mme", "first_name": "Anne", "last_name": "Vidal",
                                  "email": "anne.vidal@exemple.fr"})
    sessions = weeks(make_session, 5, course=world.dume)
    for session in sessions:
        change_status(session, "open", advisor)
    enrol(sessions[0], trainee, actor=advisor, notify=False)
    db.session.commit()
    url = f"/trainees/{trainee.id}"
    advisor_client.get(url)
    one = statements(count_queries, advisor_client, url)
    for session in sessions[1:]:
        enrol(session, trainee, actor=advisor, notify=False)
    db.session.commit()
    assert statements(count_queries, advisor_client, url) == one
    assert all(session.dates_label in page(advisor_client.get(url)) for session in sessions)
