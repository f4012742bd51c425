"""Fixtures shared by the sessions tests."""
from __future__ import annotations

import html

import pytest

from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession

from tests.helpers import login


def page(response) -> str:
    """The response body with HTML entities decoded, to look for French messages in it."""
    return html.unescape(response.get_data(as_text=True))


def counts() -> tuple[int, int]:
    """(sessions, slots) in the database, read afresh."""
    db.session.expire_all()
    return db.session.query(TrainingSession).count(), db.session.query(Slot).count()


@pytest.fixture
def as_user(app, users):
    """A logged-in test client for the given e-mail address (each call gives a new client)."""

    def factory(email: str):
        c = app.test_client()
        login(c, email)
        return c

    return factory


@pytest.fixture
def advisor(as_user):
    return as_user("conseil@test.example")


@pytest.fixture
def admin(as_user):
    return as_user("admin@test.example")


@pytest.fixture
def trainer(as_user):
    """Pierre (world.pierre)."""
    return as_user("formateur@test.example")


@pytest.fixture
def trainer2(as_user):
    """Paula (world.paula)."""
    return as_user("formateur2@test.example")
