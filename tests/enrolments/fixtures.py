"""Fixtures shared by tests/enrolments, tests/trainees and tests/companies (each conftest imports them)."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.enrolments.support import person
from tests.helpers import MONDAY, login

__all__ = ["as_user", "advisor", "admin", "trainer", "trainer2", "open_session", "chorus_session",
           "dume_session", "new_trainee", "MONDAY"]


@pytest.fixture
def as_user(app, users):
    """A logged-in test client for the given e-mail address (each call gives a new client)."""

    def factory(email: str):
        client = app.test_client()
        login(client, email)
        return client

    return factory


@pytest.fixture
def advisor(as_user):
    return as_user("conseil@test.example")


@pytest.fixture
def admin(as_user):
    return as_user("admin@test.example")


@pytest.fixture
def trainer(as_user):
    """Pierre, who teaches the sessions made by ``make_session`` unless told otherwise."""
    return as_user("formateur@test.example")


@pytest.fixture
def trainer2(as_user):
    """Paula."""
    return as_user("formateur2@test.example")


@pytest.fixture
def open_session(world, make_session):
    """An open session (``course`` world.chorus by default): ``open_session(course=world.dume, capacity=3)``.
    Sessions made in one test fall on different weeks, so that the trainer and the room are free."""
    made = []

    def factory(course=None, start=None, **extra):
        start = start or MONDAY + dt.timedelta(weeks=len(made))
        session = make_session(course=course or world.chorus, start=start, **extra)
        change_status(session, "open", world.users["advisor"])
        db.session.commit()
        made.append(session)
        return session

    return factory


@pytest.fixture
def chorus_session(open_session):
    """Chorus Pro: 7 seats, a prerequisite (enrolments wait for the advisor's decision), 600 € HT."""
    return open_session()


@pytest.fixture
def dume_session(open_session, world):
    """DUME: 8 seats, no prerequisite (« aucun »: confirmed at once), 600 € HT."""
    return open_session(course=world.dume)


@pytest.fixture
def new_trainee(app):
    """A committed trainee for person ``n`` (see support.person)."""

    def factory(n: int = 1, **extra):
        trainee = save_trainee(None, person(n, **extra))
        db.session.commit()
        return trainee

    return factory
