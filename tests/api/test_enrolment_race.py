"""Simultaneous enrolments through a real running server: the seat lock (sessions.services.lock_session_seats)
must hand out exactly the session's seats, then the waiting list in arrival order, and never fail.

Each test starts the application in werkzeug's threaded WSGI server on 127.0.0.1 (a free port), fires its
requests from as many threads released together by a barrier, and checks the answers and the database.
Like every test, they run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from sqlalchemy import select

from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.models import Trainee

from tests.api.support import API, committed_count
from tests.fixtures.browser import running_server
from tests.http_burst import Call, at_once

CAPACITY = 8


@pytest.fixture
def server(app):
    with running_server(app) as address:
        yield address


@pytest.fixture
def token(world):
    from trainingmgr.accounts.services import create_api_token

    raw = create_api_token("conseil@test.example", name="race")[1]
    db.session.commit()
    return raw


@pytest.fixture
def race_session(world, make_session):
    """An open DUME session (no prerequisite) of CAPACITY seats."""
    session = make_session(course=world.dume, capacity=CAPACITY)
    assert world.dume.current_version.prerequisites_none
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    assert session.capacity == CAPACITY
    return session


def fire(address, token: str, calls: list[tuple[str, str, dict | None]]) -> list[tuple[int, object]]:
    """Send every (method, path, body) at once (tests/http_burst.py). Returns the (status, decoded body) answers
    in the order of ``calls``."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    burst = [Call(address, method, path, None if body is None else json.dumps(body).encode(),
                  headers if body is None else {**headers, "Content-Type": "application/json"})
             for method, path, body in calls]
    return [(status, decoded) for status, _, decoded in at_once(burst)]


def summary(answers) -> str:
    """How many answers of each status, and what the refusals said (for assertion messages)."""
    counts = Counter(status for status, _ in answers)
    said = Counter(body["error"]["message"] if isinstance(body, dict) and "error" in body else
                   (str(body)[:60] if status not in (200, 201) else "ok") for status, body in answers)
    return f"statuses {dict(sorted(counts.items(), key=str))}; answers {dict(said)}"


def inline_trainee(n: int) -> dict:
    return {"trainee": {"civility": "Mme" if n % 2 else "M.", "first_name": f"Prénom{n:02d}",
                        "last_name": f"Nom{n:02d}", "email": f"stagiaire{n:02d}@exemple.fr"}}


def committed_enrolments(session_id: int) -> list[tuple[int, str, int | None]]:
    """(id, status, waitlist_position) as another connection sees them, in id order."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(Enrolment.id, Enrolment.status, Enrolment.waitlist_position)
                            .where(Enrolment.session_id == session_id).order_by(Enrolment.id))
        return [tuple(row) for row in rows]


def assert_seats_then_waitlist_in_id_order(rows, confirmed: int, waitlisted: int) -> None:
    """``rows`` (id, status, position) of live enrolments in id order: the first ``confirmed`` hold the seats,
    the next ``waitlisted`` wait at positions 1, 2, 3… — arrival order is the order the lock let them in."""
    assert [status for _, status, _ in rows] == ["confirmed"] * confirmed + ["waitlisted"] * waitlisted, rows
    assert [position for _, _, position in rows] == [None] * confirmed + list(range(1, waitlisted + 1)), rows


# --------------------------------------------------------------------------- 20 enrolments at 8 seats


def test_twenty_simultaneous_enrolments_fill_eight_seats_then_the_waiting_list(app, server, token, race_session):
    path = f"{API}/sessions/{race_session.id}/enrolments"
    answers = fire(server, token, [("POST", path, inline_trainee(n)) for n in range(20)])

    assert [status for status, _ in answers] == [201] * 20, summary(answers)
    bodies = [body for _, body in answers]
    # Each answer is the enrolment of the trainee it sent.
    assert [b["trainee"]["email"] for b in bodies] == [f"stagiaire{n:02d}@exemple.fr" for n in range(20)]
    assert {b["session_id"] for b in bodies} == {race_session.id}
    assert len({b["id"] for b in bodies}) == 20
    confirmed = [b for b in bodies if b["status"] == "confirmed"]
    waitlisted = [b for b in bodies if b["status"] == "waitlisted"]
    assert (len(confirmed), len(waitlisted)) == (8, 12), [(b["id"], b["status"]) for b in bodies]
    assert all(b["waitlist_position"] is None for b in confirmed)
    assert sorted(b["waitlist_position"] for b in waitlisted) == list(range(1, 13))  # no gap, no duplicate
    # Arrival order: the seats went to the first 8 enrolments created, and the waiting list follows the
    # creation order (ids come from the database inside the seat lock).
    by_id = sorted(bodies, key=lambda b: b["id"])
    assert_seats_then_waitlist_in_id_order([(b["id"], b["status"], b["waitlist_position"]) for b in by_id], 8, 12)
    created = [dt.datetime.fromisoformat(b["created_at"]) for b in by_id]
    assert created == sorted(created)

    # The database agrees with the answers.
    rows = committed_enrolments(race_session.id)
    assert rows == [(b["id"], b["status"], b["waitlist_position"]) for b in by_id]
    assert committed_count(Enrolment, Enrolment.status == "confirmed") == 8
    assert committed_count(Enrolment, Enrolment.status == "waitlisted") == 12
    assert committed_count(Enrolment) == 20
    assert committed_count(Trainee) == 20

    # And so does the API afterwards: no seat left; the list shows the seat holders (by name), then the
    # waiting list in order.
    listing = fire(server, token, [("GET", path, None)])[0]
    assert listing[0] == 200
    expected = sorted(confirmed, key=lambda b: b["trainee"]["last_name"]) + sorted(
        waitlisted, key=lambda b: b["waitlist_position"])
    assert [(e["id"], e["status"], e["waitlist_position"]) for e in listing[1]] == [
        (b["id"], b["status"], b["waitlist_position"]) for b in expected]
    detail = fire(server, token, [("GET", f"{API}/sessions/{race_session.id}", None)])[0]
    assert (detail[0], detail[1]["seats_left"]) == (200, 0)


# --------------------------------------------------------------------------- cancellations and enrolments mixed


def _enrol_sequentially(session, count: int, start: int = 0) -> list[Enrolment]:
    from trainingmgr.enrolments.services import enrol_from_data

    made = []
    for n in range(start, start + count):
        made.append(enrol_from_data(session, inline_trainee(n), source="api"))
        db.session.commit()
    return made


def test_simultaneous_cancellations_and_enrolments_keep_seats_full_and_the_list_in_order(
        app, server, token, race_session):
    """8 confirmed (C1…C8) and 4 waiting (W1…W4). At once: C1 and C2 cancelled, W3 and W4 cancelled, 6
    newcomers (N1…N6). Whatever the order the lock lets them in, W1 and W2 take the freed seats and the
    newcomers wait behind, renumbered 1…6 in their arrival order."""
    initial = _enrol_sequentially(race_session, 12)
    assert [e.status for e in initial] == ["confirmed"] * 8 + ["waitlisted"] * 4
    c1, c2 = initial[0].id, initial[1].id
    w1, w2, w3, w4 = (e.id for e in initial[8:12])
    calls = [("POST", f"{API}/enrolments/{eid}/cancel", {"reason": "Empêchement de dernière minute"})
             for eid in (c1, c2, w3, w4)]
    calls += [("POST", f"{API}/sessions/{race_session.id}/enrolments", inline_trainee(n)) for n in range(12, 18)]

    answers = fire(server, token, calls)

    assert [status for status, _ in answers] == [200] * 4 + [201] * 6, summary(answers)
    assert [body["status"] for _, body in answers[:4]] == ["cancelled"] * 4
    assert all(body["status"] == "waitlisted" for _, body in answers[4:]), answers[4:]
    newcomers = sorted(body["id"] for _, body in answers[4:])

    rows = committed_enrolments(race_session.id)
    cancelled = {row[0] for row in rows if row[1] == "cancelled"}
    assert cancelled == {c1, c2, w3, w4}
    live = [row for row in rows if row[1] != "cancelled"]
    confirmed_ids = {row[0] for row in live if row[1] == "confirmed"}
    assert confirmed_ids == {e.id for e in initial[2:8]} | {w1, w2}
    waiting = sorted((row for row in live if row[1] == "waitlisted"), key=lambda row: row[2])
    assert [row[2] for row in waiting] == [1, 2, 3, 4, 5, 6]
    assert [row[0] for row in waiting] == newcomers  # arrival order
    assert committed_count(Enrolment, Enrolment.status == "confirmed") == CAPACITY


def test_simultaneous_cancellations_of_the_same_enrolment_cancel_it_once(app, server, token, race_session):
    """Ten clicks on « annuler » at once: one cancellation (200) recorded once in the history, nine refusals
    (409), one promotion."""
    from trainingmgr.enrolments.models import EnrolmentEvent

    initial = _enrol_sequentially(race_session, 10)
    target, first_waiting = initial[0].id, initial[8].id
    answers = fire(server, token, [("POST", f"{API}/enrolments/{target}/cancel", {"reason": "Doublon"})] * 10)

    cancellations = committed_count(EnrolmentEvent, EnrolmentEvent.enrolment_id == target,
                                    EnrolmentEvent.to_status == "cancelled")
    statuses = sorted(status for status, _ in answers)
    assert (statuses, cancellations) == ([200] + [409] * 9, 1), (
        f"{summary(answers)}; {cancellations} « cancelled » events in the enrolment's history")
    refusals = [body for status, body in answers if status == 409]
    assert all(body["error"]["message"] == "Une inscription « annulée » ne peut pas être annulée."
               for body in refusals)
    rows = {row[0]: row[1:] for row in committed_enrolments(race_session.id)}
    assert rows[target] == ("cancelled", None)
    assert rows[first_waiting] == ("confirmed", None)
    assert rows[initial[9].id] == ("waitlisted", 1)
    assert committed_count(Enrolment, Enrolment.status == "confirmed") == CAPACITY


# --------------------------------------------------------------------------- the same person or company at once


def test_simultaneous_enrolments_of_the_same_existing_trainee_enrol_once(app, server, token, race_session):
    first = _enrol_sequentially(race_session, 1)[0]
    trainee_id = first.trainee_id
    path = f"{API}/enrolments/{first.id}/cancel"
    assert fire(server, token, [("POST", path, {"reason": "Erreur de saisie"})])[0][0] == 200
    answers = fire(server, token, [("POST", f"{API}/sessions/{race_session.id}/enrolments",
                                    {"trainee_id": trainee_id})] * 10)

    assert sorted(status for status, _ in answers) == [201] + [409] * 9, summary(answers)
    assert all(body["error"]["message"] == "Prénom00 Nom00 est déjà inscrit(e) à cette session (confirmée)."
               and body["error"]["fields"] == {"trainee": [body["error"]["message"]]}
               for status, body in answers if status == 409), summary(answers)
    # The cancelled enrolment was reopened: still one row for this trainee.
    assert committed_enrolments(race_session.id) == [(first.id, "confirmed", None)]


def test_simultaneous_enrolments_of_the_same_new_trainee_create_one_person_and_one_enrolment(
        app, server, token, race_session):
    """The same inline trainee (same e-mail) sent ten times at once: one trainee, one enrolment (201), and
    nine answers that they are already enrolled (409) — never a 500."""
    path = f"{API}/sessions/{race_session.id}/enrolments"
    answers = fire(server, token, [("POST", path, inline_trainee(0))] * 10)

    assert sorted(status for status, _ in answers) == [201] + [409] * 9, summary(answers)
    assert committed_count(Trainee) == 1
    assert committed_count(Enrolment) == 1


def test_simultaneous_enrolments_of_colleagues_of_the_same_new_company_create_it_once(
        app, server, token, race_session):
    """Five colleagues sent at once with the same inline company (same SIRET): five enrolments, one company."""
    from trainingmgr.companies.models import Company

    company = {"name": "Mairie de Colomiers", "siret": "21310149600015"}
    path = f"{API}/sessions/{race_session.id}/enrolments"
    answers = fire(server, token, [("POST", path, {**inline_trainee(n), "company": company}) for n in range(5)])

    assert [status for status, _ in answers] == [201] * 5, summary(answers)
    assert len({body["company"]["id"] for _, body in answers}) == 1
    assert committed_count(Company, Company.siret == "21310149600015") == 1
    assert committed_count(Enrolment, Enrolment.status == "confirmed") == 5


def test_the_same_new_trainee_and_company_sent_to_two_sessions_at_once(app, server, token, world, race_session,
                                                                        make_session):
    """The seat lock is per session: two sessions enrolling the same new person of the same new company at
    the same moment must still create one trainee and one company, and answer 201 in each session."""
    from trainingmgr.companies.models import Company

    # The seat lock is per session: on PostgreSQL both sessions' requests may look for the new e-mail and
    # SIRET at once; the insert that loses the race reads the winner's row back (core.persistence).
    other = make_session(course=world.dume, capacity=CAPACITY,
                         start=race_session.first_date + dt.timedelta(days=7))
    change_status(other, "open", world.users["advisor"])
    db.session.commit()
    body = {**inline_trainee(0), "company": {"name": "Mairie de Colomiers", "siret": "21310149600015"}}
    calls = [("POST", f"{API}/sessions/{sid}/enrolments", body) for sid in (race_session.id, other.id) * 5]
    answers = fire(server, token, calls)

    created = [b for status, b in answers if status == 201]
    assert sorted(status for status, _ in answers) == [201] * 2 + [409] * 8, summary(answers)
    assert sorted(b["session_id"] for b in created) == sorted([race_session.id, other.id])
    assert committed_count(Trainee) == 1
    assert committed_count(Company, Company.siret == "21310149600015") == 1
