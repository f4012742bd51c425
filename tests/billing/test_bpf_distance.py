"""The BPF's « formation à distance » (cadre B) follows the half-days: oui as soon as a half-day of the year's sessions
is a virtual classroom or an asynchronous activity; the advisor's box only adds distance training the half-days do not
show. The page, the export and the API say the same, and how it was reached."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.accounts.services import create_api_token
from trainingmgr.billing.bpf import services as service
from trainingmgr.billing.models import BpfYear
from trainingmgr.extensions import db

from tests.catalogue.pagetools import browser_form_data, page_of
from tests.helpers import page

YEAR = 2031


@pytest.fixture
def year_sessions(world, make_session):
    """Two sessions ending in 2031, in the room; a draft session (not counted) and one of 2030."""
    counted = [make_session(course=world.chorus, start=dt.date(2031, 3, 3)),
               make_session(course=world.dume, start=dt.date(2031, 3, 10))]
    draft = make_session(course=world.chorus, start=dt.date(2031, 3, 17))
    previous = make_session(course=world.chorus, start=dt.date(2030, 3, 4))
    for session in (*counted, previous):
        session.status = "completed"
    db.session.commit()
    return counted, draft, previous


def _set(session, *modalities: str) -> None:
    for slot, modality in zip(sorted(session.slots, key=lambda s: (s.date, s.start_time)), modalities):
        slot.modality = modality
    db.session.commit()


def test_room_only_sessions_answer_non_from_the_half_days(year_sessions):
    bpf = service.compute_bpf(YEAR)
    assert (bpf.distance_training, bpf.remote_half_days, bpf.distance_declared) == (False, 0, False)
    assert bpf.distance_basis == "calculé d'après les demi-journées (aucune à distance)"
    assert ("B", "", "Formation à distance : non (calculé d'après les demi-journées (aucune à distance))", None, None,
            None) in service.export_rows(bpf)


def test_a_virtual_or_async_half_day_makes_it_oui(year_sessions):
    (chorus, dume), draft, previous = year_sessions
    _set(draft, "virtual", "virtual")  # a draft session is not in the BPF
    _set(previous, "async")  # nor one of another year
    assert service.compute_bpf(YEAR).distance_training is False
    _set(chorus, "room", "virtual")
    bpf = service.compute_bpf(YEAR)
    assert (bpf.distance_training, bpf.remote_half_days) == (True, 1)
    assert bpf.distance_basis == "calculé d'après les demi-journées (1 à distance)"
    _set(dume, "async", "virtual")
    assert service.compute_bpf(YEAR).remote_half_days == 3
    assert service.compute_bpf(2030).remote_half_days == 1
    # Back to the room: the flag follows the slots, whatever was computed before.
    _set(chorus, "room", "room")
    _set(dume, "room", "room")
    assert service.compute_bpf(YEAR).distance_training is False


def test_the_stored_box_is_a_declaration_on_top_of_the_half_days(year_sessions):
    (chorus, _), _, _ = year_sessions
    db.session.add(BpfYear(year=YEAR, distance_training=True))
    db.session.commit()
    bpf = service.compute_bpf(YEAR)
    assert (bpf.distance_training, bpf.remote_half_days, bpf.distance_declared) == (True, 0, True)
    assert bpf.distance_basis.startswith("déclaré par l'organisme")
    _set(chorus, "virtual")
    assert service.compute_bpf(YEAR).distance_basis == "calculé d'après les demi-journées (1 à distance)"


def test_the_page_and_the_api_say_the_same(year_sessions, advisor, world):
    (chorus, _), _, _ = year_sessions
    _set(chorus, "room", "virtual")
    text = page(advisor.get(f"/bpf/{YEAR}"))
    assert 'data-distance="oui"' in text and "calculé d'après les demi-journées (1 à distance)" in text
    form_page = page(advisor.get(f"/bpf/{YEAR}/edit"))
    assert "Calculé d'après les demi-journées des sessions de l'année" in form_page

    _, raw = create_api_token("conseil@test.example", name="bpf distance")
    db.session.commit()
    body = advisor.get(f"/api/v1/bpf/{YEAR}", headers={"Authorization": f"Bearer {raw}"}).get_json()
    assert (body["distance_training"], body["remote_half_days"], body["distance_declared"]) == (True, 1, False)
    assert body["distance_basis"] == "calculé d'après les demi-journées (1 à distance)"


def test_the_box_still_saves_as_a_declaration(year_sessions, advisor):
    form = browser_form_data(page_of(advisor.get(f"/bpf/{YEAR}/edit")))
    form["distance_training"] = "y"
    assert advisor.post(f"/bpf/{YEAR}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(BpfYear.distance_training).where(BpfYear.year == YEAR)) is True
    assert 'data-distance="oui"' in page(advisor.get(f"/bpf/{YEAR}"))
