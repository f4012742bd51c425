"""The dashboard's « Sessions à venir » (dashboard/upcoming.py): the first SHOWN_ROWS sessions to come shown in full,
a line for the others (how many, how many to check, the links), every session checked by the rules of the session
page, whatever how it was read."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from trainingmgr.core.timeutil import paris_today
from trainingmgr.dashboard import upcoming as upcoming_module
from trainingmgr.dashboard.upcoming import upcoming
from trainingmgr.extensions import db
from trainingmgr.sessions import services

from tests.catalogue.pagetools import page_of
from tests.fixtures.sessions import add_sessions, new_version
from tests.helpers import MONDAY


def rows(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-session="(\d+)"', response.get_data(as_text=True))]


def line(response) -> str:
    found = page_of(response).find(data_field="upcoming-shown")
    return "" if found is None else found.text


@pytest.fixture
def varied(make_session, world):
    """Eight sessions to come (tests/sessions/test_queries.py: intra, open, without price, a short half-day), and
    one of each other warning: nothing planned; a half-day without trainer on Christmas; an older programme."""
    made = add_sessions(make_session, world, 0, 8)
    made.append(make_session(start=None, trainer_ids=[], location_id=None, price_per_trainee=None))
    holiday = make_session(start=MONDAY + dt.timedelta(weeks=6))
    slot, _ = services.add_slot(holiday, {"date": "2031-12-25", "start_time": "09:00", "end_time": "12:30"})
    slot.trainer_id = None  # as a trainer's removal leaves it
    db.session.commit()
    made.append(holiday)
    new_version(world.chorus)
    return made


def test_every_session_to_come_is_checked_as_its_page_does(app, world, varied):
    with app.test_request_context():
        table = upcoming(paris_today(), everything=True)
        expected = services.dashboard_sessions(world.users["advisor"])
        assert [s.id for s in table.sessions] == [s.id for s in expected]  # the same sessions, the same order
        for session in expected:
            assert table.warnings[session.id] == services.session_warnings(session, table.taken[session.id])
    found = " ".join(w for warnings in table.warnings.values() for w in warnings)
    for text in ("Aucun créneau planifié.", "Aucun formateur.", "Aucun lieu.", "Aucun prix.", "Sous le minimum",
                 "Durée planifiée", "Créneau sans formateur : 25/12/2031", "est un jour férié (Noël)",
                 "Programme en version 1"):
        assert text in found, text
    assert table.flagged == sum(1 for w in table.warnings.values() if w) and table.hidden == 0


def test_the_table_shows_the_first_sessions_and_says_what_follows(advisor, world, varied, monkeypatch):
    monkeypatch.setattr(upcoming_module, "SHOWN_ROWS", 4)
    order = [s.id for s in services.dashboard_sessions(world.users["advisor"])]
    checked = {s.id: services.session_warnings(s) for s in services.dashboard_sessions(world.users["advisor"])}
    flagged_after = sum(1 for i in order[4:] if checked[i])
    assert flagged_after  # the rows left out have warnings: they are counted, not dropped

    response = advisor.get("/")
    assert rows(response) == order[:4]
    assert line(response).startswith(f"Les 4 prochaines sessions sur {len(order)} à venir ; {flagged_after} des "
                                     f"{len(order) - 4} suivantes ont des points à vérifier.")
    page = page_of(response)
    assert page.find(data_field="upcoming-list").attrs["href"] == "/sessions/"
    assert page.find(data_field="upcoming-list").text == f"Voir les {len(order)} sessions à venir"
    assert page.find(data_field="upcoming-all-here").attrs["href"] == "/?toutes=1"

    everything = advisor.get("/?toutes=1")
    assert rows(everything) == order
    assert line(everything).startswith(f"Les {len(order)} sessions à venir.")
    assert "N'afficher que les 4 prochaines" in line(everything)


def test_no_line_when_every_session_is_shown(advisor, world, make_session):
    add_sessions(make_session, world, 0, 3)
    response = advisor.get("/")
    assert len(rows(response)) == 3 and line(response) == ""


def test_the_trainer_sees_all_their_sessions_without_the_line(trainer2, world, make_session, monkeypatch):
    monkeypatch.setattr(upcoming_module, "SHOWN_ROWS", 2)
    made = add_sessions(make_session, world, 0, 5)  # Paula teaches a half-day of each
    response = trainer2.get("/")
    assert sorted(rows(response)) == sorted(s.id for s in made) and line(response) == ""


@pytest.mark.parametrize("value", ["0", "oui", "2", " 1"])
def test_a_bad_toutes_is_refused_in_french(advisor, value):
    response = advisor.get("/", query_string={"toutes": value})
    assert response.status_code == 400
    assert "Paramètre « toutes » invalide" in response.get_data(as_text=True)


def gaps_listed(client) -> str:
    found = page_of(client.get("/")).find(data_field="course-gaps")
    return "" if found is None else found.text


def test_the_published_courses_gaps_are_listed_and_a_fix_shows_at_once(advisor, world):
    from trainingmgr.catalogue.services import update_course, version_as_form_data
    from trainingmgr.core import memo

    memo.forget()
    assert "Chorus Pro" in gaps_listed(advisor) and "le tarif" in gaps_listed(advisor)  # kept (core/memo.py)
    data = version_as_form_data(world.chorus.current_version)
    data["intra_group_price"] = "2400"
    update_course(world.chorus, data, world.users["advisor"])
    db.session.commit()  # a write of this process: the kept gaps are forgotten
    assert "le tarif" not in gaps_listed(advisor) and "le public visé" in gaps_listed(advisor)
