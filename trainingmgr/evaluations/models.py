"""The questionnaire engine: positioning, needs analysis (with the client company), satisfaction surveys, evaluations.

A questionnaire holds ordered questions (scale 1–5, single or multiple choice with optional correct
answers and points, yes/no, free text). A response belongs to an enrolment (one per questionnaire)
and is reached through the trainee's tokenised link, without a login.
"""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalogue.models import Course
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db

class ResponseStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class AlertStatus(str, enum.Enum):
    """A survey alert: open until the advisor handles it (often through an improvement action) or dismisses it."""

    OPEN = "open"
    HANDLED = "handled"
    DISMISSED = "dismissed"


# Survey alerts the advisor has dealt with.
CLOSED_ALERTS = (AlertStatus.HANDLED.value, AlertStatus.DISMISSED.value)

QUESTIONNAIRE_KINDS = {
    "positioning": "Positionnement et prérequis",
    "needs": "Analyse des besoins",
    "acquis": "Évaluation des acquis",
    "hot": "Satisfaction à chaud",
    "cold": "Évaluation à froid",
    "client": "Satisfaction de l'entreprise cliente",
    "funder": "Retour du financeur",
    "trainer_report": "Bilan du formateur",
}
# Surveys sent after a session, to whom, and when (days after the end of the last slot; None: at the end).
SURVEY_AUDIENCES = {"hot": "trainee", "cold": "trainee", "client": "client", "funder": "funder",
                    "trainer_report": "trainer", "acquis": "trainee"}
QUESTION_KINDS = {
    "scale": "Échelle de 1 à 5",
    "single": "Choix unique",
    "multiple": "Choix multiple",
    "yes_no": "Oui / non",
    "text": "Texte libre",
}
# What an answer is used for beyond the questionnaire itself.
QUESTION_ROLES = {
    "": "—",
    "prerequisite": "Confirmation du prérequis",
    "accessibility": "Besoins d'adaptation (handicap, accessibilité)",
    "expectations": "Attentes et besoins",
}


class Questionnaire(db.Model):
    __tablename__ = "questionnaire"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    anonymous: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course: Mapped[Course | None] = relationship()
    questions: Mapped[list[Question]] = relationship(
        back_populates="questionnaire", order_by="Question.position", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return QUESTIONNAIRE_KINDS.get(self.kind, self.kind)

    @property
    def max_score(self) -> Decimal:
        return sum((q.max_points for q in self.questions), Decimal(0))


class Question(db.Model):
    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    help: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=True)
    role: Mapped[str] = mapped_column(String(20), default="")

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")
    choices: Mapped[list[Choice]] = relationship(
        back_populates="question", order_by="Choice.position", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return QUESTION_KINDS.get(self.kind, self.kind)

    @property
    def scored(self) -> bool:
        return any(c.points for c in self.choices)

    @property
    def max_points(self) -> Decimal:
        points = [Decimal(c.points) for c in self.choices if c.points > 0]
        if self.kind == "multiple":
            return sum(points, Decimal(0))
        return max(points, default=Decimal(0))


class Choice(db.Model):
    __tablename__ = "choice"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(500))
    is_correct: Mapped[bool | None]
    points: Mapped[int] = mapped_column(default=0)

    question: Mapped[Question] = relationship(back_populates="choices")


class Response(db.Model):
    """One person's answers to one questionnaire; saved as a draft until submitted."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("questionnaire_id", "enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=ResponseStatus.DRAFT.value)  # ResponseStatus
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    max_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    # The session the answers are about (kept for anonymous responses, which name nobody).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), index=True)

    questionnaire: Mapped[Questionnaire] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")

    @hybrid_property
    def submitted(self) -> bool:
        return self.status == ResponseStatus.SUBMITTED.value

    @submitted.inplace.expression
    @classmethod
    def _submitted_expression(cls):
        return cls.status == ResponseStatus.SUBMITTED.value


class Answer(db.Model):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    value: Mapped[object] = mapped_column(JSON)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


class SurveyInvitation(db.Model):
    """A survey sent to one person about one session: its link, when it was sent and reminded, whether it was
    answered. For an anonymous questionnaire the response is unlinked once submitted (``response_id`` None),
    so the rate of answers is known but not who said what."""

    __tablename__ = "survey_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # "hot:<session>:enrolment:<id>" …
    kind: Mapped[str] = mapped_column(String(30))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"))
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("trainer.id", ondelete="SET NULL"))
    recipient_email: Mapped[str] = mapped_column(String(254), default="")
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminders: Mapped[int] = mapped_column(default=0)
    last_reminder_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"))

    questionnaire: Mapped[Questionnaire] = relationship()
    response: Mapped[Response | None] = relationship()


ACQUIS_LEVELS = {"acquired": "Acquis", "partial": "Partiellement acquis", "not_acquired": "Non acquis"}


class AcquisAssessment(db.Model):
    """The trainer's continuous evaluation: for one trainee and one objective of the session's course version,
    acquired, partly acquired or not acquired (the latest judgement; ``history`` keeps the earlier ones)."""

    __tablename__ = "acquis_assessment"
    __table_args__ = (UniqueConstraint("enrolment_id", "objective_id", name="uq_acquis_enrolment_objective"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("course_objective.id"))
    level: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[list] = mapped_column(JSON, default=list)  # [{"level", "comment", "by", "at"}, …]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def level_label(self) -> str:
        return ACQUIS_LEVELS.get(self.level, self.level)


class SurveyAlert(db.Model):
    """A low score in a submitted survey (≤ SURVEY_ALERT_QUESTION_MAX on a question, or an overall average under
    SURVEY_ALERT_OVERALL_MIN), for the advisor to handle or turn into a quality action."""

    __tablename__ = "survey_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), index=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.OPEN.value)  # AlertStatus
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    questionnaire: Mapped[Questionnaire] = relationship()

    @hybrid_property
    def is_open(self) -> bool:
        return self.status == AlertStatus.OPEN.value

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls):
        return cls.status == AlertStatus.OPEN.value

    @property
    def is_dismissed(self) -> bool:
        return self.status == AlertStatus.DISMISSED.value
