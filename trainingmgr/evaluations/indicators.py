"""The course's public indicators (Qualiopi indicator 2), shown on its public sheet once enough hot
satisfaction surveys have been answered."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from ..catalogue.models import Course
from ..enrolments.models import Enrolment
from ..extensions import db
from ..sessions.models import TrainingSession
from .models import Answer, Question, Questionnaire, Response


@dataclass
class CourseIndicators:
    responses: int
    satisfaction_rate: Decimal  # % of the hot surveys' 1–5 answers at 4 or 5
    trainees: int  # trainees who attended (completed or abandoned)
    completion_rate: Decimal | None  # % completed among those who attended


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("1")) if whole else Decimal(0)


def course_indicators(course: Course) -> CourseIndicators | None:
    """None until PUBLIC_INDICATORS_MIN_RESPONSES (5) hot surveys of the course's sessions are answered."""
    sessions = select(TrainingSession.id).where(TrainingSession.course_id == course.id)
    responses = db.session.scalar(
        select(func.count()).select_from(Response).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Questionnaire.kind == "hot", Response.status == "submitted", Response.session_id.in_(sessions))) or 0
    if responses < current_app.config["PUBLIC_INDICATORS_MIN_RESPONSES"]:
        return None
    values = db.session.execute(
        select(Answer.value).join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Questionnaire.kind == "hot", Question.kind == "scale", Response.status == "submitted",
               Response.session_id.in_(sessions))).scalars().all()
    scores = [v for v in values if isinstance(v, int)]
    statuses = dict(db.session.execute(
        select(Enrolment.status, func.count()).where(Enrolment.session_id.in_(sessions),
                                                     Enrolment.status.in_(("completed", "abandoned")))
        .group_by(Enrolment.status)).all())
    attended = statuses.get("completed", 0) + statuses.get("abandoned", 0)
    return CourseIndicators(responses=responses, satisfaction_rate=_percent(sum(s >= 4 for s in scores), len(scores)),
                            trainees=attended,
                            completion_rate=_percent(statuses.get("completed", 0), attended) if attended else None)
