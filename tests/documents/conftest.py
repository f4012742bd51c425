"""Fixtures of the document tests: the demo data, with its Chorus Pro and DUME sessions delivered (attendance
signed, session completed) so that every document type applies."""
from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from sqlalchemy import select

from trainingmgr.core.timeutil import PARIS
from trainingmgr.extensions import db

from tests.helpers import login


def drawing(seed: int = 1) -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10 + i * 25, 60 + ((i * 29 + seed * 7) % 50) - 25) for i in range(11)],
                               fill=(11, 31, 102, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _at(day: dt.date, time: dt.time, minutes: int = 0) -> dt.datetime:
    return (dt.datetime.combine(day, time, tzinfo=PARIS) + dt.timedelta(minutes=minutes)).astimezone(dt.timezone.utc)


def deliver(session, advisor, trainer_user) -> None:
    """Run ``session``: confirm it (and its pending trainees), every confirmed trainee signs every half-day by
    link, the trainer countersigns, the session completes."""
    from trainingmgr.attendance import services as attendance
    from trainingmgr.enrolments.models import Enrolment
    from trainingmgr.enrolments.services import record_decision
    from trainingmgr.sessions.services import change_status

    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id,
                                                               Enrolment.status == "pending_prerequisite")):
        record_decision(enrolment, "admitted", "Prérequis confirmé", advisor)
    if session.status == "open":
        change_status(session, "confirmed", advisor)
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    change_status(session, "in_progress", advisor, now=_at(slots[0].date, slots[0].start_time))
    enrolments = attendance.expected_enrolments(session)
    for n, slot in enumerate(slots):
        for i, enrolment in enumerate(enrolments):
            attendance.sign(slot, enrolment, method="link", drawing=drawing(n * 10 + i),
                            now=_at(slot.date, slot.start_time, -5 + i), ip="192.0.2.1", user_agent="test")
        attendance.countersign(slot, trainer_user, typed_name=session.trainers[0].full_name,
                               now=_at(slot.date, slot.end_time, 1))
    change_status(session, "completed", advisor, now=_at(slots[-1].date, slots[-1].end_time, 2))
    db.session.commit()


@pytest.fixture
def demo(app):
    """The demo loaded; returns a namespace with the sessions, users and enrolments by first name."""
    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.catalogue.models import Course
    from trainingmgr.demo.services import load_demo
    from trainingmgr.enrolments.models import Enrolment
    from trainingmgr.sessions.models import TrainingSession

    # One delivered session (DUME, last week); the invoice tests number their invoices from F…-0001, the document
    # tests count documents and e-mails from none (no paperwork).
    load_demo(invoices=False, chorus_cycle=False, paperwork=False)

    class Demo:
        pass

    d = Demo()
    d.advisor = get_user_by_email("conseil@formaction.example")
    d.admin = get_user_by_email("admin@formaction.example")
    d.trainer = get_user_by_email("formateur@formaction.example")

    def upcoming(slug):
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        return db.session.scalar(select(TrainingSession).where(TrainingSession.course_id == course.id,
                                                               TrainingSession.status == "open"))

    d.chorus = upcoming("chorus-pro")
    d.dume = upcoming("marches-publics-dume-et-chorus-pro")
    d.enrolments = {e.trainee.first_name: e for e in db.session.scalars(select(Enrolment))}
    return d


@pytest.fixture
def delivered(demo):
    """Both demo sessions delivered: every document type applies."""
    deliver(demo.chorus, demo.advisor, demo.trainer)
    deliver(demo.dume, demo.advisor, demo.trainer)
    db.session.expire_all()
    return demo


def _logged_in(app, email: str, password: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302
    return client


@pytest.fixture
def advisor_web(app, demo):
    return _logged_in(app, "conseil@formaction.example", "conseil-demo-2026")


@pytest.fixture
def admin_web(app, demo):
    return _logged_in(app, "admin@formaction.example", "admin-demo-2026")


__all__ = ["deliver", "drawing", "login"]
