"""The Qualiopi board: the 7 criteria and 32 indicators of the référentiel national qualité, those that do not
apply to the organisation's one-day non-certifying courses marked with the reason, and for each applicable one
the evidence the database holds over a period (counts, links) and the gaps to fix, as a to-do list.

Pure functions on the database: ``build_board`` runs a fixed number of aggregate queries (GROUP BY / COUNT),
whatever the number of sessions, trainees or requests. Evidence about sessions counts the sessions whose first
half-day falls in the period (drafts and cancelled sessions aside); requests and improvement actions count those
received or created in the period; what is overdue *today* (open requests and actions past their deadline,
incomplete course sheets, trainers' files) is listed whatever the period, since it is still to be done.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from ...accounts.models import ROLE_LABELS, Role, User
from ...attendance.models import AttendanceRecord, AttendanceReport
from ...catalogue.models import Course, CourseStatus, CourseVersion
from ...catalogue.services import indicator1_gaps, list_courses
from ...core.errors import DomainError
from ...core.formatting import count_fr, date_fr, hours_fr
from ...core.timeutil import PARIS, UTC, paris_date
from ...core.validation import clean_text
from ...documents.models import GeneratedDocument
from ...enrolments.models import EXPECTED, SEAT_HOLDING, Enrolment
from ...evaluations.results.indicators import answer_text, satisfied_share
from ...evaluations.models import (
    AcquisAssessment,
    Answer,
    Question,
    Questionnaire,
    Response,
    SurveyInvitation,
)
from ...extensions import db
from ...organisation.models import Organisation
from ...organisation.services import get_organisation
from ...resources.models import Location, Trainer, TrainerDevelopment
from ...sessions.models import ANNOUNCED, ENDED, REMOTE_MODALITIES, STARTED, Slot, SlotModality, TrainingSession
from ..models import ACTION_SOURCES, OPEN_ACTIONS, UNANSWERED_REQUESTS, ActionStatus, ImprovementAction, QualityRequest
from ..registers import services as registers
from ..registers.models import ADAPTATION_STATUSES, WATCH_DOMAINS

CRITERIA = {
    1: "Information du public sur les prestations, les délais d'accès et les résultats obtenus",
    2: "Identification précise des objectifs des prestations et adaptation aux publics",
    3: "Adaptation aux publics de l'accueil, de l'accompagnement, du suivi et de l'évaluation",
    4: "Adéquation des moyens pédagogiques, techniques et d'encadrement",
    5: "Qualification et développement des compétences des personnels",
    6: "Inscription et investissement dans l'environnement professionnel",
    7: "Recueil et prise en compte des appréciations et des réclamations",
}
# number: (criterion, short French wording)
INDICATORS = {
    1: (1, "Information du public détaillée et vérifiable sur les prestations"),
    2: (1, "Indicateurs de résultats adaptés aux prestations et aux publics"),
    3: (1, "Taux d'obtention des certifications, blocs de compétences, passerelles et débouchés"),
    4: (2, "Analyse du besoin du bénéficiaire avec l'entreprise ou le financeur"),
    5: (2, "Objectifs opérationnels et évaluables"),
    6: (2, "Contenus et modalités de mise en œuvre adaptés aux objectifs et aux publics"),
    7: (2, "Adéquation des contenus aux exigences de la certification visée"),
    8: (2, "Positionnement et évaluation des acquis à l'entrée"),
    9: (3, "Information des bénéficiaires sur les conditions de déroulement"),
    10: (3, "Adaptation de la prestation, accompagnement et suivi"),
    11: (3, "Évaluation de l'atteinte des objectifs"),
    12: (3, "Engagement des bénéficiaires et prévention des ruptures de parcours"),
    13: (3, "Alternance : coordination entre l'apprenant, le formateur et l'entreprise"),
    14: (3, "Apprentissage : exercice de la citoyenneté et accès aux droits"),
    15: (3, "Apprentissage : information des apprentis sur leurs droits et devoirs"),
    16: (3, "Certification : présentation aux épreuves selon les exigences du certificateur"),
    17: (4, "Moyens humains et techniques, locaux et équipements adaptés"),
    18: (4, "Coordination des intervenants internes et externes"),
    19: (4, "Ressources pédagogiques mises à disposition"),
    20: (4, "Apprentissage : personnels dédiés (handicap, mobilité, conseil de perfectionnement)"),
    21: (5, "Compétences des intervenants déterminées et vérifiées"),
    22: (5, "Entretien et développement des compétences des personnels"),
    23: (6, "Veille légale et réglementaire"),
    24: (6, "Veille sur les compétences, les métiers et les emplois"),
    25: (6, "Veille sur les innovations pédagogiques et technologiques"),
    26: (6, "Accueil des personnes en situation de handicap : expertise, outils et réseau"),
    27: (6, "Sous-traitance et portage salarial : respect du référentiel"),
    28: (6, "Formation en situation de travail : mobilisation des partenaires socio-économiques"),
    29: (6, "Apprentissage : insertion professionnelle ou poursuite d'études"),
    30: (7, "Recueil des appréciations des parties prenantes"),
    31: (7, "Traitement des difficultés, réclamations et aléas"),
    32: (7, "Mesures d'amélioration continue"),
}
# Indicators that do not apply to one-day, in-person, non-certifying courses without subcontracting or
# apprenticeship (../shared/domain/regulation.md §1.1), with the reason shown on the board.
NOT_APPLICABLE = {
    3: "Ne concerne que les formations certifiantes (RNCP, RS) : nos formations ne préparent à aucune certification.",
    7: "Ne concerne que les formations certifiantes : aucune certification n'est visée.",
    12: "Ne s'applique qu'aux formations de plus de 2 jours : nos formations durent une journée.",
    13: "Ne concerne que les formations en alternance : l'organisme n'en propose pas.",
    14: "Ne concerne que les CFA : l'organisme ne forme pas d'apprentis.",
    15: "Ne concerne que les CFA : l'organisme ne forme pas d'apprentis.",
    16: "Ne concerne que les formations certifiantes : aucune présentation à une certification.",
    20: "Ne concerne que les CFA ; le référent handicap de l'organisme relève de l'indicateur 26.",
    27: "Ne s'applique qu'en cas de sous-traitance ou de portage salarial : l'organisme n'y recourt pas.",
    28: "Ne concerne que les formations comprenant des périodes en situation de travail : aucune ici.",
    29: "Ne concerne que les CFA (insertion ou poursuite d'études des apprentis).",
}
STATUS_LABELS = {
    "na": "Non applicable",
    "gap": "À compléter",
    "ok": "Preuves présentes",
    "empty": "Aucune preuve sur la période",
    "manual": "À documenter hors logiciel",
}
SURVEY_KINDS = {
    "hot": "Enquête à chaud (stagiaires)",
    "cold": "Évaluation à froid (stagiaires)",
    "client": "Entreprises clientes",
    "funder": "Financeurs",
    "trainer_report": "Bilans des formateurs",
}
MIN_YEAR, MAX_YEAR = 2000, 2100
NOTHING_OUTSIDE = "à documenter hors logiciel"


# --------------------------------------------------------------------------- the board's shape


@dataclass
class Link:
    """A page of the application that shows the evidence (built by the view; skipped when it does not exist)."""

    label: str
    endpoint: str
    values: dict = field(default_factory=dict)
    admin_only: bool = False


@dataclass
class Fact:
    key: str
    label: str
    value: int | Decimal | bool | None
    total: int | None = None  # "value / total"
    unit: str = ""  # "%"
    detail: str = ""
    link: Link | None = None


@dataclass
class SessionRef:
    id: int
    title: str
    first: dt.date
    last: dt.date

    @property
    def label(self) -> str:
        when = f"le {date_fr(self.first)}" if self.first == self.last else f"du {date_fr(self.first)} au {date_fr(self.last)}"
        return f"« {self.title} » {when} (n° {self.id})"


@dataclass
class Item:
    """One thing a gap is about, with the page where it is fixed."""

    text: str
    link: Link | None = None


def _course_item(course: Course, text: str | None = None) -> Item:
    return Item(text or course.title, Link(course.title, "courses.show", {"course_id": course.id}))


@dataclass
class Gap:
    indicator: int
    key: str
    count: int
    text: str  # "3 sessions sans résultats d'enquête à froid"
    items: list[Item] = field(default_factory=list)  # what is concerned
    sessions: list[SessionRef] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


@dataclass
class Indicator:
    number: int
    criterion: int
    title: str
    reason: str = ""  # why it does not apply ("" when it applies)
    facts: list[Fact] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def applicable(self) -> bool:
        return not self.reason

    @property
    def status(self) -> str:
        if not self.applicable:
            return "na"
        if self.gaps:
            return "gap"
        if not self.facts:
            return "manual"
        numbers = [f.value for f in self.facts if isinstance(f.value, (int, Decimal)) and not isinstance(f.value, bool)]
        if numbers and len(numbers) == len(self.facts) and not any(numbers):
            return "empty"
        return "ok"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class Criterion:
    number: int
    title: str
    indicators: list[Indicator]


@dataclass
class Board:
    since: dt.date
    until: dt.date
    today: dt.date
    criteria: list[Criterion]
    sessions: int  # sessions counted over the period

    @property
    def indicators(self) -> list[Indicator]:
        return [i for c in self.criteria for i in c.indicators]

    def indicator(self, number: int) -> Indicator:
        return next(i for i in self.indicators if i.number == number)

    @property
    def applicable(self) -> list[Indicator]:
        return [i for i in self.indicators if i.applicable]

    @property
    def gaps(self) -> list[Gap]:
        return [g for i in self.indicators for g in i.gaps]

    def gap(self, key: str) -> Gap | None:
        return next((g for g in self.gaps if g.key == key), None)

    def fact(self, key: str) -> Fact:
        for indicator in self.indicators:
            for fact in indicator.facts:
                if fact.key == key:
                    return fact
        raise KeyError(key)


# --------------------------------------------------------------------------- period


def one_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def resolve_period(since: dt.date | None, until: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period asked for, or the last 12 months up to today (400 when it is reversed or out of range)."""
    for day in (since, until):
        if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
            raise DomainError(f"Date hors limites : {day.day:02d}/{day.month:02d}/{day.year:04d} (choisissez une "
                              f"date entre {MIN_YEAR} et {MAX_YEAR}).")
    until = until or today
    since = since or one_year_before(until)
    if since > until:
        raise DomainError(f"La date de début ({date_fr(since)}) est postérieure à la date de fin ({date_fr(until)}).")
    return since, until


def _utc_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the Paris days since..until."""
    start = dt.datetime.combine(since, dt.time(0), tzinfo=PARIS).astimezone(UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=PARIS).astimezone(UTC)
    return start, end


# --------------------------------------------------------------------------- wording helpers


def counted(n: int, singular: str, plural: str) -> str:
    """« 1 session terminée », « 3 sessions terminées » (French: 0 and 1 take the singular)."""
    return count_fr(n, singular, plural)


def percent(part: int, whole: int) -> Decimal | None:
    return (Decimal(100) * part / whole).quantize(Decimal("1")) if whole else None


# --------------------------------------------------------------------------- queries


def _period_session_ids(since: dt.date, until: dt.date):
    """Sessions (not drafts, not cancelled) whose first half-day falls in the period: a subquery of ids.
    Only the sessions with a half-day in the period are grouped (the others cannot qualify), not ten years
    of slots."""
    other = aliased(Slot)  # an alias: the same table as the outer query's, not correlated with it
    in_period = select(other.session_id).where(other.date >= since, other.date <= until)
    return (select(Slot.session_id).join(TrainingSession, TrainingSession.id == Slot.session_id)
            .where(TrainingSession.status.in_(ANNOUNCED), Slot.session_id.in_(in_period))
            .group_by(Slot.session_id)
            .having(func.min(Slot.date) >= since, func.min(Slot.date) <= until))


@dataclass
class _Session:
    ref: SessionRef
    status: str
    course_id: int
    cold_days: int | None


def _sessions(ids) -> dict[int, _Session]:
    first, last = func.min(Slot.date), func.max(Slot.date)
    rows = db.session.execute(
        select(TrainingSession.id, TrainingSession.status, TrainingSession.course_id, Course.cold_survey_days,
               CourseVersion.title, first, last)
        .join(Slot, Slot.session_id == TrainingSession.id)
        .join(Course, Course.id == TrainingSession.course_id)
        .join(CourseVersion, CourseVersion.id == TrainingSession.course_version_id)
        .where(TrainingSession.id.in_(ids))
        .group_by(TrainingSession.id, TrainingSession.status, TrainingSession.course_id, Course.cold_survey_days,
                  CourseVersion.title)
        .order_by(first, TrainingSession.id))
    return {row[0]: _Session(SessionRef(row[0], row[4], row[5], row[6]), row[1], row[2], row[3]) for row in rows}


@dataclass
class _EnrolmentGroup:
    session_id: int
    status: str
    decision: str | None
    count: int
    convocations: int
    responses: int  # submitted positioning questionnaires
    positioned: int  # a decision or a submitted positioning questionnaire


def _enrolments(ids) -> list[_EnrolmentGroup]:
    answered = (select(Response.enrolment_id)
                .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
                .where(Questionnaire.kind == "positioning", Response.submitted,
                       Response.enrolment_id.is_not(None))
                .distinct().subquery())
    rows = db.session.execute(
        select(Enrolment.session_id, Enrolment.status, Enrolment.positioning_decision, func.count(),
               func.sum(case((Enrolment.convocation_sent_at.is_not(None), 1), else_=0)),
               func.sum(case((answered.c.enrolment_id.is_not(None), 1), else_=0)),
               func.sum(case((or_(Enrolment.positioning_decision.is_not(None),
                                  answered.c.enrolment_id.is_not(None)), 1), else_=0)))
        .outerjoin(answered, answered.c.enrolment_id == Enrolment.id)
        .where(Enrolment.session_id.in_(ids), Enrolment.status.in_(SEAT_HOLDING))
        .group_by(Enrolment.session_id, Enrolment.status, Enrolment.positioning_decision))
    return [_EnrolmentGroup(r[0], r[1], r[2], int(r[3]), int(r[4] or 0), int(r[5] or 0), int(r[6] or 0))
            for r in rows]


def _attendance_kinds(ids) -> dict[str, int]:
    return {kind: int(n) for kind, n in db.session.execute(
        select(AttendanceRecord.kind, func.count()).where(AttendanceRecord.session_id.in_(ids))
        .group_by(AttendanceRecord.kind))}


def _past_slots(ids, today: dt.date) -> dict[int, tuple[int, int]]:
    """{session id: (half-days before today, of which countersigned)} for the sessions that have started."""
    countersigned = (select(AttendanceRecord.slot_id).where(AttendanceRecord.kind == "countersignature")
                     .distinct().subquery())
    rows = db.session.execute(
        select(Slot.session_id, func.count(Slot.id), func.count(countersigned.c.slot_id))
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .outerjoin(countersigned, countersigned.c.slot_id == Slot.id)
        .where(Slot.session_id.in_(ids), TrainingSession.status.in_(STARTED), Slot.date < today)
        .group_by(Slot.session_id))
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


@dataclass
class _Remote:
    """A started session's past half-days at a distance: how many, how many virtual, of which with a meeting
    report imported."""

    half_days: int = 0
    virtual: int = 0
    reported: int = 0


def _remote_slots(ids, today: dt.date) -> dict[int, _Remote]:
    reported = select(AttendanceReport.slot_id).distinct().subquery()
    found: dict[int, _Remote] = defaultdict(_Remote)
    for session_id, modality, n, with_report in db.session.execute(
            select(Slot.session_id, Slot.modality, func.count(Slot.id), func.count(reported.c.slot_id))
            .join(TrainingSession, TrainingSession.id == Slot.session_id)
            .outerjoin(reported, reported.c.slot_id == Slot.id)
            .where(Slot.session_id.in_(ids), TrainingSession.status.in_(STARTED), Slot.date < today,
                   Slot.modality.in_(REMOTE_MODALITIES))
            .group_by(Slot.session_id, Slot.modality)):
        remote = found[session_id]
        remote.half_days += int(n)
        if modality == SlotModality.VIRTUAL.value:
            remote.virtual += int(n)
            remote.reported += int(with_report)
    return dict(found)


def _acquis(ids) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for session_id, level, n in db.session.execute(
            select(Enrolment.session_id, AcquisAssessment.level, func.count())
            .join(Enrolment, Enrolment.id == AcquisAssessment.enrolment_id)
            .where(Enrolment.session_id.in_(ids))
            .group_by(Enrolment.session_id, AcquisAssessment.level)):
        found[session_id][level] = int(n)
    return found


def _invitations(ids) -> dict[tuple[int, str], tuple[int, int]]:
    """{(session id, kind): (invitations, answered)}"""
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in db.session.execute(
        select(SurveyInvitation.session_id, SurveyInvitation.kind, func.count(),
               func.count(SurveyInvitation.responded_at))
        .where(SurveyInvitation.session_id.in_(ids))
        .group_by(SurveyInvitation.session_id, SurveyInvitation.kind))}


def _documents(ids) -> dict[str, tuple[int, int]]:
    """{doc type: (sessions with one, documents)}, each document counted once whatever its versions."""
    return {r[0]: (int(r[1]), int(r[2])) for r in db.session.execute(
        select(GeneratedDocument.doc_type, func.count(GeneratedDocument.session_id.distinct()),
               func.count(GeneratedDocument.subject.distinct()))
        .where(GeneratedDocument.session_id.in_(ids))
        .group_by(GeneratedDocument.doc_type))}


@dataclass
class _Results:
    responses: int = 0
    satisfied: int = 0  # 1–5 answers at 4 or 5
    answered: int = 0  # 1–5 answers
    completed: int = 0
    abandoned: int = 0


def _course_results(course_ids: list[int]) -> dict[int, _Results]:
    """What the public course sheets show (evaluations/indicators.py), for all the courses in three queries:
    hot survey responses, their 1–5 answers, trainees who attended."""
    found: dict[int, _Results] = defaultdict(_Results)
    if not course_ids:
        return found
    hot = (select(Response.id, TrainingSession.course_id)
           .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
           .join(TrainingSession, TrainingSession.id == Response.session_id)
           .where(Questionnaire.kind == "hot", Response.submitted,
                  TrainingSession.course_id.in_(course_ids))).subquery()
    for course_id, n in db.session.execute(select(hot.c.course_id, func.count()).group_by(hot.c.course_id)):
        found[course_id].responses = int(n)
    text = answer_text()  # counted per value in SQL: ten years of answers are not read one by one
    per_course: dict[int, list] = defaultdict(list)
    for course_id, raw, n in db.session.execute(
            select(hot.c.course_id, text, func.count())
            .join(Answer, Answer.response_id == hot.c.id)
            .join(Question, Question.id == Answer.question_id)
            .where(Question.kind == "scale").group_by(hot.c.course_id, text)):
        per_course[course_id].append((raw, n))
    for course_id, counts in per_course.items():
        found[course_id].satisfied, found[course_id].answered = satisfied_share(counts)
    for course_id, status, n in db.session.execute(
            select(TrainingSession.course_id, Enrolment.status, func.count())
            .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
            .where(TrainingSession.course_id.in_(course_ids), Enrolment.status.in_(("completed", "abandoned")))
            .group_by(TrainingSession.course_id, Enrolment.status)):
        setattr(found[course_id], status, int(n))
    return found


def _locations() -> dict[str, int]:
    row = db.session.execute(
        select(func.count(),
               func.sum(case((Location.is_remote.is_(True), 1), else_=0)),
               func.sum(case((Location.wheelchair_access.is_(True), 1), else_=0)))
        .where(Location.active.is_(True))).one()
    total, remote, accessible = int(row[0]), int(row[1] or 0), int(row[2] or 0)
    return {"rooms": total - remote, "remote": remote, "accessible": accessible}


def _users() -> dict[str, int]:
    return {role: int(n) for role, n in db.session.execute(
        select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role))}


def _trainers() -> list[tuple[int, str, bool, bool]]:
    """Active trainers: (id, name, has a CV, competences stated)."""
    return [(r[0], f"{r[1]} {r[2]}".strip(), r[3] is not None, bool((r[4] or "").strip()))
            for r in db.session.execute(
                select(Trainer.id, Trainer.first_name, Trainer.last_name, Trainer.cv_id, Trainer.competences)
                .where(Trainer.active.is_(True)).order_by(Trainer.last_name, Trainer.first_name))]


def _development_log(since: dt.date, until: dt.date) -> tuple[int, int, Decimal, int]:
    """The active trainers' professional-development log: (entries ever, entries in the period, their hours, trainers
    with an entry in the period)."""
    in_period = and_(TrainerDevelopment.day >= since, TrainerDevelopment.day <= until)
    row = db.session.execute(
        select(func.count(TrainerDevelopment.id), func.sum(case((in_period, 1), else_=0)),
               func.sum(case((in_period, func.coalesce(TrainerDevelopment.hours, 0)), else_=0)),
               func.count(func.distinct(case((in_period, TrainerDevelopment.trainer_id)))))
        .join(Trainer, Trainer.id == TrainerDevelopment.trainer_id).where(Trainer.active.is_(True))).one()
    return int(row[0]), int(row[1] or 0), Decimal(row[2] or 0), int(row[3] or 0)


def _requests(start: dt.datetime, end: dt.datetime) -> list[QualityRequest]:
    """Requests received in the period, and every request still open (whenever received)."""
    return list(db.session.scalars(
        select(QualityRequest)
        .where(or_(and_(QualityRequest.received_at >= start, QualityRequest.received_at < end),
                   QualityRequest.status.in_(UNANSWERED_REQUESTS)))
        .order_by(QualityRequest.received_at, QualityRequest.id)))


def _actions(start: dt.datetime, end: dt.datetime) -> list[ImprovementAction]:
    """Actions created in the period, and every action still open."""
    return list(db.session.scalars(
        select(ImprovementAction)
        .where(or_(and_(ImprovementAction.created_at >= start, ImprovementAction.created_at < end),
                   ImprovementAction.status.in_(OPEN_ACTIONS)))
        .order_by(ImprovementAction.created_at, ImprovementAction.id)))


# --------------------------------------------------------------------------- the board


def _new(number: int) -> Indicator:
    criterion, title = INDICATORS[number]
    return Indicator(number=number, criterion=criterion, title=title, reason=NOT_APPLICABLE.get(number, ""))


def _session_gap(number: int, key: str, sessions: list[_Session], singular: str, plural: str) -> list[Gap]:
    if not sessions:
        return []
    return [Gap(number, key, len(sessions), counted(len(sessions), singular, plural),
                sessions=[s.ref for s in sessions])]


def build_board(since: dt.date, until: dt.date, today: dt.date) -> Board:
    """The whole board for the period ``since``..``until`` (Paris dates), overdue items as of ``today``."""
    config = current_app.config
    org = get_organisation()
    ind = {n: _new(n) for n in INDICATORS}
    start, end = _utc_bounds(since, until)

    ids = _period_session_ids(since, until)
    sessions = _sessions(ids)
    held = [s for s in sessions.values() if s.status in ENDED]
    courses = [c for c in list_courses((CourseStatus.PUBLISHED.value,)) if c.current_version is not None]

    _catalogue(ind, org, courses)
    _results(ind, courses, config["PUBLIC_INDICATORS_MIN_RESPONSES"])
    groups = _enrolments(ids)
    _positioning(ind, groups, sessions)
    _convocations(ind, org, groups, sessions, _documents(ids))
    _attendance(ind, groups, sessions, _attendance_kinds(ids), _past_slots(ids, today))
    _distance(ind[10], sessions, _remote_slots(ids, today))
    invitations = _invitations(ids)
    _needs_analyses(ind, invitations, registers.needs_counts(since, until))
    _acquis_evidence(ind, held, _acquis(ids), invitations)
    _means(ind, org, courses, _locations(), _users())
    trainers = _trainers()
    _trainer_files(ind, courses, trainers)
    _development(ind, _development_log(since, until), len(trainers))
    actions = _actions(start, end)
    _watch(ind, [a for a in actions if start <= a.created_at < end], registers.watch_counts(since, until))
    _disability(ind, org, courses, registers.partner_counts(), registers.adaptation_counts(since, until),
                registers.unchecked_after_session())
    _surveys(ind, sessions, held, invitations, today, config)
    _complaints(ind, org, _requests(start, end), start, end, today)
    _improvements(ind, actions, start, end, today)

    criteria = [Criterion(number, title, [i for i in ind.values() if i.criterion == number])
                for number, title in CRITERIA.items()]
    return Board(since=since, until=until, today=today, criteria=criteria, sessions=len(sessions))


def _catalogue(ind: dict[int, Indicator], org: Organisation, courses: list[Course]) -> None:
    """1 (published sheets complete), 5 (objectives), 6 (programme and methods), 12 (a course over 2 days)."""
    _sheets(ind[1], org, courses)
    _objectives(ind[5], courses)
    _programmes(ind[6], courses)
    _long_courses(ind[12], courses)


def _sheets(i1: Indicator, org: Organisation, courses: list[Course]) -> None:
    """1: the published course sheets, each complete or not."""
    incomplete = [(c, indicator1_gaps(c.current_version, org)) for c in courses]
    incomplete = [(c, gaps) for c, gaps in incomplete if gaps]
    i1.facts.append(Fact("courses_published", "Fiches formation publiées", len(courses),
                         link=Link("Catalogue public", "public.catalogue")))
    i1.facts.append(Fact("courses_complete", "Fiches complètes (tous les éléments de l'indicateur 1)",
                         len(courses) - len(incomplete), total=len(courses)))
    for course in courses:
        version = course.current_version
        when = date_fr(version.frozen_at or version.created_at)
        i1.facts.append(Fact(f"sheet:{course.slug}", course.title, None,
                             detail=f"version {version.number} du {when}",
                             link=Link("Fiche", "courses.show", {"course_id": course.id})))
    if incomplete:
        i1.gaps.append(Gap(1, "incomplete_sheets", len(incomplete),
                           counted(len(incomplete), "fiche formation publiée incomplète",
                                   "fiches formation publiées incomplètes"),
                           items=[_course_item(c, f"{c.title} : il manque {', '.join(g)}") for c, g in incomplete]))
    i1.links.append(Link("Formations", "courses.index"))


def _objectives(i5: Indicator, courses: list[Course]) -> None:
    """5: operational objectives and assessment methods."""
    with_objectives = [c for c in courses if c.current_version.objectives]
    with_assessment = [c for c in courses if c.current_version.assessment_methods]
    i5.facts.append(Fact("courses_with_objectives", "Formations publiées avec des objectifs opérationnels",
                         len(with_objectives), total=len(courses)))
    i5.facts.append(Fact("courses_with_assessment", "… et des modalités d'évaluation", len(with_assessment),
                         total=len(courses)))
    missing = [c for c in courses if c not in with_objectives or c not in with_assessment]
    if missing:
        i5.gaps.append(Gap(5, "courses_without_objectives", len(missing),
                           counted(len(missing), "formation publiée sans objectifs ou modalités d'évaluation",
                                   "formations publiées sans objectifs ou modalités d'évaluation"),
                           items=[_course_item(c) for c in missing]))
    i5.links.append(Link("Formations", "courses.index"))


def _programmes(i6: Indicator, courses: list[Course]) -> None:
    """6: a sequenced programme and the teaching methods."""
    with_programme = [c for c in courses if c.current_version.programme and c.current_version.teaching_methods]
    i6.facts.append(Fact("courses_with_programme", "Formations publiées avec programme séquencé et méthodes",
                         len(with_programme), total=len(courses)))
    missing = [c for c in courses if c not in with_programme]
    if missing:
        i6.gaps.append(Gap(6, "courses_without_programme", len(missing),
                           counted(len(missing), "formation publiée sans programme ou méthodes pédagogiques",
                                   "formations publiées sans programme ou méthodes pédagogiques"),
                           items=[_course_item(c) for c in missing]))
    i6.links.append(Link("Formations", "courses.index"))


def _long_courses(i12: Indicator, courses: list[Course]) -> None:
    """12 applies as soon as a published course lasts more than 2 days (14 h when no days are stated)."""
    long = [c for c in courses if (c.current_version.duration_days or c.current_version.duration_hours / 7) > 2]
    if long:
        i12.reason = ""
        i12.gaps.append(Gap(12, "long_courses", len(long),
                            counted(len(long), "formation publiée de plus de 2 jours : prévention des ruptures "
                                               "de parcours à documenter hors logiciel",
                                    "formations publiées de plus de 2 jours : prévention des ruptures de "
                                    "parcours à documenter hors logiciel"),
                            items=[_course_item(c) for c in long]))


def _results(ind: dict[int, Indicator], courses: list[Course], minimum: int) -> None:
    """2: the figures the public course sheets publish (since the course's first session)."""
    i2 = ind[2]
    results = _course_results([c.id for c in courses])
    published = 0
    without = []
    for course in courses:
        r = results[course.id]
        attended = r.completed + r.abandoned
        if r.responses >= minimum:
            published += 1
            satisfaction = percent(r.satisfied, r.answered) or Decimal(0)
            detail = (f"satisfaction {satisfaction} % ({counted(r.responses, 'réponse', 'réponses')} à chaud), "
                      f"{counted(attended, 'stagiaire formé', 'stagiaires formés')}")
            if attended:
                detail += f", taux d'achèvement {percent(r.completed, attended)} %"
        else:
            without.append(course)
            detail = (f"non publiés : {counted(r.responses, 'réponse', 'réponses')} à chaud, "
                      f"{minimum} nécessaires")
        i2.facts.append(Fact(f"results:{course.slug}", course.title, None, detail=detail, link=Link("Fiche publique", "public.course", {"slug": course.slug})))
    i2.facts.insert(0, Fact("courses_with_results", "Formations publiant leurs indicateurs de résultats",
                            published, total=len(courses)))
    if without:
        i2.gaps.append(Gap(2, "courses_without_results", len(without),
                           counted(len(without), "formation publiée sans indicateurs de résultats",
                                   "formations publiées sans indicateurs de résultats")
                           + f" (il faut {counted(minimum, 'réponse', 'réponses')} à l'enquête à chaud)",
                           items=[_course_item(c) for c in without]))
    i2.notes.append("Période et échantillon : toutes les sessions de la formation ; le taux de satisfaction compte "
                    "les notes de 4 ou 5 sur 5 des enquêtes à chaud.")
    i2.links.append(Link("Résultats des enquêtes", "results.index"))


def _positioning(ind: dict[int, Indicator], groups: list[_EnrolmentGroup], sessions: dict[int, _Session]) -> None:
    """4 (needs collected with the positioning questionnaire) and 8 (positioning decisions and records)."""
    i4, i8 = ind[4], ind[8]
    total = sum(g.count for g in groups)
    responses = sum(g.responses for g in groups)
    decisions: dict[str, int] = defaultdict(int)
    for g in groups:
        if g.decision:
            decisions[g.decision] += g.count
    positioned = sum(g.positioned for g in groups)
    i4.facts.append(Fact("positioning_responses", "Questionnaires de positionnement renvoyés (attentes et besoins)",
                         responses, total=total))
    i4.links.append(Link("Sessions", "sessions.index"))

    i8.facts.append(Fact("positioned", "Stagiaires positionnés (décision ou questionnaire renvoyé)", positioned,
                         total=total))
    i8.facts.append(Fact("positioning_decisions", "Décisions sur les prérequis", sum(decisions.values()),
                         detail=", ".join(f"{label.lower()} : {decisions[code]}"
                                          for code, label in (("admitted", "Admis"),
                                                              ("admitted_with_adaptation", "Admis avec adaptation"),
                                                              ("redirected", "Réorientés"))
                                          if decisions[code])))
    missing: dict[int, int] = defaultdict(int)
    for g in groups:
        if g.status in EXPECTED and sessions[g.session_id].status in STARTED:
            missing[g.session_id] += g.count - g.positioned
    missing_total = sum(missing.values())
    if missing_total:
        i8.gaps.append(Gap(8, "trainees_without_positioning", missing_total,
                           counted(missing_total, "stagiaire sans positionnement dans une session commencée",
                                   "stagiaires sans positionnement dans des sessions commencées"),
                           sessions=[sessions[sid].ref for sid, n in missing.items() if n]))
    i8.links.append(Link("Sessions", "sessions.index"))


def _needs_analyses(ind: dict[int, Indicator], invitations: dict[tuple[int, str], tuple[int, int]],
                    register: tuple[int, int]) -> None:
    """4: the needs analyses sent to the client companies before their sessions (evaluations/needs.py) and answered,
    and those recorded in the needs-analysis register (interviews, specifications…); once the organisation uses
    either, the exchanges with the company are evidence held here, not outside."""
    i4 = ind[4]
    ever, in_period = register
    sent = sum(n for (_, kind), (n, _) in invitations.items() if kind == "needs")
    answered = sum(a for (_, kind), (_, a) in invitations.items() if kind == "needs")
    sessions = len({sid for (sid, kind), (n, _) in invitations.items() if kind == "needs" and n})
    i4.facts.append(Fact("needs_analyses", "Analyses des besoins renvoyées par les entreprises", answered, total=sent,
                         detail=counted(sessions, "session concernée", "sessions concernées") if sent else
                         "aucune analyse des besoins envoyée"))
    if ever:
        i4.facts.append(Fact("needs_register", "Analyses des besoins consignées au registre (entretiens, cahiers des "
                                               "charges…)", in_period,
                             link=Link("Analyses des besoins", "quality_registers.needs")))
    i4.links.append(Link("Registre des analyses des besoins", "quality_registers.needs"))
    if answered:
        i4.notes.append("Analyse des besoins avec l'entreprise : questionnaire envoyé depuis la page de chaque session "
                        "(bouton « Analyse des besoins »), réponses consultables par le conseiller et le formateur.")
    elif not ever:
        i4.notes.append("Échanges avec l'entreprise ou le financeur (entretien, cahier des charges d'une session "
                        f"intra) : {NOTHING_OUTSIDE} lorsqu'ils ont lieu hors du questionnaire (ou dans le registre "
                        "des analyses des besoins).")


def _convocations(ind: dict[int, Indicator], org: Organisation, groups: list[_EnrolmentGroup],
                  sessions: dict[int, _Session], documents: dict[str, tuple[int, int]]) -> None:
    """9: convocations sent to each admitted trainee, programmes, internal rules."""
    i9 = ind[9]
    admitted = [g for g in groups if g.status in EXPECTED]
    i9.facts.append(Fact("convocations_sent", "Convocations envoyées", sum(g.convocations for g in admitted),
                         total=sum(g.count for g in admitted)))
    i9.facts.append(Fact("convocation_documents", "Convocations éditées (documents archivés)",
                         documents.get("convocation", (0, 0))[1]))
    i9.facts.append(Fact("programme_documents", "Sessions dont le programme est édité",
                         documents.get("programme", (0, 0))[0], total=len(sessions)))
    i9.facts.append(Fact("internal_rules", "Règlement intérieur renseigné", bool(clean_text(org.internal_rules)),
                         link=Link("Paramètres de l'organisme", "organisation.edit", admin_only=True)))
    missing: dict[int, int] = defaultdict(int)
    for g in admitted:
        if sessions[g.session_id].status in STARTED:
            missing[g.session_id] += g.count - g.convocations
    missing_total = sum(missing.values())
    if missing_total:
        i9.gaps.append(Gap(9, "trainees_without_convocation", missing_total,
                           counted(missing_total, "stagiaire sans convocation envoyée dans une session commencée",
                                   "stagiaires sans convocation envoyée dans des sessions commencées"),
                           sessions=[sessions[sid].ref for sid, n in missing.items() if n]))
    if not clean_text(org.internal_rules):
        i9.gaps.append(Gap(9, "internal_rules", 1, "Règlement intérieur non renseigné dans les paramètres de "
                                                   "l'organisme"))


def _attendance(ind: dict[int, Indicator], groups: list[_EnrolmentGroup], sessions: dict[int, _Session],
                kinds: dict[str, int], slots: dict[int, tuple[int, int]]) -> None:
    """10: attendance evidence per half-day, adaptations decided."""
    i10 = ind[10]
    past = sum(total for total, _ in slots.values())
    countersigned = sum(signed for _, signed in slots.values())
    i10.facts.append(Fact("signatures", "Signatures des stagiaires par demi-journée", kinds.get("signature", 0)))
    i10.facts.append(Fact("countersigned_slots", "Demi-journées passées signées par le formateur", countersigned,
                          total=past))
    i10.facts.append(Fact("corrections", "Corrections et justificatifs d'absence du conseiller",
                          kinds.get("correction", 0) + kinds.get("justification", 0)))
    i10.facts.append(Fact("adaptations", "Admissions avec adaptation (handicap, niveau…)",
                          sum(g.count for g in groups if g.decision == "admitted_with_adaptation")))
    missing = {sid: total - signed for sid, (total, signed) in slots.items() if total > signed}
    if missing:
        n = sum(missing.values())
        i10.gaps.append(Gap(10, "slots_without_countersignature", n,
                            counted(n, "demi-journée passée sans signature du formateur",
                                    "demi-journées passées sans signature du formateur"),
                            sessions=[sessions[sid].ref for sid in missing]))
    i10.links.append(Link("Signatures manquantes", "attendance.missing"))


def _distance(i10: Indicator, sessions: dict[int, _Session], remote: dict[int, _Remote]) -> None:
    """10, distance half-days (R6313-3): the past ones, and the virtual ones' meeting reports imported."""
    i10.facts.append(Fact("remote_half_days", "Demi-journées passées à distance (classe virtuelle, activité "
                                              "asynchrone)", sum(r.half_days for r in remote.values())))
    i10.facts.append(Fact("connection_reports", "Classes virtuelles passées avec leur rapport de connexion importé",
                          sum(r.reported for r in remote.values()), total=sum(r.virtual for r in remote.values())))
    missing = {sid: r.virtual - r.reported for sid, r in remote.items() if r.virtual > r.reported}
    if missing:
        n = sum(missing.values())
        i10.gaps.append(Gap(10, "virtual_without_report", n,
                            counted(n, "classe virtuelle passée sans rapport de connexion importé",
                                    "classes virtuelles passées sans rapport de connexion importé"),
                            sessions=[sessions[sid].ref for sid in missing if sid in sessions]))


def _acquis_evidence(ind: dict[int, Indicator], held: list[_Session], acquis: dict[int, dict[str, int]],
                     invitations: dict[tuple[int, str], tuple[int, int]]) -> None:
    """11: the trainer's evaluation of each objective, and the acquis quizzes answered."""
    i11 = ind[11]
    levels: dict[str, int] = defaultdict(int)
    for per_level in acquis.values():
        for level, n in per_level.items():
            levels[level] += n
    quizzes = sum(answered for (_, kind), (_, answered) in invitations.items() if kind == "acquis")
    evaluated = [s for s in held if acquis.get(s.ref.id) or invitations.get((s.ref.id, "acquis"), (0, 0))[1]]
    i11.facts.append(Fact("acquis_assessments", "Évaluations des acquis par objectif", sum(levels.values()),
                          detail=", ".join(f"{label.lower()} : {levels[code]}" for code, label in
                                           (("acquired", "Acquis"), ("partial", "Partiellement acquis"),
                                            ("not_acquired", "Non acquis")) if levels[code])))
    i11.facts.append(Fact("acquis_quizzes", "Quiz d'acquis renvoyés", quizzes))
    i11.facts.append(Fact("sessions_evaluated", "Sessions terminées dont les acquis sont évalués", len(evaluated),
                          total=len(held)))
    missing = [s for s in held if s not in evaluated]
    i11.gaps.extend(_session_gap(11, "sessions_without_acquis", missing, "session terminée sans évaluation des acquis",
                                 "sessions terminées sans évaluation des acquis"))


def _means(ind: dict[int, Indicator], org: Organisation, courses: list[Course], locations: dict[str, int],
           users: dict[str, int]) -> None:
    """17 (rooms), 18 (who holds which function), 19 (resources described on the sheets)."""
    i17, i18, i19 = ind[17], ind[18], ind[19]
    i17.facts.append(Fact("rooms", "Salles actives", locations["rooms"],
                          link=Link("Lieux", "resources.locations")))
    i17.facts.append(Fact("accessible_rooms", "… dont accessibles aux personnes à mobilité réduite",
                          locations["accessible"], total=locations["rooms"] if locations["rooms"] else None))
    i17.facts.append(Fact("remote_rooms", "Classes à distance", locations["remote"]))
    if not locations["rooms"] and not locations["remote"]:
        i17.gaps.append(Gap(17, "no_location", 1, "Aucun lieu de formation actif enregistré"))

    for role in (Role.ADMIN, Role.ADVISOR, Role.TRAINER):
        i18.facts.append(Fact(f"users_{role.value}", f"Comptes actifs : {ROLE_LABELS[role].lower()}",
                              users.get(role.value, 0)))
    contact = clean_text(org.quality_contact_name)
    i18.facts.append(Fact("quality_contact", "Contact qualité et médiation",
                          bool(contact), detail=contact and f"{contact}, {clean_text(org.quality_contact_title)}".strip(", ")))
    if not contact:
        i18.gaps.append(Gap(18, "quality_contact", 1, "Contact qualité (conseiller formation) non renseigné dans les "
                                                      "paramètres de l'organisme",
                            links=[Link("Paramètres de l'organisme", "organisation.edit", admin_only=True)]))
    i18.links.append(Link("Comptes", "accounts.users", admin_only=True))

    described = [c for c in courses if c.current_version.material_resources.strip()]
    i19.facts.append(Fact("courses_with_resources", "Formations publiées décrivant leurs moyens matériels",
                          len(described), total=len(courses)))
    missing = [c for c in courses if c not in described]
    if missing:
        i19.gaps.append(Gap(19, "courses_without_resources", len(missing),
                            counted(len(missing), "formation publiée sans moyens pédagogiques décrits",
                                    "formations publiées sans moyens pédagogiques décrits"),
                            items=[_course_item(c) for c in missing]))


def _trainer_files(ind: dict[int, Indicator], courses: list[Course], trainers: list[tuple[int, str, bool, bool]]
                   ) -> None:
    """21 (required competences stated, trainers' CVs and competences) and 22 (their development)."""
    i21, i22 = ind[21], ind[22]
    with_cv = sum(1 for t in trainers if t[2])
    with_competences = sum(1 for t in trainers if t[3])
    i21.facts.append(Fact("trainers", "Formateurs actifs", len(trainers), link=Link("Formateurs", "resources.trainers")))
    i21.facts.append(Fact("trainers_with_cv", "… avec CV", with_cv, total=len(trainers)))
    i21.facts.append(Fact("trainers_with_competences", "… avec compétences renseignées", with_competences,
                          total=len(trainers)))
    i21.facts.append(Fact("courses_with_profile", "Formations publiées précisant le profil du formateur",
                          sum(1 for c in courses if c.current_version.trainer_competences.strip()), total=len(courses)))
    incomplete = [t for t in trainers if not (t[2] and t[3])]
    if incomplete:
        items = []
        for trainer_id, name, cv, competences in incomplete:
            lacking = [w for w, ok in (("CV", cv), ("compétences", competences)) if not ok]
            items.append(Item(f"{name} : sans {' ni '.join(lacking)}",
                              Link(name, "resources.trainer_form", {"trainer_id": trainer_id})))
        i21.gaps.append(Gap(21, "trainers_incomplete", len(incomplete),
                            counted(len(incomplete), "formateur actif sans CV ou sans compétences renseignées",
                                    "formateurs actifs sans CV ou sans compétences renseignées"),
                            items=items))
    i22.facts.append(Fact("trainers_with_cv_22", "Formateurs actifs avec CV", with_cv, total=len(trainers)))
    i22.links.append(Link("Formateurs", "resources.trainers"))


def _development(ind: dict[int, Indicator], log: tuple[int, int, Decimal, int], active: int) -> None:
    """22: the trainers' professional-development log (each trainer's file); held outside until it is used."""
    i22 = ind[22]
    ever, entries, hours, trainers = log
    if not ever:
        i22.notes.append(f"Formations suivies par les formateurs et plan de développement des compétences : "
                         f"{NOTHING_OUTSIDE} (ou dans le journal de développement du dossier de chaque formateur).")
        return
    i22.facts.append(Fact("development_entries", "Actions de développement des compétences consignées sur la période",
                          entries, detail=f"{hours_fr(hours)} au total" if hours else ""))
    i22.facts.append(Fact("trainers_developing", "Formateurs actifs ayant une action sur la période", trainers,
                          total=active))


WATCH_TOPICS = {23: "légale et réglementaire", 24: "sur les compétences, métiers et emplois",
                25: "pédagogique et technologique"}


def _watch(ind: dict[int, Indicator], actions: list[ImprovementAction],
           log: dict[str, tuple[int, int, int]]) -> None:
    """23–25: the watch log's entries of each indicator's domains over the period (and those that led to an
    improvement action), the actions whose source is the watch; held outside until the log has an entry of the
    indicator's domains."""
    n = sum(1 for a in actions if a.source == "watch")
    for number, topic in WATCH_TOPICS.items():
        indicator = ind[number]
        domains = [d for d in WATCH_DOMAINS if registers.WATCH_INDICATORS[d] == number]
        ever = sum(log.get(d, (0, 0, 0))[0] for d in domains)
        in_period = sum(log.get(d, (0, 0, 0))[1] for d in domains)
        led = sum(log.get(d, (0, 0, 0))[2] for d in domains)
        link = Link("Journal de veille", "quality_registers.watch", {"domain": domains[0]} if len(domains) == 1 else {})
        if ever:
            indicator.facts.append(Fact(f"watch_entries_{number}", f"Entrées du journal de veille {topic}", in_period,
                                        detail=f"dont {led} ayant conduit à une action d'amélioration"
                                        if led else "", link=link))
        if n:
            indicator.facts.append(Fact(f"watch_actions_{number}", "Actions d'amélioration issues de la veille", n))
        if not ever:
            indicator.notes.append(f"Journal de veille {topic} et son exploitation : {NOTHING_OUTSIDE} (ou dans le "
                                   "journal de veille).")
        indicator.links.append(link)
        indicator.links.append(Link("Actions d'amélioration", "improvement_actions.index"))


def _disability(ind: dict[int, Indicator], org: Organisation, courses: list[Course], partners: tuple[int, int],
                adaptations: dict[str, int], unchecked: list[registers.UncheckedAdaptation]) -> None:
    """26: the disability referent, the accessibility policy, the partner network, the adaptations requested over
    the period and those not checked once their session ended (whenever: still to be done)."""
    i26 = ind[26]
    name = clean_text(org.disability_contact_name)
    contact = " – ".join(p for p in (clean_text(org.disability_contact_email), clean_text(org.disability_contact_phone)) if p)
    i26.facts.append(Fact("disability_referent", "Référent handicap", bool(name),
                          detail=" – ".join(p for p in (name, contact) if p),
                          link=Link("Paramètres de l'organisme", "organisation.edit", admin_only=True)))
    i26.facts.append(Fact("accessibility_policy", "Politique d'accessibilité publiée", bool(clean_text(org.accessibility_policy))))
    if not name or not contact:
        i26.gaps.append(Gap(26, "disability_referent", 1, "Référent handicap (nom et contact) non renseigné dans "
                                                          "les paramètres de l'organisme"))
    if not clean_text(org.accessibility_policy) and any(not c.current_version.accessibility for c in courses):
        i26.gaps.append(Gap(26, "accessibility_policy", 1, "Politique d'accessibilité non renseignée"))
    register = Link("Handicap : réseau et adaptations", "quality_registers.disability")
    total, active = partners
    if total:
        i26.facts.append(Fact("disability_partners", "Partenaires actifs du réseau handicap", active, link=register))
    requested = sum(adaptations.values())
    i26.facts.append(Fact("adaptations_requested", "Adaptations demandées sur la période", requested,
                          detail=", ".join(f"{label.lower()} : {adaptations[code]}"
                                           for code, label in ADAPTATION_STATUSES.items() if adaptations.get(code))))
    if unchecked:
        i26.gaps.append(Gap(26, "adaptations_unchecked", len(unchecked),
                            counted(len(unchecked), "adaptation non vérifiée alors que sa session est terminée",
                                    "adaptations non vérifiées alors que leur session est terminée"),
                            items=[Item(a.text, Link("Adaptation", "quality_registers.adaptation",
                                                     {"adaptation_id": a.id})) for a in unchecked]))
    if not active:
        i26.notes.append("Réseau de partenaires (Agefiph, Cap emploi…) et traces de sa mobilisation : "
                         f"{NOTHING_OUTSIDE} (ou dans le réseau handicap de l'application).")
    i26.links.append(register)


def _surveys(ind: dict[int, Indicator], sessions: dict[int, _Session], held: list[_Session],
             invitations: dict[tuple[int, str], tuple[int, int]], today: dt.date, config) -> None:
    """30: appreciations collected from trainees (hot, cold), client companies, funders and trainers."""
    i30 = ind[30]
    for kind, label in SURVEY_KINDS.items():
        sent = sum(n for (_, k), (n, _) in invitations.items() if k == kind)
        answered = sum(a for (_, k), (_, a) in invitations.items() if k == kind)
        rate = percent(answered, sent)
        i30.facts.append(Fact(f"survey_{kind}", label, answered, total=sent,
                              detail=f"taux de réponse {rate} %" if rate is not None else "aucune enquête envoyée"))
    last_reminder = max(config["SURVEY_REMINDER_DAYS"] or (0,))
    no_hot = [s for s in held if s.ref.last + dt.timedelta(days=last_reminder) < today
              and not invitations.get((s.ref.id, "hot"), (0, 0))[1]]
    i30.gaps.extend(_session_gap(30, "sessions_without_hot", no_hot, "session sans réponse à l'enquête à chaud",
                                 "sessions sans réponse à l'enquête à chaud"))
    cold_default = config["SURVEY_COLD_DAYS"]
    no_cold = [s for s in held
               if s.ref.last + dt.timedelta(days=(s.cold_days or cold_default) + last_reminder) < today
               and not invitations.get((s.ref.id, "cold"), (0, 0))[1]]
    i30.gaps.extend(_session_gap(30, "sessions_without_cold", no_cold, "session sans résultats d'enquête à froid",
                                 "sessions sans résultats d'enquête à froid"))
    if held:
        for kind, text in (("client", "Aucune réponse d'entreprise cliente recueillie sur la période"),
                           ("funder", "Aucun retour de financeur recueilli sur la période"),
                           ("trainer_report", "Aucun bilan de formateur recueilli sur la période")):
            if not any(a for (_, k), (_, a) in invitations.items() if k == kind):
                i30.gaps.append(Gap(30, f"no_{kind}_answers", 1, text))
    i30.links.append(Link("Résultats des enquêtes", "results.index"))
    i30.links.append(Link("Alertes des enquêtes", "survey_alerts.alerts"))


def _request_link(request: QualityRequest) -> Link:
    return Link(request.reference, "quality_requests.show", {"request_id": request.id})


def _action_link(action: ImprovementAction) -> Link:
    return Link(action.title, "improvement_actions.show", {"action_id": action.id})


def _complaints(ind: dict[int, Indicator], org: Organisation, requests: list[QualityRequest], start: dt.datetime,
                end: dt.datetime, today: dt.date) -> None:
    """31: requests received, answered in time or late, escalated; those open past their deadline today."""
    i31 = ind[31]
    received = [r for r in requests if start <= r.received_at < end]
    answered = [r for r in received if r.answered_at is not None]
    late = [r for r in answered if paris_date(r.answered_at) > r.answer_due]
    ack_late = [r for r in received if r.acknowledged_at is not None
                and paris_date(r.acknowledged_at) > r.acknowledge_due]
    escalated = [r for r in received if r.escalated_at is not None]
    open_now = [r for r in requests if r.is_unanswered]
    overdue = [r for r in open_now if r.answer_due < today
               or (r.acknowledged_at is None and r.acknowledge_due < today)]
    kinds: dict[str, int] = defaultdict(int)
    for r in received:
        kinds[r.kind_label.lower()] += 1
    i31.facts.append(Fact("requests_received", "Demandes reçues (réclamations, difficultés, aléas, médiation…)",
                          len(received), detail=", ".join(f"{k} : {n}" for k, n in sorted(kinds.items()))))
    i31.facts.append(Fact("requests_in_time", "Réponses apportées dans le délai", len(answered) - len(late),
                          total=len(answered)))
    i31.facts.append(Fact("requests_late", "Réponses apportées en retard", len(late)))
    i31.facts.append(Fact("requests_ack_late", "Accusés de réception envoyés en retard", len(ack_late)))
    i31.facts.append(Fact("requests_escalated", "Transmises au médiateur", len(escalated)))
    i31.facts.append(Fact("requests_open", "Demandes en cours de traitement (à ce jour)", len(open_now)))
    i31.facts.append(Fact("requests_overdue", "… dont en retard (à ce jour)", len(overdue)))
    i31.facts.append(Fact("consumer_mediator", "Médiateur de la consommation désigné",
                          bool(clean_text(org.consumer_mediator)),
                          link=Link("Paramètres de l'organisme", "organisation.edit", admin_only=True)))
    register = Link("Registre des réclamations", "quality_requests.index")
    if late:
        i31.gaps.append(Gap(31, "requests_answered_late", len(late),
                            counted(len(late), "réclamation traitée en retard", "réclamations traitées en retard"),
                            items=[Item(f"{r.reference} : réponse le {date_fr(r.answered_at)} pour le "
                                        f"{date_fr(r.answer_due)}", _request_link(r)) for r in late]))
    if overdue:
        i31.gaps.append(Gap(31, "requests_overdue", len(overdue),
                            counted(len(overdue), "réclamation en attente au-delà de son délai",
                                    "réclamations en attente au-delà de leur délai"),
                            items=[Item(f"{r.reference} ({r.status_label.lower()}) : réponse attendue le "
                                        f"{date_fr(r.answer_due)}", _request_link(r)) for r in overdue]))
    if not clean_text(org.consumer_mediator):
        i31.gaps.append(Gap(31, "consumer_mediator", 1, "Médiateur de la consommation non renseigné dans les "
                                                        "paramètres de l'organisme"))
    i31.links.append(register)


def _improvements(ind: dict[int, Indicator], actions: list[ImprovementAction], start: dt.datetime,
                  end: dt.datetime, today: dt.date) -> None:
    """32: improvement actions decided in the period, their effect; open ones past their due date today."""
    i32 = ind[32]
    created = [a for a in actions if start <= a.created_at < end]
    sources: dict[str, int] = defaultdict(int)
    for a in created:
        sources[a.source] += 1
    done = [a for a in created if a.status == ActionStatus.DONE.value]
    without_effect = [a for a in done if not (a.effect or "").strip()]
    open_now = [a for a in actions if a.is_open]
    overdue = [a for a in open_now if a.due_date is not None and a.due_date < today]
    i32.facts.append(Fact("actions_created", "Actions d'amélioration décidées", len(created),
                          detail=", ".join(f"{ACTION_SOURCES.get(s, s).lower()} : {n}"
                                           for s, n in sorted(sources.items()))))
    i32.facts.append(Fact("actions_done_with_effect", "Réalisées, effet constaté", len(done) - len(without_effect),
                          total=len(done)))
    i32.facts.append(Fact("actions_open", "En cours (à ce jour)", len(open_now)))
    i32.facts.append(Fact("actions_overdue", "… dont en retard (à ce jour)", len(overdue)))
    register = Link("Actions d'amélioration", "improvement_actions.index")
    if overdue:
        i32.gaps.append(Gap(32, "actions_overdue", len(overdue),
                            counted(len(overdue), "action d'amélioration en retard", "actions d'amélioration en retard"),
                            items=[Item(f"{a.title} : prévue le {date_fr(a.due_date)}", _action_link(a)) for a in overdue]))
    if without_effect:
        i32.gaps.append(Gap(32, "actions_without_effect", len(without_effect),
                            counted(len(without_effect), "action réalisée sans effet constaté",
                                    "actions réalisées sans effet constaté"),
                            items=[Item(a.title, _action_link(a)) for a in without_effect]))
    i32.links.append(register)
