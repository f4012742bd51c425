"""The course's public indicators (Qualiopi indicator 2), shown on its public sheet once enough hot
satisfaction surveys have been answered."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import Text, cast, func, select

from ...catalogue.models import Course
from ...enrolments.models import Enrolment
from ...extensions import db
from ...sessions.models import TrainingSession
from ..kinds import RATED_KINDS
from ..models import Answer, Question, Questionnaire, Response


@dataclass
class CourseIndicators:
    responses: int
    satisfaction_rate: Decimal  # % of the hot surveys' 1–5 answers at 4 or 5
    trainees: int  # trainees who attended (completed or abandoned)
    completion_rate: Decimal | None  # % completed among those who attended


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("1")) if whole else Decimal(0)


def scale_score(raw: str | None) -> int | None:
    """A 1–5 answer as the database gives it back through ``answer_text()`` (its JSON text), or None when the
    answer is not a number (left blank)."""
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def answer_text():
    """An answer's JSON value as text: what SQL can group by on both databases (PostgreSQL has no equality
    on json). The scale answers of a course are counted per value in SQL, instead of reading them all."""
    return cast(Answer.value, Text)


def satisfied_share(counts) -> tuple[int, int]:
    """(answers at 4 or 5, numeric answers) from (raw JSON text, count) rows."""
    satisfied = answered = 0
    for raw, n in counts:
        score = scale_score(raw)
        if score is not None:
            answered += int(n)
            satisfied += int(n) if score >= 4 else 0
    return satisfied, answered


def course_indicators(course: Course) -> CourseIndicators | None:
    """None until PUBLIC_INDICATORS_MIN_RESPONSES (5) hot surveys of the course's sessions are answered."""
    sessions = select(TrainingSession.id).where(TrainingSession.course_id == course.id)
    responses = db.session.scalar(
        select(func.count()).select_from(Response).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Questionnaire.kind == "hot", Response.submitted, Response.session_id.in_(sessions))) or 0
    if responses < current_app.config["PUBLIC_INDICATORS_MIN_RESPONSES"]:
        return None
    text = answer_text()
    satisfied, answered = satisfied_share(db.session.execute(
        select(text, func.count()).join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Questionnaire.kind == "hot", Question.kind.in_(RATED_KINDS), Response.submitted,
               Response.session_id.in_(sessions)).group_by(text)))
    statuses = dict(db.session.execute(
        select(Enrolment.status, func.count()).where(Enrolment.session_id.in_(sessions),
                                                     Enrolment.status.in_(("completed", "abandoned")))
        .group_by(Enrolment.status)).all())
    attended = statuses.get("completed", 0) + statuses.get("abandoned", 0)
    return CourseIndicators(responses=responses, satisfaction_rate=_percent(satisfied, answered),
                            trainees=attended,
                            completion_rate=_percent(statuses.get("completed", 0), attended) if attended else None)
