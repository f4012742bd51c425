"""No N+1: the number of SQL queries behind the session pages does not grow with the number of sessions."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.automations import engine as automations
from trainingmgr.extensions import db
from trainingmgr.sessions import services

from tests.fixtures.sessions import add_sessions, new_version
from tests.helpers import MONDAY


def queries(count_queries, client, url) -> int:
    db.session.expire_all()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize("url", ["/", "/sessions/", "/sessions/?status=open", "/calendar?month=2031-03"])
@pytest.mark.parametrize("who", ["advisor", "trainer", "trainer2"])
def test_page_queries_do_not_grow_with_sessions(request, make_session, world, count_queries, url, who):
    client = request.getfixturevalue(who)
    add_sessions(make_session, world, 0, 2)
    new_version(world.chorus)  # these sessions now warn about the course's newer version
    few = queries(count_queries, client, url)
    add_sessions(make_session, world, 2, 8)
    new_version(world.chorus)  # sessions on two older versions
    many = queries(count_queries, client, url)
    assert many == few, f"{url} as {who}: {few} queries for 2 sessions, {many} for 8"


def test_the_pages_really_list_the_sessions(advisor, trainer2, make_session, world):
    made = add_sessions(make_session, world, 0, 8)
    text = advisor.get("/").get_data(as_text=True)
    assert all(f'data-session="{s.id}"' in text for s in made)
    text = advisor.get("/sessions/").get_data(as_text=True)
    assert all(f'data-session="{s.id}"' in text for s in made)
    # Paula teaches one half-day of every session: she sees them all.
    text = trainer2.get("/").get_data(as_text=True)
    assert all(f'data-session="{s.id}"' in text for s in made)


def test_session_page_queries_do_not_grow_with_slots(advisor, make_session, world, count_queries):
    session = make_session(start=None)
    for i in range(2):
        services.add_slot(session, {"date": MONDAY + dt.timedelta(days=i), "start_time": "09:00",
                                    "end_time": "12:00"})
    automations.ensure_defaults()  # as after the worker's first pass: the first view would create them
    db.session.commit()
    few = queries(count_queries, advisor, f"/sessions/{session.id}")
    for i in range(2, 10):
        services.add_slot(session, {"date": MONDAY + dt.timedelta(days=i), "start_time": "09:00",
                                    "end_time": "12:00", "trainer_id": world.paula.id})
    db.session.commit()
    many = queries(count_queries, advisor, f"/sessions/{session.id}")
    assert many == few
