"""The dashboard: the J−10 "below minimum" flag (MINIMUM_CHECK_DAYS) counts the seats held by enrolments; and the
session page and the dashboard keep a constant number of SQL queries as enrolments grow."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments import services
from trainingmgr.extensions import db
from trainingmgr.sessions.services import alerts as session_alerts

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import person
from tests.helpers import MONDAY, page


def warnings_of(client, session) -> str:
    row = page_of(client.get("/")).find("tr", data_session=str(session.id))
    assert row is not None, "the session is not on the dashboard"
    return row.text


def enrol_people(session, numbers, **extra):
    from trainingmgr.trainees.services import find_or_create_trainee

    made = []
    for n in numbers:
        made.append(services.enrol(session, find_or_create_trainee(person(n, **extra))))
    db.session.commit()
    return made


@pytest.fixture
def soon(world, open_session):
    """An open DUME session starting in 5 days, minimum 3 trainees."""
    return open_session(course=world.dume, start=paris_today() + dt.timedelta(days=5), min_trainees=3)


@pytest.fixture
def later(world, open_session):
    """An open DUME session starting in 20 days, minimum 3 trainees."""
    return open_session(course=world.dume, start=paris_today() + dt.timedelta(days=20), min_trainees=3)


def test_below_minimum_at_j_minus_10_is_flagged(advisor, world, soon, later):
    enrol_people(soon, [1])
    enrol_people(later, [2])
    assert "J−5 et sous le minimum : 1 inscrit pour 3 minimum. Décidez du maintien de la session." in \
        warnings_of(advisor, soon)
    text = warnings_of(advisor, later)
    assert "Sous le minimum : 1 inscrit pour 3 minimum." in text
    assert "J−" not in text


def test_the_flag_goes_once_the_minimum_is_reached(advisor, world, soon):
    enrol_people(soon, [1, 2])
    assert "J−5 et sous le minimum : 2 inscrits" in warnings_of(advisor, soon)
    enrol_people(soon, [3])
    assert "minimum" not in warnings_of(advisor, soon)


def test_pending_prerequisite_and_waitlist_count_as_they_should(advisor, world, open_session):
    session = open_session(start=paris_today() + dt.timedelta(days=4), capacity=2, min_trainees=2)
    enrol_people(session, [1])  # Chorus Pro: pending the decision, but holding a seat
    assert "J−4 et sous le minimum : 1 inscrit pour 2 minimum." in warnings_of(advisor, session)
    enrol_people(session, [2, 3])  # the third waits: it does not count
    assert "minimum" not in warnings_of(advisor, session)
    assert "2 / 2" in warnings_of(advisor, session)


def test_cancelled_enrolments_do_not_count(advisor, world, soon):
    made = enrol_people(soon, [1, 2, 3])
    services.cancel(made[0], world.users["advisor"], "Empêchement")
    db.session.commit()
    assert "J−5 et sous le minimum : 2 inscrits pour 3 minimum." in warnings_of(advisor, soon)


def test_the_check_window_is_a_setting(app, monkeypatch, advisor, world, soon, later):
    monkeypatch.setitem(app.config, "MINIMUM_CHECK_DAYS", 30)
    assert "J−20 et sous le minimum" in warnings_of(advisor, later)
    monkeypatch.setitem(app.config, "MINIMUM_CHECK_DAYS", 3)
    text = warnings_of(advisor, soon)
    assert "Sous le minimum : 0 inscrit pour 3 minimum." in text and "J−" not in text


def test_today_can_be_frozen(monkeypatch, advisor, world, open_session):
    """The flag follows Paris's date: with "today" ten days before MONDAY, a session on MONDAY is at J−10."""
    session = open_session(course=world.dume, start=MONDAY, min_trainees=2)
    assert "J−" not in warnings_of(advisor, session)
    monkeypatch.setattr(session_alerts, "paris_today", lambda: MONDAY - dt.timedelta(days=10))
    assert "J−10 et sous le minimum : 0 inscrit pour 2 minimum." in warnings_of(advisor, session)
    monkeypatch.setattr(session_alerts, "paris_today", lambda: MONDAY - dt.timedelta(days=11))
    assert "J−" not in warnings_of(advisor, session)


def test_the_trainer_sees_no_warnings(trainer, world, soon):
    assert "minimum" not in page(trainer.get("/"))


# --------------------------------------------------------------------------- no N+1


def queries(count_queries, client, url) -> int:
    db.session.expire_all()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def fill(session, first: int, last: int, world) -> None:
    """Enrolments ``first`` .. ``last - 1`` of every variety: employees of a company with contacts and funding
    lines, individuals, needs, the waiting list, cancellations, public requests."""
    from trainingmgr.companies.services import save_company, save_contact
    from trainingmgr.trainees.services import find_or_create_trainee

    for n in range(first, last):
        if n % 5 == 4:
            services.request_enrolment(session, {**person(n), "consent": True, "company_name": f"Société {n}"})
            continue
        company = save_company(None, {"name": f"Entreprise {n}", "opco": "AKTO"})
        db.session.flush()
        save_contact(company, None, {"role": "hr", "name": f"RH {n}", "email": f"rh{n}@exemple.fr"})
        trainee = find_or_create_trainee(person(n, accessibility_needs=f"Besoin {n}",
                                                company_id=company.id if n % 2 else None))
        enrolment = services.enrol(session, trainee)
        services.save_funding_line(enrolment, None, {"kind": "opco", "amount": "300", "opco_name": "AKTO",
                                                     "opco_status": "requested", "opco_file_number": f"F{n}",
                                                     "requested_on": "2031-01-01"})
        services.save_funding_line(enrolment, None, {"kind": "individual", "amount": "100"})
        if n % 5 == 3:
            services.cancel(enrolment, world.users["advisor"], "Empêchement")
    db.session.commit()


@pytest.mark.parametrize("who", ["advisor", "trainer"])
def test_session_page_queries_do_not_grow_with_enrolments(request, count_queries, world, open_session, who):
    from trainingmgr.automations import engine

    client = request.getfixturevalue(who)
    engine.ensure_defaults()  # the automations' default rules, made once (else by the first page that plans)
    db.session.commit()
    session = open_session(course=world.dume, capacity=4)
    fill(session, 0, 5, world)
    small = queries(count_queries, client, f"/sessions/{session.id}")
    fill(session, 5, 20, world)
    large = queries(count_queries, client, f"/sessions/{session.id}")
    text = page(client.get(f"/sessions/{session.id}"))
    assert "Prénom00" in text and "Besoin 0" in text
    assert large == small, (small, large)


def test_dashboard_queries_do_not_grow_with_enrolments_and_requests(count_queries, advisor, world, open_session):
    first = open_session(course=world.dume, capacity=3)
    second = open_session(capacity=3)
    fill(first, 0, 5, world)
    fill(second, 100, 105, world)
    small = queries(count_queries, advisor, "/")
    fill(first, 5, 20, world)
    fill(second, 105, 120, world)
    large = queries(count_queries, advisor, "/")
    assert large == small, (small, large)
    banner = page_of(advisor.get("/")).find(data_field="requests")
    assert banner.text.startswith("8 demandes d'inscription en ligne à traiter.")


def test_funding_board_and_requests_queries_do_not_grow(count_queries, advisor, world, open_session):
    first = open_session(course=world.dume, capacity=3)
    second = open_session(capacity=3)
    fill(first, 0, 5, world)
    small = {url: queries(count_queries, advisor, url) for url in ("/funding", "/enrolments/requests")}
    fill(first, 5, 20, world)
    fill(second, 100, 120, world)
    large = {url: queries(count_queries, advisor, url) for url in ("/funding", "/enrolments/requests")}
    assert large == small, (small, large)
