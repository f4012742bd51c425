"""The sessions list a page at a time (issue 22, point 3): 50 sessions a page in the order of their first half-day
(sessions without dates last), opened on the page of the first session to come, the filters kept by the pager, the
seat summary over the whole selection, a bad page number refused in French (400), a page past the end empty, and
the same SQL statements for a page whatever the history holds, for the advisor and for a trainer."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import insert

from trainingmgr.core.timeutil import paris_today
from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession, session_trainer

from tests.catalogue.pagetools import page_of
from tests.helpers import page


def add_sessions(world, first_day: dt.date, count: int, *, status: str = "open", course=None, trainer=None,
                 spacing: int = 1) -> list[int]:
    """``count`` sessions in bulk, one every ``spacing`` days from ``first_day``, each of two half-days taught by ``trainer``
    (Pierre by default) in the world's room. Returns their ids in date order."""
    course = course or world.chorus
    trainer = trainer or world.pierre
    ids = []
    for n in range(count):
        session_id = db.session.execute(insert(TrainingSession).values(
            course_id=course.id, course_version_id=course.current_version_id, location_id=world.room.id,
            capacity=10, min_trainees=1, status=status).returning(TrainingSession.id)).scalar_one()
        day = first_day + dt.timedelta(days=n * spacing)
        db.session.execute(insert(Slot), [
            {"session_id": session_id, "date": day, "start_time": dt.time(9), "end_time": dt.time(12, 30),
             "location_id": world.room.id, "trainer_id": trainer.id},
            {"session_id": session_id, "date": day, "start_time": dt.time(13, 30), "end_time": dt.time(17),
             "location_id": world.room.id, "trainer_id": trainer.id}])
        db.session.execute(insert(session_trainer).values(session_id=session_id, trainer_id=trainer.id))
        ids.append(session_id)
    db.session.commit()
    return ids


def shown(response) -> list[int]:
    assert response.status_code == 200, page(response)[:2000]
    return [int(n) for n in re.findall(r'data-session="(\d+)"', response.get_data(as_text=True))]


def following(response) -> str:
    return html.unescape(re.search(r'href="([^"]+)">Suivante', response.get_data(as_text=True)).group(1))


def test_fifty_a_page_by_first_half_day_opening_on_what_comes(advisor, world):
    today = paris_today()
    past = add_sessions(world, today - dt.timedelta(days=100), 70)
    coming = add_sessions(world, today + dt.timedelta(days=1), 50)
    everything = past + coming
    landing = advisor.get("/sessions/")  # the page of the first session to come: the 71st, on page 2
    assert shown(landing) == everything[50:100]
    assert "Page 2 sur 3 (120 sessions)" in page(landing)
    summary = page_of(landing).find(data_field="seat-summary")  # the whole history: counted, seats not summed
    assert summary.attrs["data-sessions"] == "120" and "data-capacity" not in summary.attrs
    assert "120 sessions. Les places occupées se comptent sur une période" in summary.text
    open_ones = page_of(advisor.get("/sessions/?status=open")).find(data_field="seat-summary")  # still to deliver
    assert (open_ones.attrs["data-sessions"], open_ones.attrs["data-capacity"]) == ("120", "1200")
    assert shown(advisor.get("/sessions/?page=1")) == everything[:50]  # the first page: the oldest
    assert shown(advisor.get("/sessions/?page=3")) == everything[100:]  # the last page
    beyond = advisor.get("/sessions/?page=9")  # past the end: empty, not an error (as the other lists)
    assert shown(beyond) == [] and "Aucune session." in page(beyond)


def test_a_list_of_past_sessions_opens_on_its_last_page(advisor, world):
    past = add_sessions(world, paris_today() - dt.timedelta(days=200), 120)
    response = advisor.get("/sessions/")
    assert shown(response) == past[100:] and "Page 3 sur 3 (120 sessions)" in page(response)


def test_a_session_without_dates_comes_last(advisor, world, make_session):
    dated = add_sessions(world, dt.date(2031, 1, 6), 55)
    undated = db.session.execute(insert(TrainingSession).values(
        course_id=world.dume.id, course_version_id=world.dume.current_version_id, capacity=8, min_trainees=1,
        status="draft").returning(TrainingSession.id)).scalar_one()
    db.session.commit()
    assert shown(advisor.get("/sessions/?page=2")) == dated[50:] + [undated]


def test_the_pager_keeps_the_filters_and_the_summary_covers_the_whole_selection(advisor, world):
    start = dt.date(2031, 1, 6)
    wanted = add_sessions(world, start, 60)
    add_sessions(world, start, 5, status="draft")  # another status
    add_sessions(world, start, 5, course=world.dume)  # another course
    add_sessions(world, start + dt.timedelta(days=200), 5)  # another period
    query = {"course": world.chorus.id, "status": "open", "from": "2031-01-01", "to": "2031-06-30", "on": "start"}
    response = advisor.get("/sessions/", query_string=query)
    assert shown(response) == wanted[:50]
    summary = page_of(response).find(data_field="seat-summary")
    assert (summary.attrs["data-sessions"], summary.attrs["data-capacity"]) == ("60", "600")  # all 60, not 50
    link = following(response)
    for key, value in query.items():
        assert f"{key}={value}" in link
    assert "page=2" in link
    assert shown(advisor.get(link)) == wanted[50:]
    at_risk = advisor.get("/sessions/?at_risk=1&page=1")
    assert "Aucune session." in page(at_risk)  # nothing within J−15 here; the filter itself is kept below
    add_sessions(world, paris_today() + dt.timedelta(days=3), 55, spacing=0)  # min 1, nobody enrolled: at risk
    link = following(advisor.get("/sessions/?at_risk=1"))
    assert "at_risk=1" in link and "page=2" in link
    assert len(shown(advisor.get(link))) == 5


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "2.5", "100001"])
def test_a_bad_page_number_is_refused_in_french(advisor, world, raw):
    response = advisor.get("/sessions/", query_string={"page": raw})
    assert response.status_code == 400 and "Numéro de page invalide" in page(response)


def test_a_trainer_pages_through_their_own_sessions(trainer, world):
    mine = add_sessions(world, dt.date(2031, 1, 6), 55)
    add_sessions(world, dt.date(2031, 1, 6), 30, trainer=world.paula)
    assert shown(trainer.get("/sessions/?page=1")) == mine[:50]
    response = trainer.get("/sessions/?page=2")
    assert shown(response) == mine[50:] and "Page 2 sur 2 (55 sessions)" in page(response)


@pytest.mark.parametrize("who", ["advisor", "trainer"])
def test_a_page_costs_the_same_statements_whatever_the_history(request, world, count_queries, who):
    client = request.getfixturevalue(who)
    add_sessions(world, dt.date(2030, 1, 6), 20)
    client.get("/sessions/")  # warm up (login, caches)
    with count_queries() as small:
        assert len(shown(client.get("/sessions/"))) == 20
    add_sessions(world, dt.date(2031, 1, 6), 180)
    client.get("/sessions/")  # the commit above expired the logged-in user: reloading it is not the page's cost
    with count_queries() as large:
        assert len(shown(client.get("/sessions/"))) == 50
    assert large.count == small.count


def test_a_course_page_shows_ten_sessions_from_the_first_to_come_and_links_to_them_all(advisor, world):
    today = paris_today()
    past = add_sessions(world, today - dt.timedelta(days=40), 25)
    coming = add_sessions(world, today + dt.timedelta(days=1), 5)
    add_sessions(world, today + dt.timedelta(days=1), 3, course=world.dume)
    response = advisor.get(f"/courses/{world.chorus.id}")
    assert shown_links(response) == (past + coming)[20:30]  # the page of ten holding the first to come
    link = page_of(response).find(data_field="all-sessions").find("a")
    assert "Les 30 sessions de cette formation" in link.text
    assert shown(advisor.get(html.unescape(link.attrs["href"]) + "&page=1"))[:25] == past


def shown_links(response) -> list[int]:
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'href="/sessions/(\d+)"', response.get_data(as_text=True))]


def test_the_bench_fails_a_list_that_grows_with_the_history():
    from bench.pages import BASELINE, LIST_MAX_GROWTH, check

    def result(years, ratio, sql=20):
        figures = {"ratio": 1.0, "p50": 1.0, "sql": 1}
        pages = {BASELINE: figures, "dashboard /": figures,
                 "list: sessions": {"ratio": ratio, "p50": ratio, "sql": sql}}
        return {"dataset": "history", "years": years, "pages": pages}

    assert check([result(2, 5.0), result(10, 5.0 * LIST_MAX_GROWTH)]) == []
    (failure,) = check([result(2, 5.0), result(10, 5.0 * LIST_MAX_GROWTH + 0.1)])
    assert failure.startswith("list: sessions: 5.0x the login page with 2 years of history, 6.6x with 10")
    (failure,) = check([result(2, 5.0), result(10, 5.0, sql=21)])
    assert failure == "list: sessions: 20 SQL statements with 2 years of history, 21 with 10"
    assert check([result(10, 50.0)]) == []  # one history: nothing to compare
