"""The demo shows a well-kept organisation (demo/paperwork.py): every checklist item of its delivered sessions is
done with its evidence at its date, and the advisor's to-do holds one deliberate late item, the upcoming Chorus Pro
session's convention not back signed at J−15, whatever the day the demo is loaded."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.accounts.services import get_user_by_email
from trainingmgr.catalogue.models import Course
from trainingmgr.catalogue.services import indicator1_gaps, list_courses
from trainingmgr.core.timeutil import PARIS, paris_today
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.demo.services import UPCOMING_OFFSETS, _next_working_day, load_demo
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxAttachment, OutboxMessage
from trainingmgr.organisation.services import get_organisation
from trainingmgr.quality.checklist import services as checklist
from trainingmgr.quality.dashboard import quality_todo
from trainingmgr.sessions import services as session_services
from trainingmgr.sessions.models import TrainingSession

LATE = "convention_signed"


def session_of(slug: str, status: str) -> TrainingSession:
    return db.session.scalar(select(TrainingSession).join(Course, Course.id == TrainingSession.course_id)
                             .where(Course.slug == slug, TrainingSession.status == status))


def paris_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARIS).date()


def test_the_to_do_holds_one_deliberate_late_item(full_demo):
    with full_demo.test_request_context():
        todo = quality_todo()
    (late,) = todo["overdue_checklist"]
    upcoming = session_of("chorus-pro", "open")
    assert (late.session.id, late.key) == (upcoming.id, LATE)
    assert late.due == upcoming.first_date - dt.timedelta(days=15) < paris_today()
    assert todo["overdue_actions"] == [] and todo["overdue_requests"] == []


def test_nothing_else_waits_on_the_dashboard(full_demo):
    from trainingmgr.billing.payments.services import overdue_count
    from trainingmgr.enrolments.services import pending_requests
    from trainingmgr.evaluations.surveys.alerts import open_alerts_count

    assert open_alerts_count() == 0  # the low cold-survey score was handled
    assert overdue_count() == 0
    assert pending_requests() == []
    advisor = get_user_by_email("conseil@formaction.example")
    sessions = session_services.dashboard_sessions(advisor)
    taken = session_services.seats_taken([s.id for s in sessions])
    assert {s.id: session_services.session_warnings(s, taken[s.id]) for s in sessions} == {s.id: [] for s in sessions}
    org = get_organisation()
    # The seed brochures are published exactly as written (test_demo_load.py): the Chorus Pro one states no price
    # ("sur devis"), the DUME one no audience. Nothing else is missing from the course sheets.
    assert {c.slug: indicator1_gaps(c.current_version, org) for c in list_courses(("published",))} == {
        "chorus-pro": ["le tarif"], "marches-publics-dume-et-chorus-pro": ["le public visé"]}


@pytest.mark.parametrize("slug", ["chorus-pro", "marches-publics-dume-et-chorus-pro"])
def test_the_delivered_sessions_checklists_are_complete(full_demo, slug):
    past = session_of(slug, "completed")
    with full_demo.test_request_context():
        states = {status.key: status.state for status in checklist.session_checklist(past)}
    not_yet = {"cold_survey"} if slug != "chorus-pro" else set()  # due two months after last week's session
    assert {key for key, state in states.items() if state not in ("done", "manual", "na")} == not_yet
    manual = {key for key, state in states.items() if state == "manual"}
    # Paper copies are ticked by hand, with where they are filed; the rest is proved by the data.
    assert manual == ({LATE} if slug == "chorus-pro" else {"convention_sent", LATE})


def test_the_evidence_carries_its_dates(full_demo):
    from trainingmgr.quality.models import ChecklistTick

    for slug in ("chorus-pro", "marches-publics-dume-et-chorus-pro"):
        past = session_of(slug, "completed")
        enrolments = db.session.scalars(select(Enrolment).where(Enrolment.session_id == past.id)).all()
        assert {paris_date(e.convocation_sent_at) for e in enrolments} == {past.first_date - dt.timedelta(days=7)}
        certificates = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == "document_certificate",
            OutboxMessage.enrolment_id.in_([e.id for e in enrolments]))).all()
        assert len(certificates) == len(enrolments)
        assert {(m.status, paris_date(m.sent_at)) for m in certificates} == {
            ("sent", past.last_date + dt.timedelta(days=1))}
        ticks = db.session.scalars(select(ChecklistTick).where(ChecklistTick.session_id == past.id)).all()
        assert ticks and all(paris_date(t.created_at) < past.first_date - dt.timedelta(days=15) for t in ticks)
        assert all("dossier de la session" in t.comment for t in ticks)
    upcoming = session_of("chorus-pro", "open")
    (convention,) = db.session.scalars(select(GeneratedDocument).where(GeneratedDocument.session_id == upcoming.id,
                                                                       GeneratedDocument.doc_type == "convention"))
    (sent,) = db.session.scalars(select(OutboxMessage).join(OutboxAttachment).where(
        OutboxAttachment.filename == f"{convention.number}.docx")).all()
    assert sent.status == "sent" and paris_date(sent.sent_at) == upcoming.first_date - dt.timedelta(days=21)


def test_the_late_item_stays_late_on_any_day_of_the_year(app):
    """The Chorus Pro session starts UPCOMING_OFFSETS[0] days ahead, moved on to a working day: its J−15 is past
    whatever the day the demo is loaded, weekends and public holidays (Christmas on a Friday, Easter Monday)
    included."""
    day = dt.date(2026, 1, 1)
    while day < dt.date(2029, 1, 1):
        start = _next_working_day(day + dt.timedelta(days=UPCOMING_OFFSETS[0]))
        assert start - dt.timedelta(days=15) < day, day
        assert start - dt.timedelta(days=7) > day, day  # the convocations are not due yet
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("weekday", [4, 5, 6])  # the session day falls on a Friday, a Saturday, a Sunday
def test_one_late_item_whatever_the_weekday_of_the_load(app, weekday):
    today = paris_today()
    shift = (today + dt.timedelta(days=UPCOMING_OFFSETS[0])).weekday() - weekday
    loaded = today - dt.timedelta(days=shift % 7)
    load_demo(today=loaded, chorus_cycle=False)
    with app.test_request_context():
        late = checklist.overdue_items(loaded)
    assert [(o.session.course.slug, o.key) for o in late] == [("chorus-pro", LATE)]
