"""Results of the surveys and evaluations: the selections (one session, one course, one trainer's sessions, a period)
and the computation of their figures (figures.py) from the submitted responses, in a fixed number of queries.
See docs/evaluations.md for how each figure is counted."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ...catalogue.models import Course, CourseObjective
from ...core.errors import ValidationError
from ...core.formatting import date_fr
from ...core.numbers import percent
from ...enrolments.models import Enrolment, EnrolmentStatus
from ...extensions import db
from ...resources.models import Trainer
from ...sessions.models import SessionStatus, Slot, TrainingSession, session_trainer
from ..kinds import SCALE_NOTES, question_type
from ..models import (
    QUESTIONNAIRE_KINDS,
    AcquisAssessment,
    Question,
    Questionnaire,
    Response,
    SurveyInvitation,
)
from .figures import (
    NPS,
    AcquisResult,
    ChoiceCount,
    Comment,
    CourseSummary,
    QuestionnaireResult,
    QuestionResult,
    Results,
    Satisfaction,
    SessionSummary,
)

HOT = "hot"
KIND_ORDER = {kind: n for n, kind in enumerate(QUESTIONNAIRE_KINDS)}
# What a trainer sees of their own sessions: the trainees' surveys and the acquis (not the companies' nor the funders'
# opinions of the organisation).
TRAINER_KINDS = ("hot", "cold", "acquis")


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
        query = query.where(TrainingSession.status != SessionStatus.CANCELLED.value)
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
    return question_type(question).is_nps(question)


class _Builder:
    """Accumulates one QuestionResult per question key, with the choice counts keyed by choice text."""

    def __init__(self, question: Question, key: object):
        kind = question_type(question)
        self.result = QuestionResult(key=key, kind=question.kind, text=question.text)
        if kind.rated:
            self.result.distribution = dict.fromkeys(SCALE_NOTES, 0)
        if is_nps(question):
            self.result.nps = NPS()
        self.choice_counts: dict[str, ChoiceCount] = {}

    def add_choices(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.choice_counts.setdefault(text, ChoiceCount(text))

    def count(self, marks: list, rated: bool) -> None:
        """One answer: its note (a rated question) or the texts of its choices (a choice or yes / no question)."""
        result = self.result
        result.answers += 1
        if rated:
            result.total += marks[0]
            result.distribution[marks[0]] += 1
            return
        for text in marks:
            self.choice_counts[text].count += 1
            if result.nps is not None:
                result.nps.add(int(text))

    def finish(self) -> QuestionResult:
        result = self.result
        if question_type(result.kind).counts_choices:
            result.choices = list(self.choice_counts.values())
            for choice in result.choices:
                choice.percent = percent(choice.count, result.answers)
        return result


def _compute(scope: Select, *, title: str, merged: bool, kinds: tuple[str, ...] | None,
             start: dt.date | None = None, end: dt.date | None = None) -> Results:
    """The Results of the sessions of ``scope``: load (a fixed number of queries), then count in steps."""
    computation = _Computation(merged)
    computation.load(scope, kinds)
    computation.group_questions()
    computation.count_invitations()
    computation.count_responses()
    session_summaries = [computation.summaries[s.id] for s in computation.sessions]
    return Results(title=title, sessions=computation.sessions, questionnaires=computation.ordered_groups(),
                   acquis=_acquis(scope) if not kinds or "acquis" in kinds else [],
                   satisfaction=computation.satisfaction, session_summaries=session_summaries,
                   course_summaries=_course_summaries(session_summaries), merged=merged, start=start, end=end,
                   kinds=kinds)


class _Computation:
    """The steps of ``_compute``, in the manner of pretix's QuotaAvailability: each is one query or one loop."""

    def __init__(self, merged: bool):
        self.merged = merged
        self.groups: dict[object, QuestionnaireResult] = {}  # one per questionnaire (a session) or per kind
        self.builders: dict[object, dict[object, _Builder]] = {}  # group key → question key → builder
        self.group_of: dict[int, object] = {}  # questionnaire id → group key
        self.question_key: dict[int, object] = {}  # question id → question key
        self.satisfaction = Satisfaction()

    # ---- loading

    def load(self, scope: Select, kinds: tuple[str, ...] | None) -> None:
        self.sessions = _load_sessions(scope)
        self.by_id = {s.id: s for s in self.sessions}
        self.summaries = {s.id: SessionSummary(session=s, sessions=1) for s in self.sessions}
        self.invitations = _load_invitations(scope, kinds)
        self.responses = _load_responses(scope, kinds)
        questionnaire_ids = ({i.questionnaire_id for i in self.invitations}
                             | {r.questionnaire_id for r in self.responses})
        self.questionnaires = _load_questionnaires(questionnaire_ids)
        self.questions = {q.id: q for questionnaire in self.questionnaires for q in questionnaire.questions}
        self.anonymous = {q.id: q.anonymous for q in self.questionnaires}
        self.names = {i.response_id: i.recipient_name for i in self.invitations if i.response_id is not None}

    # ---- grouping

    def group_questions(self) -> None:
        """One group per questionnaire (a session) or per kind (a course, a period), one builder per question."""
        for questionnaire in self.questionnaires:
            group = self._group(questionnaire)
            for question in questionnaire.questions:
                self._add_question(group.key, question)
        for group in self.groups.values():
            group.versions.sort()

    def _group(self, questionnaire: Questionnaire) -> QuestionnaireResult:
        gkey = questionnaire.kind if self.merged else questionnaire.id
        self.group_of[questionnaire.id] = gkey
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = QuestionnaireResult(key=gkey, kind=questionnaire.kind,
                                                            title=questionnaire.title)
            self.builders[gkey] = {}
        group.questionnaire_ids.append(questionnaire.id)
        if questionnaire.version not in group.versions:
            group.versions.append(questionnaire.version)
        group.anonymous = group.anonymous or questionnaire.anonymous
        return group

    def _add_question(self, gkey: object, question: Question) -> None:
        qkind = "nps" if is_nps(question) else question.kind
        qkey = (qkind, _norm(question.text)) if self.merged else question.id
        self.question_key[question.id] = qkey
        builder = self.builders[gkey].get(qkey)
        if builder is None:
            builder = self.builders[gkey][qkey] = _Builder(question, qkey)
        builder.result.question_ids.append(question.id)
        kind = question_type(question)
        if kind.counts_choices:
            builder.add_choices(kind.result_choices(question))

    # ---- counting

    def count_invitations(self) -> None:
        for invitation in self.invitations:
            responded = invitation.responded_at is not None
            gkey = self.group_of.get(invitation.questionnaire_id)
            if gkey is not None:
                self.groups[gkey].invitations += 1
                self.groups[gkey].responded += responded
            summary = self.summaries.get(invitation.session_id)
            if summary is not None:
                summary.invitations += 1
                summary.responded += responded
                if invitation.kind == HOT:
                    summary.hot_invitations += 1
                    summary.hot_responded += responded

    def count_responses(self) -> None:
        for response in self.responses:
            group = self.groups[self.group_of[response.questionnaire_id]]
            group.responses += 1
            if response.max_score:
                group.score_points += response.score or 0
                group.score_max += response.max_score
            summary = self.summaries.get(response.session_id)
            if summary is not None:
                summary.responses += 1
            for answer in response.answers:
                question = self.questions.get(answer.question_id)
                if question is not None and answer.value is not None:
                    self._count_answer(response, group, summary, question, answer.value)

    def _count_answer(self, response: Response, group: QuestionnaireResult, summary: SessionSummary | None,
                      question: Question, value) -> None:
        kind = question_type(question)
        marks = kind.marks(question, value)
        if not marks:
            return
        builder = self.builders[group.key][self.question_key[question.id]]
        if kind.free_text:
            builder.result.answers += 1
            builder.result.comments.append(self._comment(response, question, marks[0]))
            return
        builder.count(marks, kind.rated)
        if group.kind != HOT:
            return
        if kind.rated:
            self.satisfaction.add(marks[0])
            if summary is not None:
                summary.satisfaction.add(marks[0])
        elif builder.result.nps is not None and summary is not None:
            for text in marks:
                summary.nps.add(int(text))

    def _comment(self, response: Response, question: Question, text: str) -> Comment:
        session = self.by_id.get(response.session_id)
        name = None if self.anonymous[response.questionnaire_id] else self.names.get(response.id)
        return Comment(text=text, question=question.text, session_id=response.session_id,
                       session_title=session.title if session else "",
                       session_dates=session.dates_label if session else "",
                       submitted_at=response.submitted_at, name=name)

    def ordered_groups(self) -> list[QuestionnaireResult]:
        ordered = sorted(self.groups.values(),
                         key=lambda g: (KIND_ORDER.get(g.kind, 99), -max(g.versions), str(g.key)))
        for group in ordered:
            group.questions = [b.finish() for b in self.builders[group.key].values()]
        return ordered


def _load_sessions(scope: Select) -> list[TrainingSession]:
    """The sessions of ``scope`` in the order of their last slot."""
    last = _last_dates()
    sessions = list(db.session.scalars(
        select(TrainingSession).where(TrainingSession.id.in_(scope))
        .options(selectinload(TrainingSession.slots), selectinload(TrainingSession.course_version),
                 selectinload(TrainingSession.course).selectinload(Course.current_version))))
    last_dates = dict(db.session.execute(
        select(last.c.session_id, last.c.last_date).where(last.c.session_id.in_(scope))).all())
    sessions.sort(key=lambda s: (last_dates.get(s.id) or dt.date.max, s.id))
    return sessions


def _load_invitations(scope: Select, kinds: tuple[str, ...] | None) -> list:
    query = (select(SurveyInvitation.session_id, SurveyInvitation.questionnaire_id, SurveyInvitation.kind,
                    SurveyInvitation.responded_at, SurveyInvitation.response_id, SurveyInvitation.recipient_name)
             .where(SurveyInvitation.session_id.in_(scope)))
    if kinds:
        query = query.where(SurveyInvitation.kind.in_(kinds))
    return db.session.execute(query).all()


def _load_responses(scope: Select, kinds: tuple[str, ...] | None) -> list[Response]:
    query = (select(Response).join(Questionnaire, Response.questionnaire_id == Questionnaire.id)
             .where(Response.session_id.in_(scope), Response.submitted)
             .options(selectinload(Response.answers)).order_by(Response.submitted_at, Response.id))
    if kinds:
        query = query.where(Questionnaire.kind.in_(kinds))
    return list(db.session.scalars(query))


def _load_questionnaires(ids: set[int]) -> list[Questionnaire]:
    """The questionnaires answered or sent, in the order of their kind, the course's own first, newest first."""
    if not ids:
        return []
    questionnaires = list(db.session.scalars(
        select(Questionnaire).where(Questionnaire.id.in_(ids))
        .options(selectinload(Questionnaire.questions).selectinload(Question.choices))))
    questionnaires.sort(key=lambda q: (KIND_ORDER.get(q.kind, 99), q.course_id is None, -q.version, q.id))
    return questionnaires


def _course_summaries(session_summaries: list[SessionSummary]) -> list[CourseSummary]:
    courses: dict[int, CourseSummary] = {}
    for item in session_summaries:
        course = item.session.course
        if course.id not in courses:
            courses[course.id] = CourseSummary(course=course)
        courses[course.id].merge(item)
    return sorted(courses.values(), key=lambda c: _norm(c.course.title))


def _acquis(scope: Select) -> list[AcquisResult]:
    """Per objective text, how many trainees of the selection were judged at each level (one query)."""
    rows = db.session.execute(
        select(CourseObjective.text, CourseObjective.position, AcquisAssessment.level, func.count())
        .join(AcquisAssessment, AcquisAssessment.objective_id == CourseObjective.id)
        .join(Enrolment, Enrolment.id == AcquisAssessment.enrolment_id)
        .where(Enrolment.session_id.in_(scope), Enrolment.status != EnrolmentStatus.CANCELLED.value)
        .group_by(CourseObjective.text, CourseObjective.position, AcquisAssessment.level)).all()
    found: dict[str, AcquisResult] = {}
    for text, position, level, count in rows:
        item = found.setdefault(_norm(text), AcquisResult(objective=text, position=position))
        item.position = min(item.position, position)
        if level in item.counts:
            item.counts[level] += count
    return sorted(found.values(), key=lambda a: (a.position, _norm(a.objective)))
