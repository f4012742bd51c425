"""The dashboard's « Fiches publiées incomplètes »: what Qualiopi indicator 1 asks each published course to show
and its current version lacks (catalogue/services.py: indicator1_gaps), kept a minute by core/memo.py (reading every
published course with its objectives and programme cost about 4 ms a page; a course changes rarely)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..catalogue.models import CourseStatus
from ..catalogue.services import indicator1_gaps, list_courses
from ..core.memo import remembered
from ..organisation.services import get_organisation


@dataclass(frozen=True)
class CourseGaps:
    id: int
    title: str


def _read() -> list[tuple[CourseGaps, tuple[str, ...]]]:
    org = get_organisation()
    found = []
    for course in list_courses((CourseStatus.PUBLISHED.value,)):
        gaps = indicator1_gaps(course.current_version, org)
        if gaps:
            found.append((CourseGaps(course.id, course.title), tuple(gaps)))
    return found


def course_gaps(today: dt.date) -> list[tuple[CourseGaps, tuple[str, ...]]]:
    """[(course, its gaps)] of the published courses that lack something, in list_courses' order."""
    return remembered("course_gaps", today, _read)
