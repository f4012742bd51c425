"""Helpers shared by the enrolment, trainee and company tests (the fixtures are in tests/fixtures/)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent, FundingLine
from trainingmgr.extensions import db
from trainingmgr.core.timeutil import utcnow
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import field_errors, form_errors, page_of
from tests.helpers import page

# Valid SIRETs (Luhn-checked): world.company holds the first.
DUPONT_SIRET = "44306184100021"
COLOMIERS_SIRET = "21310149600015"
OTHER_SIRET = "73282932000074"
BAD_SIRET = "44306184100022"  # wrong check digit


def person(n: int, **extra) -> dict:
    """Trainee data for person ``n`` (a distinct e-mail each)."""
    return {"civility": "Mme", "first_name": f"Prénom{n:02d}", "last_name": f"Nom{n:02d}",
            "email": f"p{n:02d}@exemple.fr", **extra}


def count(model, *where) -> int:
    """Rows in the database, read afresh (what was committed or flushed in this session)."""
    db.session.expire_all()
    query = select(func.count()).select_from(model)
    for condition in where:
        query = query.where(condition)
    return db.session.scalar(query)


def fresh(model, pk):
    db.session.expire_all()
    return db.session.get(model, pk)


def statuses(session) -> list[tuple[str, str, int | None]]:
    """[(trainee e-mail, status, waitlist position)] of the session's enrolments, by id."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Trainee.email, Enrolment.status, Enrolment.waitlist_position)
        .join(Trainee, Trainee.id == Enrolment.trainee_id)
        .where(Enrolment.session_id == session.id).order_by(Enrolment.id))
    return [tuple(row) for row in rows]


def outbox(topic: str | None = None, enrolment=None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if topic is not None:
        query = query.where(OutboxMessage.topic == topic)
    if enrolment is not None:
        query = query.where(OutboxMessage.enrolment_id == getattr(enrolment, "id", enrolment))
    return list(db.session.scalars(query))


def recipients(topic: str, enrolment=None) -> list[str]:
    return [m.recipient for m in outbox(topic, enrolment)]


def convocation_planned(enrolment) -> bool:
    """Whether the trainee is among those the convocation rule writes to (confirmed, no prerequisite decision
    pending): their convocation leaves at J−7 once the session is confirmed (automations/triggers/sessions.py)."""
    from trainingmgr.automations.triggers.sessions import session_recipients

    db.session.expire_all()
    enrolment = db.session.get(Enrolment, getattr(enrolment, "id", enrolment))
    return any(r.enrolment_id == enrolment.id for r in session_recipients(enrolment.session, "trainee"))


def worker_pass(now=None) -> int:
    """The worker's pass of the automations (the confirmation e-mail, the convocations due), committed."""
    from trainingmgr.automations import engine

    count = engine.fire_due(now or utcnow() + dt.timedelta(seconds=1))
    db.session.commit()
    return count


def events(enrolment) -> list[EnrolmentEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(EnrolmentEvent).where(
        EnrolmentEvent.enrolment_id == getattr(enrolment, "id", enrolment)).order_by(EnrolmentEvent.id)))


def event_kinds(enrolment) -> list[str]:
    return [e.kind for e in events(enrolment)]


def funding_lines(enrolment) -> list[FundingLine]:
    db.session.expire_all()
    return list(db.session.scalars(select(FundingLine).where(
        FundingLine.enrolment_id == getattr(enrolment, "id", enrolment)).order_by(FundingLine.id)))


def errors_of(response) -> dict[str, list[str]]:
    """{field id: [messages beside it]} on a rendered form page."""
    return field_errors(page_of(response))


def alerts_of(response) -> list[str]:
    return form_errors(page_of(response))


def assert_refused(response, status: int, *messages: str, fields: dict[str, str] | None = None) -> str:
    """A 4xx page showing each French ``message``; ``fields`` maps a field id to a message shown beside it."""
    text = page(response)
    assert response.status_code == status, (response.status_code, text[:3000])
    for message in messages:
        assert message in text, f"{message!r} not on the page; errors beside fields: {errors_of(response)}"
    for name, message in (fields or {}).items():
        shown = errors_of(response)
        assert message in shown.get(name, []), f"{message!r} not beside {name!r}: {shown}"
    return text
