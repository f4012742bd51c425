"""The questionnaire engine: questionnaires built from a plain spec, answers checked per question kind (kinds.py),
drafts, submission (then frozen), score, and what a submitted positioning questionnaire changes on the enrolment.
See docs/evaluations.md."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...catalogue.models import Course
from ...core.errors import ConflictError, ErrorCollector, NotFoundError, ValidationError
from ...core.formatting import date_fr, number_fr
from ...core.persistence import lock_row
from ...core.timeutil import utcnow
from ...core.validation import id_or_none
from ...enrolments.models import Enrolment
from ...enrolments.services import record_positioning_answers
from ...extensions import db
from ..kinds import MESSAGES, field_name, is_blank, question_type
from ..models import (
    QUESTION_KINDS,
    QUESTION_ROLES,
    QUESTIONNAIRE_KINDS,
    Answer,
    Choice,
    Question,
    Questionnaire,
    Response,
    ResponseStatus,
)

POSITIONING = "positioning"

# Answers to an adaptation question that mean "nothing to adapt": not copied to the trainee's record.
NOTHING = {"", "aucun", "aucune", "aucun besoin", "pas de besoin", "pas de besoins", "non", "non merci", "rien",
           "néant", "neant", "ras", "r.a.s", "n/a", "na", "-", "/", "sans objet", "pas d'adaptation",
           "aucune adaptation", "je n'ai pas de besoin", "je n'ai aucun besoin", "pas concerné", "pas concernée",
           "non concerné", "non concernée"}

INVALID = "Certaines réponses sont à compléter ou à corriger : voyez les messages sous les questions concernées."
ALREADY_SUBMITTED = "Vos réponses ont déjà été envoyées : elles ne peuvent plus être modifiées."


# --------------------------------------------------------------------------- building questionnaires


def create_questionnaire(spec: dict) -> Questionnaire:
    """A questionnaire from a plain spec (demo data, tests)::

        {"kind": "positioning", "title": "…", "intro": "…", "course": course (or "course_id": 3),
         "active": True, "anonymous": False,
         "questions": [
             {"kind": "scale", "text": "…", "help": "…", "required": True, "role": ""},
             {"kind": "single", "text": "…", "choices": [{"text": "…", "correct": True, "points": 1},
                                                        {"text": "…", "correct": False}, "plain choice"]},
         ]}

    Questions and choices keep the order of the lists. An active questionnaire of a course replaces (makes
    inactive) the course's previous active one of the same kind and takes the next version number;
    responses already given keep pointing at theirs."""
    errors = ErrorCollector()
    kind = str(spec.get("kind") or "")
    if kind not in QUESTIONNAIRE_KINDS:
        errors.add("kind", "Type de questionnaire inconnu.")
    title = str(spec.get("title") or "").strip()
    if not title or len(title) > 200:
        errors.add("title", "Le titre est obligatoire (200 caractères au plus).")
    course = _spec_course(spec, errors)
    questions = list(spec.get("questions") or [])
    if not questions:
        errors.add("questions", "Un questionnaire compte au moins une question.")
    built = [_build_question(index, qspec, errors) for index, qspec in enumerate(questions)]
    if errors.fields:
        raise ValidationError("Le questionnaire est incomplet ou invalide.", fields=errors.fields)
    active = bool(spec.get("active", True))
    version = _next_version(kind, course, active)
    questionnaire = Questionnaire(kind=kind, title=title, intro=str(spec.get("intro") or "").strip(),
                                  course=course, version=int(spec.get("version") or version), active=active,
                                  anonymous=bool(spec.get("anonymous", False)), questions=built)
    db.session.add(questionnaire)
    db.session.flush()
    return questionnaire


def _spec_course(spec: dict, errors: ErrorCollector) -> Course | None:
    course = spec.get("course")
    if course is None and spec.get("course_id") not in (None, ""):
        course = db.session.get(Course, id_or_none(spec.get("course_id")) or 0)
        if course is None:
            errors.add("course_id", "Formation introuvable.")
    return course


def _build_question(index: int, qspec: dict, errors: ErrorCollector) -> Question:
    name = f"questions.{index}"
    qkind = str(qspec.get("kind") or "")
    role = str(qspec.get("role") or "")
    text = str(qspec.get("text") or "").strip()
    if qkind not in QUESTION_KINDS:
        errors.add(f"{name}.kind", "Type de question inconnu : scale, single, multiple, yes_no ou text.")
    if role not in QUESTION_ROLES:
        errors.add(f"{name}.role", "Rôle inconnu : prerequisite, accessibility, expectations ou rien.")
    if role == "prerequisite" and qkind != "yes_no":
        errors.add(f"{name}.role", "La confirmation du prérequis est une question oui / non.")
    if not text:
        errors.add(f"{name}.text", "Le texte de la question est obligatoire.")
    question = Question(position=index + 1, kind=qkind, text=text, help=str(qspec.get("help") or "").strip(),
                        required=bool(qspec.get("required", True)), role=role)
    choice_specs = list(qspec.get("choices") or [])
    has_choices = question_type(qkind).has_choices
    if has_choices and len(choice_specs) < 2:
        errors.add(f"{name}.choices", "Une question à choix propose au moins deux réponses.")
    if not has_choices and choice_specs:
        errors.add(f"{name}.choices", "Seules les questions à choix unique ou multiple proposent des réponses.")
    for cindex, cspec in enumerate(choice_specs):
        question.choices.append(_build_choice(f"{name}.choices.{cindex}", cindex, cspec, errors))
    return question


def _build_choice(name: str, index: int, cspec, errors: ErrorCollector) -> Choice:
    cspec = {"text": cspec} if isinstance(cspec, str) else dict(cspec)
    ctext = str(cspec.get("text") or "").strip()
    if not ctext or len(ctext) > 500:
        errors.add(name, "Le texte d'une réponse est obligatoire (500 caractères au plus).")
    points = cspec.get("points", 0)
    if isinstance(points, bool) or not isinstance(points, int):
        errors.add(name, "Les points sont un nombre entier.")
        points = 0
    correct = cspec.get("correct", cspec.get("is_correct"))
    return Choice(position=index + 1, text=ctext, points=points, is_correct=None if correct is None else bool(correct))


def _next_version(kind: str, course: Course | None, active: bool) -> int:
    """Versions: a questionnaire is never edited in place; the new one replaces the active one of the same kind
    for the same course (or the organisation's default, without a course), answers keep theirs."""
    previous = list(db.session.scalars(select(Questionnaire).where(
        Questionnaire.kind == kind,
        Questionnaire.course_id == course.id if course is not None else Questionnaire.course_id.is_(None))))
    if active:
        for old in previous:
            old.active = False
    return max((q.version for q in previous), default=0) + 1


# --------------------------------------------------------------------------- finding


def _questionnaire_options():
    return (selectinload(Questionnaire.questions).selectinload(Question.choices),)


def positioning_questionnaire(course: Course | int) -> Questionnaire | None:
    """The course's active positioning questionnaire (the latest version if several are active)."""
    course_id = course if isinstance(course, int) else course.id
    return db.session.scalar(
        select(Questionnaire).where(Questionnaire.kind == POSITIONING, Questionnaire.course_id == course_id,
                                    Questionnaire.active.is_(True))
        .order_by(Questionnaire.version.desc(), Questionnaire.id.desc()).limit(1)
        .options(*_questionnaire_options())
    )


def positioning_response(enrolment: Enrolment) -> Response | None:
    """The enrolment's positioning response (draft or submitted), whichever questionnaire version it answers."""
    return db.session.scalar(
        select(Response).join(Questionnaire, Response.questionnaire_id == Questionnaire.id)
        .where(Response.enrolment_id == enrolment.id, Questionnaire.kind == POSITIONING)
        .order_by(Response.id.desc()).limit(1)
        .options(selectinload(Response.answers))
    )


def positioning_for(enrolment: Enrolment) -> tuple[Questionnaire | None, Response | None]:
    """(questionnaire, response) for the enrolment: the questionnaire its response answers if it has begun,
    else its course's active one; (None, None) when the course has none."""
    response = positioning_response(enrolment)
    if response is not None:
        return response.questionnaire, response
    return positioning_questionnaire(enrolment.session.course_id), None


def _lock_enrolment(enrolment_id: int) -> None:
    """Serialise the answers of one enrolment until the transaction ends (two tabs, a double click)."""
    lock_row(Enrolment, enrolment_id)


def get_or_create_response(questionnaire: Questionnaire, enrolment: Enrolment) -> Response:
    """The enrolment's response to ``questionnaire``, created as a draft if there is none yet."""
    _lock_enrolment(enrolment.id)
    response = db.session.scalar(
        select(Response).where(Response.questionnaire_id == questionnaire.id, Response.enrolment_id == enrolment.id)
        .execution_options(populate_existing=True)
    )
    if response is None:
        response = Response(questionnaire=questionnaire, enrolment_id=enrolment.id, status=ResponseStatus.DRAFT.value)
        db.session.add(response)
        db.session.flush()
    return response


# --------------------------------------------------------------------------- checking answers


def _raw(data: dict, question: Question):
    for key in (field_name(question), str(question.id), question.id):
        if key in data:
            return data[key]
    return None


def clean_answer(question: Question, raw) -> Any:
    """The stored form of one answer (None when unanswered); ValidationError naming ``q<id>`` if invalid."""
    if is_blank(raw):
        return None
    return question_type(question).clean(question, raw)


def clean_answers(questionnaire: Questionnaire, data: dict, *, require: bool = False) -> dict[int, Any]:
    """{question id: stored value or None} for every question; all the errors at once (ValidationError).
    With ``require``, an unanswered required question is an error too."""
    data = data or {}
    fields: dict[str, list[str]] = {}
    out: dict[int, Any] = {}
    for question in questionnaire.questions:
        try:
            value = clean_answer(question, _raw(data, question))
        except ValidationError as exc:
            for name, messages in exc.fields.items():
                fields.setdefault(name, []).extend(messages)
            continue
        if value is None and require and question.required:
            fields.setdefault(field_name(question), []).append(MESSAGES["required"])
        out[question.id] = value
    if fields:
        raise ValidationError(INVALID, fields=fields)
    return out


# --------------------------------------------------------------------------- saving and submitting


def score(response: Response) -> Decimal:
    """Sum of the points of the chosen choices (single: the one chosen; multiple: all of them)."""
    questions = {q.id: q for q in response.questionnaire.questions}
    total = Decimal(0)
    for answer in response.answers:
        question = questions.get(answer.question_id)
        if question is None:
            continue
        chosen = question_type(question).chosen_ids(question, answer.value)
        total += sum((Decimal(c.points) for c in question.choices if c.id in chosen), Decimal(0))
    return total


def save_answers(response: Response, data: dict, *, submit: bool = False) -> Response:
    """Save the answers of a response: a draft accepts unanswered questions (save and resume later);
    ``submit`` also requires the required ones, computes the score and freezes the response (409 afterwards).
    Nothing is saved when an answer is invalid (ValidationError, every question's message at once)."""
    if response.enrolment_id is not None:
        _lock_enrolment(response.enrolment_id)
    db.session.flush()
    db.session.refresh(response)  # the status as committed now, not as read before the lock
    if response.submitted:
        raise ConflictError(ALREADY_SUBMITTED)
    questionnaire = response.questionnaire
    clean = clean_answers(questionnaire, data, require=submit)
    existing = {a.question_id: a for a in response.answers}
    for question in questionnaire.questions:
        value = clean.get(question.id)
        answer = existing.get(question.id)
        if value is None:
            if answer is not None:
                response.answers.remove(answer)
        elif answer is None:
            response.answers.append(Answer(question_id=question.id, value=value))
        elif answer.value != value:
            answer.value = value
    response.updated_at = utcnow()
    if submit:
        response.status = ResponseStatus.SUBMITTED.value
        response.submitted_at = utcnow()
        response.score = score(response)
        response.max_score = questionnaire.max_score
        db.session.flush()
        _after_submit(response)
    db.session.flush()
    return response


def _after_submit(response: Response) -> None:
    if response.questionnaire.kind == POSITIONING and response.enrolment_id is not None:
        _positioning_submitted(response)


# --------------------------------------------------------------------------- positioning


def _check_answerable(enrolment: Enrolment) -> None:
    if not enrolment.is_live:
        raise ConflictError(f"Votre inscription est « {enrolment.status_label.lower()} » : le questionnaire de "
                            "positionnement n'est plus à remplir.")


def answer_positioning(enrolment: Enrolment, data: dict, *, submit: bool = False) -> Response:
    """The trainee's answers to the positioning questionnaire of their enrolment's course (draft or submit)."""
    questionnaire, response = positioning_for(enrolment)
    if questionnaire is None:
        raise NotFoundError("Cette formation n'a pas de questionnaire de positionnement.")
    if response is not None and response.submitted:
        raise ConflictError(ALREADY_SUBMITTED)
    _check_answerable(enrolment)
    if response is None:
        response = get_or_create_response(questionnaire, enrolment)
    return save_answers(response, data, submit=submit)


def _is_nothing(text: str) -> bool:
    simple = " ".join(text.replace("’", "'").split()).casefold().strip(" .!,;")
    return simple in NOTHING


def _role_texts(response: Response, role: str) -> list[str]:
    """The answers to the questions of ``role``, as text (free text, chosen choices, "question : oui")."""
    answers = {a.question_id: a.value for a in response.answers}
    texts: list[str] = []
    for question in response.questionnaire.questions:
        if question.role != role or question.id not in answers:
            continue
        texts.extend(question_type(question).role_texts(question, answers[question.id]))
    return texts


def accessibility_answers(response: Response | None) -> list[str]:
    """What the trainee said about adaptation needs, without the "aucun" / "rien" kind of answers."""
    if response is None:
        return []
    return [t for t in _role_texts(response, "accessibility") if not _is_nothing(t)]


def prerequisite_answer(response: Response | None) -> bool | None:
    """True when every prerequisite question is answered yes, False if one is answered no, None otherwise."""
    if response is None:
        return None
    answers = {a.question_id: a.value for a in response.answers}
    values = [answers.get(q.id) for q in response.questionnaire.questions if q.role == "prerequisite"]
    if not values or any(v is None for v in values):
        return False if False in values else None
    return all(v is True for v in values)


def _positioning_submitted(response: Response) -> None:
    enrolment = db.session.get(Enrolment, response.enrolment_id)
    prerequisite = prerequisite_answer(response)
    needs = accessibility_answers(response)
    parts = ["Questionnaire de positionnement envoyé par le stagiaire"]
    if response.max_score:
        parts.append(f"score {number_fr(response.score)}/{number_fr(response.max_score)}")
    if prerequisite is True:
        parts.append("prérequis confirmé")
    elif prerequisite is False:
        parts.append("prérequis NON confirmé")
    if needs:
        parts.append("besoin d'adaptation signalé")
    record_positioning_answers(enrolment, message=" ; ".join(parts) + ".", prerequisite_confirmed=prerequisite is True,
                               accessibility=needs)


# --------------------------------------------------------------------------- reading answers back


@dataclass
class ChoiceRow:
    text: str
    chosen: bool
    is_correct: bool | None
    points: int


@dataclass
class AnswerRow:
    question: Question
    answered: bool
    text: str  # the answer as one line of text ("4 / 5", "Oui", the choices, the free text)
    choices: list[ChoiceRow] = field(default_factory=list)  # every choice of a choice question
    scored: bool = False
    points: Decimal | None = None
    max_points: Decimal = Decimal(0)

    @property
    def correct(self) -> bool | None:
        """For a scored question: every chosen choice is correct and no correct one is missed."""
        marked = [c for c in self.choices if c.is_correct is not None]
        if not marked or not self.answered:
            return None
        return all(c.chosen == bool(c.is_correct) for c in marked)


@dataclass
class ResponseView:
    """What the templates show of a response (templates/evaluations/_response.html)."""

    questionnaire: Questionnaire | None
    response: Response | None
    rows: list[AnswerRow] = field(default_factory=list)

    @property
    def submitted(self) -> bool:
        return self.response is not None and self.response.submitted

    @property
    def submitted_at(self) -> dt.datetime | None:
        return self.response.submitted_at if self.response is not None else None

    @property
    def max_score(self) -> Decimal | None:
        if self.response is not None and self.response.max_score is not None:
            return self.response.max_score
        return self.questionnaire.max_score if self.questionnaire is not None else None

    @property
    def score(self) -> Decimal | None:
        return self.response.score if self.submitted else None

    @property
    def scored(self) -> bool:
        return bool(self.max_score)

    @property
    def status_label(self) -> str:
        if self.response is None:
            return "Pas encore de réponse"
        if self.submitted:
            return f"Envoyé le {date_fr(self.response.submitted_at)}"
        return "Brouillon"


def answer_rows(questionnaire: Questionnaire, response: Response | None) -> list[AnswerRow]:
    answers = {a.question_id: a.value for a in response.answers} if response is not None else {}
    return [_answer_row(question, answers.get(question.id)) for question in questionnaire.questions]


def _answer_row(question: Question, value) -> AnswerRow:
    kind = question_type(question)
    row = AnswerRow(question=question, answered=value is not None, text="", scored=question.scored,
                    max_points=question.max_points)
    if value is not None:
        row.text = kind.answer_text(question, value)
    if kind.has_choices:
        chosen = kind.chosen_ids(question, value)
        row.choices = [ChoiceRow(c.text, c.id in chosen, c.is_correct, c.points) for c in question.choices]
        if row.answered:
            row.points = sum((Decimal(c.points) for c in question.choices if c.id in chosen), Decimal(0))
    return row


def response_view(response: Response) -> ResponseView:
    return ResponseView(response.questionnaire, response, answer_rows(response.questionnaire, response))


@dataclass
class PositioningSummary(ResponseView):
    """What the advisor's enrolment page shows of the positioning (``summary`` in _response.html)."""

    enrolment: Enrolment | None = None
    prerequisite_confirmed: bool = False
    prerequisite_confirmed_at: dt.datetime | None = None
    prerequisite_answer: bool | None = None  # the trainee's own answer (False: said no)
    has_prerequisite_question: bool = False
    accessibility_answers: list[str] = field(default_factory=list)
    expectations: list[str] = field(default_factory=list)


def positioning_summary(enrolment: Enrolment) -> PositioningSummary:
    """The positioning of one enrolment: questionnaire (None if its course has none), response (None until the
    trainee saves something), answer rows, score / max (submitted only), prerequisite and adaptation needs."""
    questionnaire, response = positioning_for(enrolment)
    submitted = response is not None and response.submitted
    return PositioningSummary(
        questionnaire=questionnaire,
        response=response,
        rows=answer_rows(questionnaire, response) if questionnaire is not None else [],
        enrolment=enrolment,
        prerequisite_confirmed=enrolment.prerequisite_confirmed_at is not None,
        prerequisite_confirmed_at=enrolment.prerequisite_confirmed_at,
        prerequisite_answer=prerequisite_answer(response) if submitted else None,
        has_prerequisite_question=questionnaire is not None and any(
            q.role == "prerequisite" for q in questionnaire.questions),
        accessibility_answers=accessibility_answers(response) if submitted else [],
        expectations=_role_texts(response, "expectations") if submitted else [],
    )


def initial_form_data(response: Response | None) -> dict[str, Any]:
    """A response's saved answers as form data {"q<id>": value} (what the form shows when resumed)."""
    if response is None:
        return {}
    questions = {q.id: q for q in response.questionnaire.questions}
    data: dict[str, Any] = {}
    for answer in response.answers:
        question = questions.get(answer.question_id)
        if question is None:
            continue
        data[field_name(question)] = question_type(question).form_value(answer.value)
    return data
