"""No N+1: the number of SQL queries a catalogue page makes does not grow with the number of courses or
sessions it shows."""
from __future__ import annotations

import datetime as dt

from trainingmgr.catalogue.services import create_course, set_course_status, update_course, version_as_form_data
from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
from trainingmgr.extensions import db
from trainingmgr.resources.services import save_location, save_trainer

from tests.catalogue.pagetools import page_of
from tests.helpers import MONDAY, login


def queries(client, count_queries, url: str) -> int:
    db.session.expire_all()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


def add_published_courses(world, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        seed = CHORUS_PRO if i % 2 else DUME_CHORUS_PRO
        course = create_course({**seed, "title": f"{seed['title']} ({i})"}, world.users["advisor"], slug=f"cours-{i}")
        set_course_status(course, "published")
        if i % 3 == 0:  # some courses have several versions
            update_course(course, {**version_as_form_data(course.current_version), "tagline": f"v2 {i}"},
                          world.users["advisor"])
    db.session.commit()


def test_catalogue_list_queries_do_not_grow_with_courses(client, world, count_queries):
    add_published_courses(world, 1)
    small = queries(client, count_queries, "/catalogue/")
    add_published_courses(world, 8, start=1)
    assert len(page_of(client.get("/catalogue/")).find_all(data_course=True)) == 2 + 9
    assert queries(client, count_queries, "/catalogue/") == small


def add_sessions(world, open_session, n: int, start_week: int) -> list:
    """Sessions on different weeks, with different rooms and trainers, half of them on an older version."""
    sessions = []
    for k in range(start_week, start_week + n):
        room = save_location(None, {"name": f"Salle {k}", "city": "Toulouse", "capacity": 12})
        trainer = save_trainer(None, {"first_name": f"Form{k}", "last_name": "Ateur", "email": f"f{k}@test.example"})
        db.session.commit()
        sessions.append(open_session(start=MONDAY + dt.timedelta(weeks=k), location=room, trainer=trainer))
    return sessions


def test_course_sheet_queries_do_not_grow_with_sessions(client, world, open_session, count_queries):
    add_sessions(world, open_session, 1, 0)
    # A newer version, so that the sheet links sessions to their own version.
    update_course(world.chorus, {**version_as_form_data(world.chorus.current_version), "tagline": "v2"},
                  world.users["advisor"])
    db.session.commit()
    add_sessions(world, open_session, 1, 1)
    urls = ["/catalogue/chorus-pro", "/catalogue/chorus-pro/versions/1"]
    small = [queries(client, count_queries, url) for url in urls]
    update_course(world.chorus, {**version_as_form_data(world.chorus.current_version), "tagline": "v3"},
                  world.users["advisor"])
    db.session.commit()
    add_sessions(world, open_session, 6, 2)
    page = page_of(client.get("/catalogue/chorus-pro"))
    assert len(page.find_all(data_session=True)) == 8
    assert [queries(client, count_queries, url) for url in urls] == small


def test_advisor_course_screens_queries_do_not_grow(client, world, open_session, count_queries):
    login(client, "conseil@test.example")
    add_published_courses(world, 1)
    add_sessions(world, open_session, 1, 0)
    urls = ["/courses/", f"/courses/{world.chorus.id}"]
    small = [queries(client, count_queries, url) for url in urls]
    add_published_courses(world, 6, start=1)
    add_sessions(world, open_session, 5, 1)
    assert [queries(client, count_queries, url) for url in urls] == small
