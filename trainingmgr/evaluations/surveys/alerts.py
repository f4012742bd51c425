"""Low scores in submitted surveys raise alerts for the advisor (Qualiopi 30 and 31: the quality issue turns
them into quality actions)."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from ...accounts.models import User
from ...core.errors import ConflictError, ValidationError
from ...core.persistence import get_by_id
from ...core.timeutil import utcnow
from ...extensions import db
from ..kinds import question_type
from ..models import CLOSED_ALERTS, QUESTIONNAIRE_KINDS, AlertStatus, Response, SurveyAlert

SURVEY_KINDS = ("hot", "cold", "client", "funder")
ALERT_STATUSES = {"open": "À traiter", "handled": "Traitée", "dismissed": "Classée sans suite"}


def check_response(response: Response) -> SurveyAlert | None:
    """An alert when a 1–5 answer is at most SURVEY_ALERT_QUESTION_MAX (2) or their average is under
    SURVEY_ALERT_OVERALL_MIN (3). The alert names the questions, not the person (anonymous surveys)."""
    questionnaire = response.questionnaire
    if questionnaire.kind not in SURVEY_KINDS or not response.submitted:
        return None
    low_max = current_app.config["SURVEY_ALERT_QUESTION_MAX"]
    overall_min = current_app.config["SURVEY_ALERT_OVERALL_MIN"]
    questions = {q.id: q for q in questionnaire.questions if question_type(q).rated}
    scores = [(questions[a.question_id], a.value) for a in response.answers
              if a.question_id in questions and isinstance(a.value, int)]
    if not scores:
        return None
    reasons = [f"« {q.text} » : {value}/5" for q, value in scores if value <= low_max]
    average = Decimal(sum(v for _, v in scores)) / len(scores)
    if average < overall_min:
        reasons.append(f"moyenne {str(average.quantize(Decimal('0.1'))).replace('.', ',')}/5")
    if not reasons:
        return None
    alert = SurveyAlert(response_id=response.id, session_id=response.session_id, questionnaire_id=questionnaire.id,
                        reason=f"{QUESTIONNAIRE_KINDS[questionnaire.kind]} : " + " ; ".join(reasons))
    db.session.add(alert)
    db.session.flush()
    return alert


def open_alerts_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyAlert).where(SurveyAlert.is_open)) or 0


def list_alerts(status: str | None = AlertStatus.OPEN.value) -> list[SurveyAlert]:
    query = select(SurveyAlert).order_by(SurveyAlert.created_at.desc())
    if status:
        query = query.where(SurveyAlert.status == status)
    return list(db.session.scalars(query.limit(500)))


def close_alert(alert_id, status: str, note: str, actor: User) -> SurveyAlert:
    alert = get_by_id(SurveyAlert, alert_id, "Alerte introuvable.")
    if status not in CLOSED_ALERTS:
        raise ValidationError("Choisissez « traitée » ou « classée sans suite ».", field="status")
    note = " ".join((note or "").split())
    if len(note) < 3:
        raise ValidationError("Indiquez ce qui a été fait (ou pourquoi l'alerte est classée).", field="note")
    if not alert.is_open:
        raise ConflictError("Cette alerte est déjà traitée.")
    alert.status, alert.note, alert.handled_by_id, alert.handled_at = status, note[:5000], actor.id, utcnow()
    return alert
