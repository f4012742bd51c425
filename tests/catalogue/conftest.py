"""Fixtures shared by the catalogue tests."""
from __future__ import annotations

import pytest

from trainingmgr.extensions import db

from tests.helpers import login


@pytest.fixture
def advisor(client, world):
    """The test client logged in as the advisor, with the world (both seed courses published)."""
    login(client, "conseil@test.example")
    return client


@pytest.fixture
def open_session(make_session):
    """A session of a world course, opened to enrolments."""
    from trainingmgr.sessions.services import change_status

    def factory(**kwargs):
        session = make_session(**kwargs)
        change_status(session, "open")
        db.session.commit()
        return session

    return factory
