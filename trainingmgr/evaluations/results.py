"""Results of the surveys and evaluations: aggregates of the submitted responses of one session, one course or
a period, their charts (SVG made here with pygal) and their exports (CSV for French Excel, XLSX).

The selection
    - one session: each questionnaire version is shown on its own;
    - one course (all its sessions, optionally those ending in one year) or a period (the sessions whose last
      slot falls in the date range, e.g. a calendar year): the versions of a questionnaire kind are merged,
      and so are their questions of the same kind and text (and the choices of the same text);
    - one trainer's sessions (the trainer space): merged like a course, the trainees' surveys and the acquis only.
    A course or a period leaves out the cancelled sessions; ``kinds`` keeps only some questionnaire kinds.

The figures (every one comes from the same ``Results`` the page, the exports and the API show)
    - response rate: invitations answered (``responded_at`` set, anonymous ones included) / invitations sent;
      ``responses`` counts the submitted responses themselves;
    - scale question: number of answers, average (Decimal, 2 places), distribution of the notes 1 to 5;
    - single / multiple choice and yes / no: count and share of each choice among the people who answered
      the question (a multiple choice question can add up to more than 100 %);
    - NPS, for a single-choice question whose 11 choices are "0" … "10": promoters (9–10), passives (7–8),
      detractors (0–6), score = % promoters − % detractors (−100 to 100, 1 place);
    - comments: the free-text answers with their session and date, and the person's name unless the
      questionnaire is anonymous;
    - satisfaction rate: the share of the answers to the scale questions of the hot satisfaction survey
      (« satisfaction à chaud ») that are 4 or 5 (« satisfait » or « très satisfait »), every scale question
      and every respondent counting alike; the average satisfaction is the mean of those same answers;
    - acquis: per objective of the course (merged by text), the trainer's latest judgement of each trainee
      (acquired, partially acquired, not acquired) and the share of each (left out when ``kinds`` is given
      without "acquis");
    - per session and per course (``Summary``): invitations and answers of every survey, then the hot survey's
      response rate, satisfaction and NPS.
Percentages have one decimal place, averages two (ROUND_HALF_UP).

A selection reads everything in a fixed number of queries, whatever the number of sessions and responses.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..catalogue.models import Course, CourseObjective
from ..core.errors import ValidationError
from ..core.formatting import date_fr, number_fr
from ..core.numbers import percent
from ..core.spreadsheet import csv_bytes, xlsx_cell
from ..enrolments.models import Enrolment
from ..extensions import db
from ..resources.models import Trainer
from ..sessions.models import Slot, TrainingSession, session_trainer
from .models import (
    ACQUIS_LEVELS,
    QUESTION_KINDS,
    QUESTIONNAIRE_KINDS,
    AcquisAssessment,
    Question,
    Questionnaire,
    Response,
    SurveyInvitation,
)

AVERAGE_PLACES = Decimal("0.01")
HOT = "hot"
SATISFIED_FROM = 4  # a note of 4 or 5 counts as satisfied
NPS_CHOICES = [str(n) for n in range(11)]
SCALE_NOTES = (1, 2, 3, 4, 5)
KIND_ORDER = {kind: n for n, kind in enumerate(QUESTIONNAIRE_KINDS)}
# What a trainer sees of their own sessions: the trainees' surveys and the acquis (not the companies' nor the funders'
# opinions of the organisation).
TRAINER_KINDS = ("hot", "cold", "acquis")


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
    def kind_label(self) -> str:
        if self.nps is not None:
            return "Recommandation (0 à 10)"
        return QUESTION_KINDS.get(self.kind, self.kind)

    @property
    def average(self) -> Decimal | None:
        return mean(self.total, self.answers) if self.kind == "scale" else None

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
        return [q for q in self.questions if q.kind == "scale"]

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


# --------------------------------------------------------------------------- selections


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...] | None:
    if kinds is None:
        return None
    kinds = tuple(k for k in kinds if k)
    unknown = [k for k in kinds if k not in QUESTIONNAIRE_KINDS]
    if unknown:
        raise ValidationError("Type de questionnaire inconnu : " + ", ".join(unknown) + ".", field="kind")
    return kinds or None


def _last_dates():
    return (select(Slot.session_id.label("session_id"), func.max(Slot.date).label("last_date"))
            .group_by(Slot.session_id).subquery())


def _scope(*, session_id: int | None = None, course_id: int | None = None, start: dt.date | None = None,
           end: dt.date | None = None) -> Select:
    """The ids of the sessions selected (a course's or a period's: never the cancelled ones)."""
    query = select(TrainingSession.id)
    if session_id is not None:
        query = query.where(TrainingSession.id == session_id)
    else:
        query = query.where(TrainingSession.status != "cancelled")
    if course_id is not None:
        query = query.where(TrainingSession.course_id == course_id)
    if start is not None or end is not None:
        last = _last_dates()
        query = query.join(last, last.c.session_id == TrainingSession.id)
        if start is not None:
            query = query.where(last.c.last_date >= start)
        if end is not None:
            query = query.where(last.c.last_date <= end)
    return query


def session_results(session: TrainingSession, kinds: Iterable[str] | None = None) -> Results:
    """One session, each questionnaire version apart."""
    return _compute(_scope(session_id=session.id), title=session.label, merged=False, kinds=check_kinds(kinds))


def course_results(course: Course, year: int | None = None, kinds: Iterable[str] | None = None) -> Results:
    """Every session of a course (those whose last slot is in ``year`` if given), versions merged by kind."""
    start, end = year_bounds(year) if year else (None, None)
    title = f"« {course.title} »" + (f" – {year}" if year else "")
    return _compute(_scope(course_id=course.id, start=start, end=end), title=title, merged=True,
                    kinds=check_kinds(kinds), start=start, end=end)


def period_results(start: dt.date, end: dt.date, kinds: Iterable[str] | None = None) -> Results:
    """The sessions whose last slot falls between ``start`` and ``end`` (inclusive), versions merged by kind."""
    if end < start:
        raise ValidationError("La fin de la période précède son début.", field="end")
    if (start, end) == year_bounds(start.year):
        title = f"Année {start.year}"
    else:
        title = f"Du {date_fr(start)} au {date_fr(end)}"
    return _compute(_scope(start=start, end=end), title=title, merged=True, kinds=check_kinds(kinds),
                    start=start, end=end)


def trainer_results(trainer: Trainer) -> Results:
    """Every session ``trainer`` teaches (the cancelled ones aside), versions merged by kind, TRAINER_KINDS only."""
    taught = select(session_trainer.c.session_id).where(session_trainer.c.trainer_id == trainer.id)
    return _compute(_scope().where(TrainingSession.id.in_(taught)), title=f"Sessions de {trainer.full_name}",
                    merged=True, kinds=TRAINER_KINDS)


def year_results(year: int, kinds: Iterable[str] | None = None) -> Results:
    start, end = year_bounds(year)
    return period_results(start, end, kinds)


def available_years(around: int) -> list[int]:
    """The years of the sessions' slots, and ``around`` (the current year), most recent first."""
    first, last = db.session.execute(select(func.min(Slot.date), func.max(Slot.date))).one()
    years = {around}
    if first is not None:
        years |= set(range(first.year, last.year + 1))
    return sorted(years, reverse=True)


# --------------------------------------------------------------------------- computing


def _norm(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def is_nps(question: Question) -> bool:
    """A single-choice question whose 11 choices are "0" … "10" in order."""
    return question.kind == "single" and [c.text.strip() for c in question.choices] == NPS_CHOICES


class _Builder:
    """Accumulates one QuestionResult per question key, with the choice counts keyed by choice text."""

    def __init__(self, result: QuestionResult):
        self.result = result
        self.choice_counts: dict[str, ChoiceCount] = {}

    def add_choices(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.choice_counts.setdefault(text, ChoiceCount(text))

    def finish(self) -> QuestionResult:
        result = self.result
        if result.kind in ("single", "multiple", "yes_no"):
            result.choices = list(self.choice_counts.values())
            for choice in result.choices:
                choice.percent = percent(choice.count, result.answers)
        return result


def _compute(scope: Select, *, title: str, merged: bool, kinds: tuple[str, ...] | None,
             start: dt.date | None = None, end: dt.date | None = None) -> Results:
    last = _last_dates()
    sessions = list(db.session.scalars(
        select(TrainingSession).where(TrainingSession.id.in_(scope))
        .options(selectinload(TrainingSession.slots), selectinload(TrainingSession.course_version),
                 selectinload(TrainingSession.course).selectinload(Course.current_version))))
    last_dates = dict(db.session.execute(
        select(last.c.session_id, last.c.last_date).where(last.c.session_id.in_(scope))).all())
    sessions.sort(key=lambda s: (last_dates.get(s.id) or dt.date.max, s.id))
    by_id = {s.id: s for s in sessions}

    invitation_query = (select(SurveyInvitation.session_id, SurveyInvitation.questionnaire_id, SurveyInvitation.kind,
                               SurveyInvitation.responded_at, SurveyInvitation.response_id,
                               SurveyInvitation.recipient_name)
                        .where(SurveyInvitation.session_id.in_(scope)))
    response_query = (select(Response).join(Questionnaire, Response.questionnaire_id == Questionnaire.id)
                      .where(Response.session_id.in_(scope), Response.status == "submitted")
                      .options(selectinload(Response.answers)).order_by(Response.submitted_at, Response.id))
    if kinds:
        invitation_query = invitation_query.where(SurveyInvitation.kind.in_(kinds))
        response_query = response_query.where(Questionnaire.kind.in_(kinds))
    invitations = db.session.execute(invitation_query).all()
    responses = list(db.session.scalars(response_query))

    questionnaire_ids = {i.questionnaire_id for i in invitations} | {r.questionnaire_id for r in responses}
    questionnaires = list(db.session.scalars(
        select(Questionnaire).where(Questionnaire.id.in_(questionnaire_ids))
        .options(selectinload(Questionnaire.questions).selectinload(Question.choices)))) if questionnaire_ids else []
    questionnaires.sort(key=lambda q: (KIND_ORDER.get(q.kind, 99), q.course_id is None, -q.version, q.id))
    names = {i.response_id: i.recipient_name for i in invitations if i.response_id is not None}

    # Groups: one per questionnaire (a session), one per kind (a course, a period).
    groups: dict[object, QuestionnaireResult] = {}
    builders: dict[object, dict[object, _Builder]] = {}
    group_of: dict[int, object] = {}
    question_key: dict[int, object] = {}
    for questionnaire in questionnaires:
        gkey = questionnaire.kind if merged else questionnaire.id
        group_of[questionnaire.id] = gkey
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = QuestionnaireResult(key=gkey, kind=questionnaire.kind, title=questionnaire.title)
            builders[gkey] = {}
        group.questionnaire_ids.append(questionnaire.id)
        if questionnaire.version not in group.versions:
            group.versions.append(questionnaire.version)
        group.anonymous = group.anonymous or questionnaire.anonymous
        for question in questionnaire.questions:
            nps = is_nps(question)
            qkind = "nps" if nps else question.kind
            qkey = (qkind, _norm(question.text)) if merged else question.id
            question_key[question.id] = qkey
            builder = builders[gkey].get(qkey)
            if builder is None:
                result = QuestionResult(key=qkey, kind=question.kind, text=question.text)
                if question.kind == "scale":
                    result.distribution = dict.fromkeys(SCALE_NOTES, 0)
                if nps:
                    result.nps = NPS()
                builder = builders[gkey][qkey] = _Builder(result)
            builder.result.question_ids.append(question.id)
            if question.kind in ("single", "multiple"):
                builder.add_choices(c.text for c in question.choices)
            elif question.kind == "yes_no":
                builder.add_choices(("Oui", "Non"))
    for group in groups.values():
        group.versions.sort()

    summaries = {s.id: SessionSummary(session=s, sessions=1) for s in sessions}
    for invitation in invitations:
        gkey = group_of.get(invitation.questionnaire_id)
        if gkey is not None:
            groups[gkey].invitations += 1
            groups[gkey].responded += invitation.responded_at is not None
        summary = summaries.get(invitation.session_id)
        if summary is not None:
            summary.invitations += 1
            summary.responded += invitation.responded_at is not None
            if invitation.kind == HOT:
                summary.hot_invitations += 1
                summary.hot_responded += invitation.responded_at is not None

    satisfaction = Satisfaction()
    questions_by_id = {q.id: q for questionnaire in questionnaires for q in questionnaire.questions}
    anonymous = {q.id: q.anonymous for q in questionnaires}
    kinds_of = {q.id: q.kind for q in questionnaires}
    for response in responses:
        gkey = group_of[response.questionnaire_id]
        groups[gkey].responses += 1
        if response.max_score:
            groups[gkey].score_points += response.score or 0
            groups[gkey].score_max += response.max_score
        summary = summaries.get(response.session_id)
        if summary is not None:
            summary.responses += 1
        hot = kinds_of[response.questionnaire_id] == HOT
        session = by_id.get(response.session_id)
        name = None if anonymous[response.questionnaire_id] else names.get(response.id)
        for answer in response.answers:
            question = questions_by_id.get(answer.question_id)
            if question is None or answer.value is None:
                continue
            builder = builders[gkey][question_key[question.id]]
            result = builder.result
            value = answer.value
            if question.kind == "scale":
                if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE_NOTES:
                    continue
                result.answers += 1
                result.total += value
                result.distribution[value] += 1
                if hot:
                    satisfaction.add(value)
                    if summary is not None:
                        summary.satisfaction.add(value)
            elif question.kind in ("single", "multiple"):
                chosen = value if isinstance(value, list) else [value]
                texts = {c.id: c.text for c in question.choices}
                picked = [texts[v] for v in chosen if not isinstance(v, bool) and v in texts]
                if not picked:
                    continue
                result.answers += 1
                for text in picked:
                    builder.choice_counts[text].count += 1
                    if result.nps is not None:
                        result.nps.add(int(text))
                        if hot and summary is not None:
                            summary.nps.add(int(text))
            elif question.kind == "yes_no":
                if not isinstance(value, bool):
                    continue
                result.answers += 1
                builder.choice_counts["Oui" if value else "Non"].count += 1
            elif question.kind == "text":
                if not isinstance(value, str) or not value.strip():
                    continue
                result.answers += 1
                result.comments.append(Comment(
                    text=value.strip(), question=question.text, session_id=response.session_id,
                    session_title=session.title if session else "",
                    session_dates=session.dates_label if session else "",
                    submitted_at=response.submitted_at, name=name))

    ordered = sorted(groups.values(), key=lambda g: (KIND_ORDER.get(g.kind, 99), -max(g.versions), str(g.key)))
    for group in ordered:
        group.questions = [b.finish() for b in builders[group.key].values()]

    session_summaries = [summaries[s.id] for s in sessions]
    courses: dict[int, CourseSummary] = {}
    for item in session_summaries:
        course = item.session.course
        if course.id not in courses:
            courses[course.id] = CourseSummary(course=course)
        courses[course.id].merge(item)
    course_summaries = sorted(courses.values(), key=lambda c: _norm(c.course.title))

    return Results(title=title, sessions=sessions, questionnaires=ordered, acquis=_acquis(scope) if not kinds or "acquis" in kinds else [],
                   satisfaction=satisfaction, session_summaries=session_summaries,
                   course_summaries=course_summaries, merged=merged, start=start, end=end, kinds=kinds)


def _acquis(scope: Select) -> list[AcquisResult]:
    """Per objective text, how many trainees of the selection were judged at each level (one query)."""
    rows = db.session.execute(
        select(CourseObjective.text, CourseObjective.position, AcquisAssessment.level, func.count())
        .join(AcquisAssessment, AcquisAssessment.objective_id == CourseObjective.id)
        .join(Enrolment, Enrolment.id == AcquisAssessment.enrolment_id)
        .where(Enrolment.session_id.in_(scope), Enrolment.status != "cancelled")
        .group_by(CourseObjective.text, CourseObjective.position, AcquisAssessment.level)).all()
    found: dict[str, AcquisResult] = {}
    for text, position, level, count in rows:
        item = found.setdefault(_norm(text), AcquisResult(objective=text, position=position))
        item.position = min(item.position, position)
        if level in item.counts:
            item.counts[level] += count
    return sorted(found.values(), key=lambda a: (a.position, _norm(a.objective)))


# --------------------------------------------------------------------------- charts (SVG, no JavaScript)

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
CHART_COLOURS = ("#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545")


def _french(value) -> str:
    if value is None:
        return ""
    return number_fr(Decimal(str(value)))


def _chart_style():
    from pygal.style import Style

    return Style(background="transparent", plot_background="transparent", colors=CHART_COLOURS,
                 font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
                 label_font_size=12, major_label_font_size=12, value_font_size=12, title_font_size=14,
                 foreground="#212529", foreground_strong="#212529", foreground_subtle="#6c757d")


def _svg(chart) -> str:
    """The chart's SVG without its script (pygal's tooltips need JavaScript) nor comments, ready to inline."""
    svg = chart.render(is_unicode=True)
    return _COMMENT.sub("", _SCRIPT.sub("", svg)).strip()


def _shorten(text: str, size: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def distribution_chart(question: QuestionResult) -> str:
    """Bars of the number of answers per note (1 to 5) of a scale question."""
    import pygal

    chart = pygal.Bar(js=[], disable_xml_declaration=True, style=_chart_style(), show_legend=False, width=420,
                      height=240, print_values=True, print_values_position="top", value_formatter=_french, x_title="Note",
                      y_title="Réponses", margin=8, explicit_size=False,
                      no_data_text="Aucune réponse")
    chart.x_labels = [str(n) for n in SCALE_NOTES]
    counts = question.distribution or {}
    values = [counts.get(n, 0) for n in SCALE_NOTES]
    top = max(values + [1])
    step = -(-top // 5)  # whole numbers of answers on the axis, five marks at most
    chart.y_labels = list(range(0, top + step, step))
    chart.range = (0, chart.y_labels[-1])
    chart.add("Réponses", values)
    return _svg(chart)


def averages_chart(group: QuestionnaireResult) -> str | None:
    """Horizontal bars of the average of each scale question (0 to 5); None without any answer."""
    import pygal

    scale = [q for q in group.scale_questions if q.answers]
    if not scale:
        return None
    chart = pygal.HorizontalBar(js=[], disable_xml_declaration=True, style=_chart_style(), show_legend=False,
                                width=720, height=70 + 38 * len(scale), print_values=True,
                                value_formatter=_french, range=(0, 5), include_x_axis=True, margin=8,
                                explicit_size=False, truncate_label=-1, title=None, y_labels_major_every=None)
    # pygal draws the first label at the bottom: reversed, the chart reads in the questionnaire's order.
    ordered = list(reversed(scale))
    chart.x_labels = [_shorten(q.text) for q in ordered]
    chart.add("Moyenne sur 5", [float(q.average) for q in ordered])
    return _svg(chart)


# --------------------------------------------------------------------------- exports

EXPORT_HEADERS = ["Questionnaire", "Question", "Type", "Invitations", "Répondants", "Taux de réponse (%)",
                  "Réponses", "Moyenne", "Note 1", "Note 2", "Note 3", "Note 4", "Note 5",
                  "Choix : effectif (%)", "NPS", "Promoteurs", "Passifs", "Détracteurs"]


def export_rows(results: Results) -> list[list]:
    """One row per question of each questionnaire, with the raw values (Decimal, int, str, None)."""
    rows = []
    for group in results.questionnaires:
        for question in group.questions:
            distribution = question.distribution or {}
            nps = question.nps
            rows.append([
                group.label, question.text, question.kind_label, group.invitations, group.responded,
                group.response_rate, question.answers, question.average,
                *[distribution.get(n) if question.distribution is not None else None for n in SCALE_NOTES],
                question.choices_label or None,
                nps.score if nps else None, nps.promoters if nps else None, nps.passives if nps else None,
                nps.detractors if nps else None,
            ])
    return rows


def to_csv(results: Results, counted: Callable[[list], Iterable] = iter) -> bytes:
    """The table of ``export_rows`` for French Excel: UTF-8 with BOM, ";" between cells, decimal comma.
    ``counted`` wraps the rows as they are written (an export task's progress)."""
    return csv_bytes(EXPORT_HEADERS, counted(export_rows(results)))


def to_xlsx(results: Results, counted: Callable[[list], Iterable] = iter) -> bytes:
    """A workbook: « Résultats » (the table of ``export_rows``, wrapped by ``counted``), « Commentaires »,
    « Acquis »."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def sheet(ws, headers, rows, widths):
        ws.append(headers)
        for c in ws[1]:
            c.font = Font(bold=True)
        for row in rows:
            ws.append([xlsx_cell(v) for v in row])
        ws.freeze_panes = "A2"
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width

    book = Workbook()
    ws = book.active
    ws.title = "Résultats"
    sheet(ws, EXPORT_HEADERS, counted(export_rows(results)), [40, 50, 18] + [12] * 10 + [40, 8, 11, 9, 12])
    for row in ws.iter_rows(min_row=2):
        row[5].number_format = "0.0"
        row[7].number_format = "0.00"
        row[14].number_format = "0.0"
    sheet(book.create_sheet("Commentaires"),
          ["Questionnaire", "Question", "Session", "Date", "Personne", "Commentaire"],
          [[g.label, c.question, f"{c.session_title} {c.session_dates}".strip(), c.date, c.name or "", c.text]
           for g in results.questionnaires for c in g.comments], [40, 40, 40, 12, 25, 80])
    sheet(book.create_sheet("Acquis"), ["Objectif", "Évalués", "Acquis", "Partiellement acquis", "Non acquis",
                                        "Acquis (%)", "Partiellement acquis (%)", "Non acquis (%)"],
          [[a.objective, a.assessed, a.acquired, a.partial, a.not_acquired, a.percents["acquired"],
            a.percents["partial"], a.percents["not_acquired"]] for a in results.acquis], [60] + [14] * 7)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(results: Results, suffix: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(results.title).lower()).strip("-") or "resultats"
    return f"evaluations-{slug[:60]}.{suffix}"


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
