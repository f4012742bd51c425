"""What the catalogue's pages ask of the sessions, answered by a higher package that registers the answer at import
(portals/catalogue.py; create_app imports it): catalogue never imports sessions."""
from __future__ import annotations

from collections.abc import Callable

_course_sessions: list[Callable] = []


def register_course_sessions(provider: Callable) -> None:
    """Let ``provider(actor, course_id, per_page)`` give the page of a course's sessions (``.rows``, ``.total``)."""
    _course_sessions[:] = [provider]


def course_sessions(actor, course_id: int, per_page: int):
    """The registered page of the course's sessions; LookupError before portals/catalogue.py is imported."""
    if not _course_sessions:
        raise LookupError("nothing gives a course's sessions: create the app first")
    return _course_sessions[0](actor, course_id, per_page)
