"""The public catalogue: published courses, their sheets, upcoming sessions and iCalendar files; and the sessions
of a course for its back-office page (registered in catalogue/providers.py)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..catalogue import providers, services
from ..core.errors import NotFoundError
from ..core.responses import attachment
from ..evaluations.results.indicators import course_indicators
from ..organisation.services import get_organisation
from ..quotes.services import can_be_requested
from ..sessions.ical import session_calendar
from ..sessions.services import get_public_session, seats_taken, session_page, upcoming_public_sessions

bp = Blueprint("public", __name__, url_prefix="/catalogue")


@bp.route("/")
def catalogue():
    courses = services.list_published_courses()
    return render_template("public/catalogue.html", courses=courses)


@bp.route("/<slug>")
def course(slug: str):
    course = services.get_published_course(slug)
    return _sheet(course, course.current_version)


@bp.route("/<slug>/versions/<int:number>")
def course_version(slug: str, number: int):
    course = services.get_published_course(slug)
    return _sheet(course, services.get_version(course, number))


def _sheet(course, version):
    org = get_organisation()
    sessions = upcoming_public_sessions(course)
    taken = seats_taken([s.id for s in sessions])
    return render_template(
        "public/course.html", course=course, version=version, org=org, sessions=sessions, taken=taken,
        quote_request=can_be_requested(course, sessions),
        sheet=services.course_sheet(version, org), indicators=course_indicators(course),
    )


@bp.route("/<slug>/sessions/<int:session_id>.ics")
def session_ics(slug: str, session_id: int):
    try:
        session = get_public_session(session_id)
    except NotFoundError:
        abort(404)
    if session.course.slug != slug:
        abort(404)
    body = session_calendar(session, get_organisation())
    return attachment(body, f"session-{session.id}.ics", "text/calendar", private=False)


def _course_sessions(actor, course_id: int, per_page: int):
    """The page of a course's sessions from the first one to come (sessions.services.session_page)."""
    return session_page(actor, course_id=course_id, per_page=per_page).page


providers.register_course_sessions(_course_sessions)
