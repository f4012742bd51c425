"""What the results show: the figures of one selection (``Results``) and their parts, with the rates, averages
and NPS they derive. services.py fills them; the pages, the spreadsheets and the API read them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ...catalogue.models import Course
from ...core.formatting import date_fr, number_fr
from ...core.numbers import percent
from ...sessions.models import TrainingSession
from ..kinds import question_type
from ..models import ACQUIS_LEVELS, QUESTION_KINDS, QUESTIONNAIRE_KINDS

AVERAGE_PLACES = Decimal("0.01")
SATISFIED_FROM = 4  # a note of 4 or 5 counts as satisfied


def mean(total: int, count: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(total) / Decimal(count)).quantize(AVERAGE_PLACES, ROUND_HALF_UP)


# --------------------------------------------------------------------------- result objects


@dataclass
class NPS:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add(self, note: int) -> None:
        if note >= 9:
            self.promoters += 1
        elif note >= 7:
            self.passives += 1
        else:
            self.detractors += 1

    def merge(self, other: NPS) -> None:
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def promoters_percent(self) -> Decimal | None:
        return percent(self.promoters, self.total)

    @property
    def passives_percent(self) -> Decimal | None:
        return percent(self.passives, self.total)

    @property
    def detractors_percent(self) -> Decimal | None:
        return percent(self.detractors, self.total)

    @property
    def score(self) -> Decimal | None:
        """% of promoters − % of detractors, computed on the counts (then rounded once)."""
        return percent(self.promoters - self.detractors, self.total)


@dataclass
class Satisfaction:
    """The answers to the hot survey's scale questions: how many, how many of 4 or 5, their sum."""

    answers: int = 0
    satisfied: int = 0
    total: int = 0

    def add(self, note: int) -> None:
        self.answers += 1
        self.total += note
        if note >= SATISFIED_FROM:
            self.satisfied += 1

    def merge(self, other: Satisfaction) -> None:
        self.answers += other.answers
        self.satisfied += other.satisfied
        self.total += other.total

    @property
    def rate(self) -> Decimal | None:
        return percent(self.satisfied, self.answers)

    @property
    def average(self) -> Decimal | None:
        return mean(self.total, self.answers)


@dataclass
class ChoiceCount:
    text: str
    count: int = 0
    percent: Decimal | None = None


@dataclass
class Comment:
    text: str
    question: str
    session_id: int | None
    session_title: str
    session_dates: str
    submitted_at: dt.datetime | None
    name: str | None  # None for an anonymous questionnaire (or nobody known)

    @property
    def date(self) -> str:
        return date_fr(self.submitted_at)


@dataclass
class QuestionResult:
    key: object
    kind: str
    text: str
    answers: int = 0
    total: int = 0  # sum of the notes (scale)
    distribution: dict[int, int] | None = None  # scale: {1: n, …, 5: n}
    choices: list[ChoiceCount] = field(default_factory=list)  # single, multiple, yes_no
    nps: NPS | None = None
    comments: list[Comment] = field(default_factory=list)
    question_ids: list[int] = field(default_factory=list)

    @property
    def rated(self) -> bool:
        """A note 1–5 (a scale question): an average and a distribution."""
        return question_type(self.kind).rated

    @property
    def free_text(self) -> bool:
        """Comments only (a text question)."""
        return question_type(self.kind).free_text

    @property
    def kind_label(self) -> str:
        if self.nps is not None:
            return "Recommandation (0 à 10)"
        return QUESTION_KINDS.get(self.kind, self.kind)

    @property
    def average(self) -> Decimal | None:
        return mean(self.total, self.answers) if self.rated else None

    @property
    def distribution_percent(self) -> dict[int, Decimal | None]:
        return {note: percent(n, self.answers) for note, n in (self.distribution or {}).items()}

    @property
    def choices_label(self) -> str:
        """« Oui : 3 (75 %) ; Non : 1 (25 %) » (exports)."""
        return " ; ".join(f"{c.text} : {c.count} ({number_fr(c.percent) if c.percent is not None else '—'} %)"
                          for c in self.choices)


@dataclass
class QuestionnaireResult:
    key: object
    kind: str
    title: str
    versions: list[int] = field(default_factory=list)
    questionnaire_ids: list[int] = field(default_factory=list)
    anonymous: bool = False
    invitations: int = 0
    responded: int = 0
    responses: int = 0
    questions: list[QuestionResult] = field(default_factory=list)
    # Quizzes (questions with points): the scores of the submitted responses, as a share of their maximum.
    score_points: Decimal = Decimal(0)
    score_max: Decimal = Decimal(0)

    @property
    def score_percent(self) -> Decimal | None:
        """The average quiz result in % (points obtained / points available), or None without scored questions."""
        if not self.score_max:
            return None
        return (Decimal(100) * self.score_points / self.score_max).quantize(Decimal("0.1"))

    @property
    def kind_label(self) -> str:
        return QUESTIONNAIRE_KINDS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """« Satisfaction à chaud – Votre avis sur la formation (v2) »"""
        versions = ", ".join(f"v{n}" for n in self.versions)
        return f"{self.kind_label} – {self.title}" + (f" ({versions})" if versions else "")

    @property
    def response_rate(self) -> Decimal | None:
        return percent(self.responded, self.invitations)

    @property
    def comments(self) -> list[Comment]:
        return [c for q in self.questions for c in q.comments]

    @property
    def scale_questions(self) -> list[QuestionResult]:
        return [q for q in self.questions if q.rated]

    @property
    def nps(self) -> NPS | None:
        found = [q.nps for q in self.questions if q.nps is not None]
        if not found:
            return None
        total = NPS()
        for item in found:
            total.merge(item)
        return total


@dataclass
class AcquisResult:
    objective: str
    position: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACQUIS_LEVELS, 0))

    @property
    def assessed(self) -> int:
        return sum(self.counts.values())

    @property
    def acquired(self) -> int:
        return self.counts["acquired"]

    @property
    def partial(self) -> int:
        return self.counts["partial"]

    @property
    def not_acquired(self) -> int:
        return self.counts["not_acquired"]

    @property
    def percents(self) -> dict[str, Decimal | None]:
        return {level: percent(n, self.assessed) for level, n in self.counts.items()}


@dataclass
class Summary:
    """Per session (or per course): invitations of every survey, then the hot survey's rate, satisfaction, NPS."""

    invitations: int = 0
    responded: int = 0
    responses: int = 0
    hot_invitations: int = 0
    hot_responded: int = 0
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    nps: NPS = field(default_factory=NPS)
    sessions: int = 0

    def merge(self, other: Summary) -> None:
        for name in ("invitations", "responded", "responses", "hot_invitations", "hot_responded", "sessions"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.satisfaction.merge(other.satisfaction)
        self.nps.merge(other.nps)

    @property
    def response_rate(self) -> Decimal | None:
        return percent(self.responded, self.invitations)

    @property
    def hot_response_rate(self) -> Decimal | None:
        return percent(self.hot_responded, self.hot_invitations)

    @property
    def has_surveys(self) -> bool:
        return bool(self.invitations or self.responses)


@dataclass
class SessionSummary(Summary):
    session: TrainingSession | None = None


@dataclass
class CourseSummary(Summary):
    course: Course | None = None


@dataclass
class Results:
    title: str
    sessions: list[TrainingSession]
    questionnaires: list[QuestionnaireResult]
    acquis: list[AcquisResult]
    satisfaction: Satisfaction
    session_summaries: list[SessionSummary]
    course_summaries: list[CourseSummary]
    merged: bool
    start: dt.date | None = None
    end: dt.date | None = None
    kinds: tuple[str, ...] | None = None

    @property
    def summary(self) -> Summary:
        total = Summary()
        for item in self.session_summaries:
            total.merge(item)
        return total

    @property
    def nps(self) -> NPS:
        return self.summary.nps

    @property
    def comments(self) -> list[Comment]:
        return [c for q in self.questionnaires for c in q.comments]

    def scale_average(self, kind: str) -> Decimal | None:
        """The mean of every answer to the scale questions of the questionnaires of ``kind`` (every question and
        every respondent counting alike: for "hot", the satisfaction's average)."""
        questions = [q for g in self.questionnaires if g.kind == kind for q in g.scale_questions]
        return mean(sum(q.total for q in questions), sum(q.answers for q in questions))
