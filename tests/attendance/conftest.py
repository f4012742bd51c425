"""Fixtures of the attendance tests: a confirmed DUME session (08:30–12:30, 13:30–17:30 on MONDAY) with
trainees confirmed, and a clock that the attendance code reads instead of the real time."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.core.timeutil import PARIS
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.enrolments.fixtures import *  # noqa: F401,F403
from tests.enrolments.support import person
from tests.helpers import MONDAY


def paris(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(dt.timezone.utc)


class Clock:
    def __init__(self, monkeypatch):
        self.now = paris(MONDAY, "09:00")
        for module in ("trainingmgr.attendance.services", "trainingmgr.attendance.access",
                       "trainingmgr.attendance.board"):
            monkeypatch.setattr(f"{module}.utcnow", self)

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, hhmm: str, day: dt.date = MONDAY) -> dt.datetime:
        self.now = paris(day, hhmm)
        return self.now

    def advance(self, **delta) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app, monkeypatch):
    """Monday 09:00 in Paris, the first slot (08:30–12:30) being open; ``clock.at("13:20")`` moves it."""
    return Clock(monkeypatch)


@pytest.fixture
def make_class(world, make_session):
    """A confirmed DUME session with ``n`` confirmed trainees: ``(session, [enrolments])``."""
    from trainingmgr.enrolments.services import enrol

    made = []

    def factory(n: int = 3, capacity: int | None = None, course=None, location=None, start=None):
        start = start or MONDAY + dt.timedelta(weeks=len(made))
        extra = {"capacity": capacity} if capacity else {}
        session = make_session(course=course or world.dume, start=start, location=location, **extra)
        change_status(session, "open", world.users["advisor"])
        enrolments = []
        for i in range(n):
            trainee = save_trainee(None, person(len(made) * 100 + i + 1))
            enrolments.append(enrol(session, trainee, actor=world.users["advisor"], notify=False))
        change_status(session, "confirmed", world.users["advisor"])
        db.session.commit()
        made.append(session)
        assert all(e.status == "confirmed" for e in enrolments)
        return session, enrolments

    return factory


@pytest.fixture
def klass(make_class):
    return make_class(3)
