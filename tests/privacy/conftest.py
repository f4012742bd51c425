"""Fixtures of the personal data tests: the demo organisation (a session delivered last week with its whole
attendance register and hot survey, two upcoming sessions with their trainees), and a frozen clock for the
purge; the attendance fixtures (a confirmed class, the attendance clock) for the trigger tests."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from trainingmgr.core.timeutil import PARIS
from trainingmgr.extensions import db
from trainingmgr.privacy.retention import months_before
from trainingmgr.sessions.models import TrainingSession

from tests.attendance.conftest import clock, klass, make_class  # noqa: F401
from tests.enrolments.fixtures import *  # noqa: F401,F403

DEMO_ADVISOR = ("conseil@formaction.example", "conseil-demo-2026")
PAST_NAMES = ("Camille Roux", "Hugo Lefèvre", "Inès Garcia")


def after_months(day: dt.date, months: int) -> dt.date:
    return months_before(day, -months)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=PARIS).astimezone(dt.timezone.utc)


@dataclass
class Demo:
    past: TrainingSession  # delivered last week: attendance, outcomes, hot survey
    upcoming: list[TrainingSession]  # in two and three weeks

    @property
    def past_end(self) -> dt.date:
        return self.past.last_date


@pytest.fixture
def demo(app) -> Demo:
    from trainingmgr.demo.services import load_demo

    load_demo(chorus_cycle=False)  # one delivered session: the DUME one, last week
    db.session.commit()
    past = db.session.scalar(select(TrainingSession).where(TrainingSession.status == "completed"))
    upcoming = list(db.session.scalars(select(TrainingSession).where(TrainingSession.id != past.id)
                                       .order_by(TrainingSession.id)))
    assert past is not None and len(upcoming) == 2
    return Demo(past, upcoming)


class FrozenPurge:
    """The purge's clock (privacy.services.utcnow): ``at(day)`` is noon in Paris that day."""

    def __init__(self, monkeypatch):
        self.now = None
        monkeypatch.setattr("trainingmgr.privacy.services.utcnow", self)

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, day: dt.date) -> dt.datetime:
        self.now = noon(day)
        return self.now


@pytest.fixture
def frozen(demo, monkeypatch) -> FrozenPurge:
    """Three days after the delivered session's fifth anniversary: past its retention, while the upcoming
    sessions (two weeks and more after it) are not."""
    purge_clock = FrozenPurge(monkeypatch)
    purge_clock.at(after_months(demo.past_end, 60) + dt.timedelta(days=3))
    assert all(after_months(s.last_date, 60) > purge_clock.now.astimezone(PARIS).date() for s in demo.upcoming)
    return purge_clock
