"""Complaints, difficulties, suggestions, hazards and mediation requests (Qualiopi indicator 31): recording,
deadlines, the workflow (``TRANSITIONS``, applied by ``transition``) and the requester's follow page.

See docs/complaints.md.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import current_app, render_template
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ...accounts.models import User
from ...accounts.services import normalise_email
from ...catalogue.models import Course, CourseStatus
from ...core.errors import ConflictError, ErrorCollector, NotFoundError, PermissionDenied, ValidationError
from ...core.formatting import date_fr, datetime_fr
from ...core.paging import Page, paginate
from ...core.persistence import get_by_id, lock_row, serialise_sqlite_writes
from ...core.spreadsheet import csv_bytes
from ...core.timeutil import PARIS, paris_date, utcnow
from ...core.tokens import LinkExpired, make_token, read_token
from ...core import workflow
from ...core.validation import id_or_none, parse_date, parse_time
from ...core.links import external_url
from ...extensions import db
from ...messaging.bodies import html_body
from ...messaging.services import queue_email
from ...organisation.services import get_organisation, staff_recipients
from ...sessions.models import SessionStatus, Slot, TrainingSession
from ...sessions.services import holiday_name, session_load_options
from ..models import (
    NOTE_EVENT,
    OPEN_FILTER,
    OPEN_REQUESTS,
    OVERDUE_FILTER,
    PUBLIC_REQUEST_KINDS,
    REQUEST_CHANNELS,
    REQUEST_KINDS,
    REQUESTER_ROLES,
    UNANSWERED_REQUESTS,
    QualityEvent,
    QualityRequest,
    QualityRequestStatus,
)

TOKEN_PURPOSE = "quality-request"
REFERENCE_PREFIX = "REC"
PUBLIC_CHANNELS = ("web", "portal")
MAX_SUBJECT = 200
MAX_TEXT = 20000
MAX_NOTE = 5000
# PostgreSQL advisory lock taken while a reference is numbered (any constant unique to this use).
_NUMBERING_LOCK = 0x5245_4331  # "REC1"
_NUMBERING_ATTEMPTS = 10
# Sessions offered in the public form: those still to come or held within this many days before today.
PUBLIC_SESSION_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Transition(workflow.Transition):
    event: str  # the QualityEvent's status
    public_note: bool  # the step's note is shown to the requester
    notify: bool  # the requester may be told by e-mail


TRANSITIONS: dict[str, Transition] = {
    "acknowledge": Transition("Accuser réception", ("received",), "acknowledged", "acknowledged", True, True),
    "analyse": Transition("Commencer l'analyse", ("acknowledged",), "analysing", "analysing", False, False),
    "answer": Transition("Enregistrer la réponse", ("analysing",), "answered", "answered", False, True),
    "escalate": Transition("Transmettre au médiateur", ("analysing", "answered"), "mediation", "mediation", True,
                           True),
    "outcome": Transition("Enregistrer l'issue de la médiation", ("mediation",), "mediation", "outcome", True,
                          True),
    "close": Transition("Clôturer", ("answered", "mediation"), "closed", "closed", True, True),
}
# How the timeline names each event (its status).
EVENT_LABELS = {
    "received": "Demande reçue",
    "acknowledged": "Accusé de réception",
    "analysing": "Analyse en cours",
    "answered": "Réponse apportée",
    "mediation": "Transmise au médiateur",
    "outcome": "Issue de la médiation",
    "closed": "Demande clôturée",
    NOTE_EVENT: "Note interne",
}
# Events whose note the requester reads on the follow page ("answered": the answer itself is shown instead).
PUBLIC_NOTE_EVENTS = frozenset(t.event for t in TRANSITIONS.values() if t.public_note)
# Events the requester sees at all (dated steps): never the internal notes.
PUBLIC_EVENTS = frozenset(EVENT_LABELS) - {NOTE_EVENT}


# --------------------------------------------------------------------------- deadlines


def today_in_paris() -> dt.date:
    return paris_date(utcnow())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and holiday_name(day) is None


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``day`` (Monday to Friday, French public holidays excluded)."""
    while count > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def deadlines(received_at: dt.datetime) -> tuple[dt.date, dt.date]:
    """(acknowledge_due, answer_due) for a request received at ``received_at``, counted from its Paris date."""
    received = paris_date(received_at)
    config = current_app.config
    return (add_working_days(received, int(config["QUALITY_ACK_WORKING_DAYS"])),
            received + dt.timedelta(days=int(config["QUALITY_ANSWER_DAYS"])))


def overdue_steps(quality_request: QualityRequest, today: dt.date) -> list[tuple[str, dt.date]]:
    """The steps not done by their due date: [(French description, due date)]. The due date itself is still
    in time; the day after it the step is late."""
    steps = []
    if quality_request.status == QualityRequestStatus.RECEIVED.value and today > quality_request.acknowledge_due:
        steps.append((f"accusé de réception attendu le {date_fr(quality_request.acknowledge_due)}", quality_request.acknowledge_due))
    if quality_request.is_unanswered and today > quality_request.answer_due:
        steps.append((f"réponse attendue le {date_fr(quality_request.answer_due)}", quality_request.answer_due))
    return steps


def is_overdue(quality_request: QualityRequest, today: dt.date | None = None) -> bool:
    return bool(overdue_steps(quality_request, today or today_in_paris()))


def answered_late(quality_request: QualityRequest) -> bool:
    """Answered after its answer due date (Paris date of the answer)."""
    return quality_request.answered_at is not None and paris_date(quality_request.answered_at) > quality_request.answer_due


def delay_days(quality_request: QualityRequest, today: dt.date | None = None) -> int:
    """Days from receipt to the answer (or to the closure, or to the mediation when there was no answer); for a
    request still waiting for them, the days elapsed so far."""
    end = quality_request.answered_at or quality_request.escalated_at or quality_request.closed_at
    last = paris_date(end) if end is not None else (today or today_in_paris())
    return (last - paris_date(quality_request.received_at)).days


def _overdue_condition(today: dt.date):
    received = QualityRequest.status == QualityRequestStatus.RECEIVED.value
    return or_(and_(received, QualityRequest.acknowledge_due < today),
               and_(QualityRequest.status.in_(UNANSWERED_REQUESTS), QualityRequest.answer_due < today))


def overdue_requests(today: dt.date) -> list[tuple[QualityRequest, str, dt.date]]:
    """The requests with a late step, the most late first: [(quality_request, "accusé de réception attendu le …",
    earliest due date)]. One query whatever their number (the dashboard calls it)."""
    rows = db.session.scalars(select(QualityRequest).where(_overdue_condition(today))
                              .order_by(QualityRequest.acknowledge_due, QualityRequest.id))
    found = []
    for quality_request in rows:
        steps = overdue_steps(quality_request, today)
        if steps:
            found.append((quality_request, " ; ".join(s for s, _ in steps), min(d for _, d in steps)))
    found.sort(key=lambda item: (item[2], item[0].id))
    return found


# --------------------------------------------------------------------------- reading


def get_request(request_id) -> QualityRequest:
    return get_by_id(QualityRequest, request_id, "Demande introuvable.")


def list_requests(*, status: str | None = None, kind: str | None = None,
                  today: dt.date | None = None) -> list[QualityRequest]:
    """The register, newest first. ``status`` may also be "open" (not closed) or "overdue"."""
    return list(db.session.scalars(_register_query(status=status, kind=kind, today=today)))


def request_page(page: int, *, status: str | None = None, kind: str | None = None,
                 today: dt.date | None = None) -> Page:
    """One page of the register, in list_requests' order (a count and the rows, whatever the history)."""
    return paginate(_register_query(status=status, kind=kind, today=today), page)


def _register_query(*, status: str | None, kind: str | None, today: dt.date | None):
    query = select(QualityRequest).order_by(QualityRequest.received_at.desc(), QualityRequest.id.desc())
    if status == OPEN_FILTER:
        query = query.where(QualityRequest.status.in_(OPEN_REQUESTS))
    elif status == OVERDUE_FILTER:
        query = query.where(_overdue_condition(today or today_in_paris()))
    elif status:
        query = query.where(QualityRequest.status == status)
    if kind:
        query = query.where(QualityRequest.kind == kind)
    return query


def load_for_page(request_id) -> QualityRequest:
    """A request with its events and their authors (the timeline)."""
    number = id_or_none(request_id)
    quality_request = None if number is None else db.session.scalar(
        select(QualityRequest).where(QualityRequest.id == number)
        .options(selectinload(QualityRequest.events).selectinload(QualityEvent.author),
                 selectinload(QualityRequest.created_by)).execution_options(populate_existing=True))
    if quality_request is None:
        raise NotFoundError("Demande introuvable.")
    return quality_request


def related_session(quality_request: QualityRequest) -> TrainingSession | None:
    return db.session.get(TrainingSession, quality_request.session_id) if quality_request.session_id else None


def allowed_actions(quality_request: QualityRequest) -> list[str]:
    return workflow.allowed_steps(TRANSITIONS, quality_request)


def public_timeline(quality_request: QualityRequest) -> list[dict]:
    """What the requester's follow page lists: the dated steps, with the notes meant for the requester only."""
    items = []
    for event in quality_request.events:
        if event.status not in PUBLIC_EVENTS:
            continue
        # The receipt is dated when the request arrived (an advisor may record a letter days later).
        at = quality_request.received_at if event.status == QualityRequestStatus.RECEIVED.value else event.created_at
        items.append({"status": event.status, "label": EVENT_LABELS[event.status], "at": at,
                      "note": event.note if event.status in PUBLIC_NOTE_EVENTS else ""})
    return items


def public_session_choices(today: dt.date | None = None) -> list[TrainingSession]:
    """Sessions a member of the public may name: inter-company sessions of published courses, neither draft nor
    cancelled, held within the last year or still to come, soonest first."""
    today = today or today_in_paris()
    held = exists().where(and_(Slot.session_id == TrainingSession.id,
                               Slot.date >= today - dt.timedelta(days=PUBLIC_SESSION_WINDOW_DAYS)))
    query = (select(TrainingSession).join(Course, Course.id == TrainingSession.course_id)
             .where(Course.status == CourseStatus.PUBLISHED.value, TrainingSession.format == "inter",
                    TrainingSession.status.not_in((SessionStatus.DRAFT.value, SessionStatus.CANCELLED.value)),
                    held)
             .options(*session_load_options()))
    far = dt.date(9999, 12, 31)
    return sorted(db.session.scalars(query), key=lambda s: (s.first_date or far, s.id))


def staff_session_choices(today: dt.date | None = None) -> list[TrainingSession]:
    """Sessions the advisor may link a request to: any held within two years before today or later, newest
    first (and those without any slot yet)."""
    today = today or today_in_paris()
    recent = exists().where(and_(Slot.session_id == TrainingSession.id, Slot.date >= today - dt.timedelta(days=730)))
    no_slot = ~exists().where(Slot.session_id == TrainingSession.id)
    query = select(TrainingSession).where(or_(recent, no_slot)).options(*session_load_options())
    far = dt.date(9999, 12, 31)
    return sorted(db.session.scalars(query), key=lambda s: (s.first_date or far, s.id), reverse=True)


def session_choice_label(session: TrainingSession) -> str:
    """« Chorus Pro — du 03/03/2031 au 04/03/2031 (Toulouse) »"""
    place = ""
    if session.location is not None:
        place = "à distance" if session.location.is_remote else (session.location.city or session.location.name)
    return f"{session.title} — {session.dates_label}" + (f" ({place})" if place else "")


# --------------------------------------------------------------------------- the requester's link


def follow_token(quality_request: QualityRequest) -> str:
    return make_token(TOKEN_PURPOSE, {"r": quality_request.id, "ref": quality_request.reference})


def follow_url(quality_request: QualityRequest) -> str:
    return external_url("complaint_public.follow", token=follow_token(quality_request))


def request_for_token(token: str) -> QualityRequest:
    """The request a follow link names: 403 when tampered with, 410 when expired or once its personal data
    have been erased, 404 when it no longer exists."""
    payload = read_token(TOKEN_PURPOSE, token, int(current_app.config["QUALITY_LINK_MAX_AGE_DAYS"]) * 86400)
    request_id = id_or_none(payload.get("r"))
    quality_request = db.session.get(QualityRequest, request_id) if request_id else None
    if quality_request is None:
        raise NotFoundError("Cette demande n'existe plus.")
    if quality_request.reference != payload.get("ref"):
        raise PermissionDenied("Ce lien n'est pas valide.")
    if quality_request.anonymised_at is not None:
        raise LinkExpired("Cette demande est close depuis longtemps : ses données ont été effacées.")
    return quality_request


# --------------------------------------------------------------------------- creating


def _clean_common(data: dict, errors: ErrorCollector, *, kinds, email_required: bool,
                  name_required: bool) -> dict:
    kind = str(data.get("kind") or "")
    if kind not in kinds:
        errors.add("kind", "Choisissez la nature de la demande dans la liste.")
    role = str(data.get("requester_role") or "")
    if role not in REQUESTER_ROLES:
        errors.add("requester_role", "Indiquez à quel titre vous écrivez (stagiaire, entreprise, financeur…).")
    name = " ".join(str(data.get("requester_name") or "").split())
    if name_required and not name:
        errors.add("requester_name", "Indiquez le nom du demandeur.")
    elif len(name) > 200:
        errors.add("requester_name", "Le nom ne doit pas dépasser 200 caractères.")
    raw_email = str(data.get("requester_email") or "").strip()
    email = ""
    if raw_email or email_required:
        email = errors.run(normalise_email, raw_email, "requester_email") or ""
    phone = " ".join(str(data.get("requester_phone") or "").split())
    if len(phone) > 40:
        errors.add("requester_phone", "Le téléphone ne doit pas dépasser 40 caractères.")
    organisation_name = " ".join(str(data.get("organisation_name") or "").split())
    if len(organisation_name) > 200:
        errors.add("organisation_name", "Le nom de l'organisme ne doit pas dépasser 200 caractères.")
    subject = " ".join(str(data.get("subject") or "").split())
    if not subject:
        errors.add("subject", "Donnez un objet à la demande.")
    elif len(subject) > MAX_SUBJECT:
        errors.add("subject", f"L'objet ne doit pas dépasser {MAX_SUBJECT} caractères.")
    description = str(data.get("description") or "").strip()
    if len(description) < 10:
        errors.add("description", "Décrivez la demande en quelques phrases (10 caractères au moins).")
    elif len(description) > MAX_TEXT:
        errors.add("description", f"La description ne doit pas dépasser {MAX_TEXT} caractères.")
    return {"kind": kind, "requester_role": role, "requester_name": name, "requester_email": email,
            "requester_phone": phone, "organisation_name": organisation_name, "subject": subject,
            "description": description}


def _serialise_numbering() -> None:
    """One numbering at a time until the transaction ends: a PostgreSQL advisory lock; on SQLite the
    transaction becomes a write transaction at once (BEGIN IMMEDIATE), which one connection holds at a time."""
    if not serialise_sqlite_writes():
        db.session.execute(select(func.pg_advisory_xact_lock(_NUMBERING_LOCK)))


def _next_reference(year: int) -> str:
    prefix = f"{REFERENCE_PREFIX}-{year}-"
    last = db.session.scalar(
        select(QualityRequest.reference).where(QualityRequest.reference.like(prefix + "%"))
        .order_by(func.length(QualityRequest.reference).desc(), QualityRequest.reference.desc()).limit(1))
    number = 1
    if last:
        tail = last[len(prefix):]
        number = int(tail) + 1 if tail.isdigit() else 1
    return f"{prefix}{number:04d}"


def _insert_numbered(quality_request: QualityRequest) -> QualityRequest:
    """Insert ``quality_request`` with the next reference of its year (REC-2031-0001). Numbering is serialised; should
    another transaction take the same number anyway, the insert is retried with the next one."""
    _serialise_numbering()
    year = paris_date(quality_request.received_at).year
    for _ in range(_NUMBERING_ATTEMPTS):
        quality_request.reference = _next_reference(year)
        try:
            with db.session.begin_nested():
                db.session.add(quality_request)
                db.session.flush()
            return quality_request
        except IntegrityError:
            taken = db.session.scalar(select(func.count()).select_from(QualityRequest)
                                      .where(QualityRequest.reference == quality_request.reference))
            if not taken:
                raise
    raise ConflictError("Trop de demandes enregistrées au même instant : réessayez dans un moment.")


def _create(values: dict, *, received_at: dt.datetime, event_note: str, actor: User | None) -> QualityRequest:
    ack_due, answer_due = deadlines(received_at)
    quality_request = QualityRequest(**values, status="received", received_at=received_at, acknowledge_due=ack_due,
                             answer_due=answer_due, created_by_id=actor.id if actor else None)
    _insert_numbered(quality_request)
    db.session.add(QualityEvent(request_id=quality_request.id, status="received", note=event_note,
                                author_id=actor.id if actor else None, created_at=utcnow()))
    db.session.flush()
    _send_acknowledgement(quality_request)
    _notify_staff(quality_request, actor)
    return quality_request


def file_public_request(data: dict, enrolment=None) -> QualityRequest:
    """A request from the public form (channel "web"), or from the trainee's personal page when ``enrolment``
    is given (channel "portal": the trainee, the enrolment and its session are linked, the requester is the
    trainee). Consent is required; the requester is e-mailed the reference and the follow link, the quality
    contact is told."""
    errors = ErrorCollector()
    data = dict(data)
    if enrolment is not None:
        data["requester_role"] = "trainee"
    values = _clean_common(data, errors, kinds=PUBLIC_REQUEST_KINDS, email_required=True, name_required=True)
    if not data.get("consent"):
        errors.add("consent", "Votre accord est nécessaire pour que nous traitions votre demande.")
    if enrolment is not None:
        values.update(channel="portal", session_id=enrolment.session_id, enrolment_id=enrolment.id,
                      trainee_id=enrolment.trainee_id)
    else:
        values["channel"] = "web"
        session_id = None
        raw = data.get("session_id")
        if raw not in (None, ""):
            session_id = id_or_none(raw)
            if session_id is None or session_id not in {s.id for s in public_session_choices()}:
                errors.add("session_id", "Choisissez la formation dans la liste, ou laissez le champ vide.")
        values["session_id"] = session_id
    errors.raise_if_any()
    now = utcnow()
    values["consent_at"] = now
    label = "depuis l'espace personnel" if enrolment is not None else "par le formulaire en ligne"
    return _create(values, received_at=now, event_note=f"Déposée {label}.", actor=None)


def record_request(data: dict, actor: User) -> QualityRequest:
    """A request received by phone, e-mail, mail or in person, recorded by the advisor (any kind, hazards
    included). ``received_on`` / ``received_time`` (Paris) may date it in the past, never in the future."""
    errors = ErrorCollector()
    kind = str(data.get("kind") or "")
    values = _clean_common(data, errors, kinds=REQUEST_KINDS, email_required=False,
                           name_required=kind != "hazard")
    channel = str(data.get("channel") or "")
    if channel not in REQUEST_CHANNELS:
        errors.add("channel", "Choisissez par quel canal la demande est arrivée.")
    values["channel"] = channel
    session_id = None
    raw = data.get("session_id")
    if raw not in (None, ""):
        session_id = id_or_none(raw)
        if session_id is None or db.session.get(TrainingSession, session_id) is None:
            errors.add("session_id", "Session introuvable.")
            session_id = None
    values["session_id"] = session_id
    now = utcnow()
    received_at = now
    day = parse_date(data.get("received_on"), "received_on", errors, label="La date de réception", required=False)
    time = None
    if data.get("received_time") not in (None, ""):
        time = parse_time(data.get("received_time"), "received_time", errors, label="L'heure de réception")
    if day is not None:
        received_at = dt.datetime.combine(day, time or dt.time(9, 0), tzinfo=PARIS).astimezone(dt.timezone.utc)
        if day == paris_date(now) and time is None:
            received_at = now
        if received_at > now:
            errors.add("received_on", "La date de réception ne peut pas être dans le futur.")
    elif time is not None:
        errors.add("received_on", "Indiquez aussi la date de réception.")
    errors.raise_if_any()
    note = f"Enregistrée par {actor.name or actor.email} ({REQUEST_CHANNELS[channel].lower()})"
    if paris_date(received_at) != paris_date(now):
        note += f", reçue le {datetime_fr(received_at)}"
    note += "."
    return _create(values, received_at=received_at, event_note=note, actor=actor)


# --------------------------------------------------------------------------- workflow


def transition(quality_request: QualityRequest, action: str, data: dict, actor: User) -> QualityRequest:
    """Move ``quality_request`` one step along ``TRANSITIONS`` (dated now, authored by ``actor``), or refuse: 409 when
    the step is not allowed from the current status, 422 when its required text is missing (nothing changes).

    ``data``: ``note`` (acknowledge, escalate, close: a message shown to the requester; analyse: internal),
    ``answer`` (required to answer), ``analysis`` (internal: the cause found, given with the answer),
    ``mediator_name`` (required to escalate), ``mediation_outcome`` (required for the outcome, and to close a
    quality_request in mediation whose outcome is not recorded yet), ``notify`` (e-mail the requester)."""
    if action not in TRANSITIONS:
        raise ValidationError(workflow.UNKNOWN_STEP)
    _lock(quality_request)
    step = workflow.legal_step(TRANSITIONS, action, quality_request, refusal=_refusal)
    errors = ErrorCollector()
    now = utcnow()
    change = _Change(note=_long_text(data.get("note"), "note", errors, "Le message", MAX_NOTE))
    notify = bool(data.get("notify")) and step.notify
    if notify and not quality_request.requester_email:
        errors.add("notify", "Aucune adresse e-mail n'est connue pour ce demandeur : prévenez-le autrement.")
    _step_changes(change, quality_request, action, data, errors, now)
    errors.raise_if_any()
    _record(quality_request, step, change, actor, now)
    if notify:
        if action == "acknowledge":
            _send_acknowledgement(quality_request, change.note)
        else:
            _send_update(quality_request, step.event, change.note)
    return quality_request


def _lock(quality_request: QualityRequest) -> None:
    """Lock the request and read it as it is now that we hold the lock: a second click finds the step done."""
    lock_row(QualityRequest, quality_request.id)
    db.session.flush()
    db.session.refresh(quality_request)


@dataclass
class _Change:
    """What a step writes: the message of its event, the request's fields, the events recorded before its own."""

    note: str
    fields: dict = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)


# The date each step stamps on the request.
_STAMPS = {"acknowledge": "acknowledged_at", "analyse": "analysis_started_at", "close": "closed_at"}


def _step_changes(change: _Change, quality_request: QualityRequest, action: str, data: dict,
                  errors: ErrorCollector, now: dt.datetime) -> None:
    """Read and check the step's own texts into ``change`` (errors collected)."""
    if action == "answer":
        _answer(change, data, errors, now)
    elif action == "escalate":
        _escalate(change, data, errors, now)
    elif action in ("outcome", "close") and quality_request.status == QualityRequestStatus.MEDIATION.value:
        _mediation_outcome(change, quality_request, data, errors, closing=action == "close")
    if action in _STAMPS:
        change.fields[_STAMPS[action]] = now
    if action == "close":
        change.fields["closing_note"] = change.note


def _answer(change: _Change, data: dict, errors: ErrorCollector, now: dt.datetime) -> None:
    answer = _long_text(data.get("answer"), "answer", errors, "La réponse", MAX_TEXT)
    if len(answer) < 3 and "answer" not in errors.fields:
        errors.add("answer", "Écrivez la réponse apportée au demandeur.")
    analysis = _long_text(data.get("analysis"), "analysis", errors, "L'analyse", MAX_TEXT)
    change.fields.update(answer=answer, answered_at=now)
    if analysis:
        change.fields["analysis"] = analysis


def _escalate(change: _Change, data: dict, errors: ErrorCollector, now: dt.datetime) -> None:
    mediator = " ".join(str(data.get("mediator_name") or "").split())
    if not mediator:
        errors.add("mediator_name", "Indiquez le nom du médiateur saisi.")
    elif len(mediator) > 200:
        errors.add("mediator_name", "Le nom du médiateur ne doit pas dépasser 200 caractères.")
    change.fields.update(mediator_name=mediator, escalated_at=now)
    change.note = change.note or f"Médiateur : {mediator}."


def _mediation_outcome(change: _Change, quality_request: QualityRequest, data: dict, errors: ErrorCollector, *,
                       closing: bool) -> None:
    """The mediation's outcome: the note of the "outcome" step; when closing, required unless already recorded,
    and recorded as its own event before the closure."""
    outcome = _long_text(data.get("mediation_outcome"), "mediation_outcome", errors, "L'issue", MAX_TEXT)
    if outcome:
        change.fields["mediation_outcome"] = outcome
    elif not closing or not quality_request.mediation_outcome:
        errors.add("mediation_outcome", "Indiquez l'issue de la médiation.")
    if not closing:
        change.note = outcome
    elif outcome:
        change.events.append(("outcome", outcome))


def _record(quality_request: QualityRequest, step: Transition, change: _Change, actor: User,
            now: dt.datetime) -> None:
    for name, value in change.fields.items():
        setattr(quality_request, name, value)
    quality_request.status = step.target
    for status, text in change.events + [(step.event, change.note)]:
        db.session.add(QualityEvent(request_id=quality_request.id, status=status, note=text, author_id=actor.id,
                                    created_at=now))
    db.session.flush()


def _refusal(quality_request: QualityRequest, step: Transition) -> str:
    allowed = ", ".join(f"« {TRANSITIONS[a].label.lower()} »" for a in allowed_actions(quality_request))
    return (f"La demande est « {quality_request.status_label.lower()} » : impossible de « {step.label.lower()} ». "
            + (f"Étapes possibles : {allowed}." if allowed else "Elle est close."))


def _long_text(value, field: str, errors: ErrorCollector, label: str, limit: int) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        errors.add(field, f"{label} ne doit pas dépasser {limit} caractères.")
    return text


def add_note(quality_request: QualityRequest, note: str, actor: User) -> QualityEvent:
    """An internal note on the request's timeline (never shown to the requester)."""
    note = str(note or "").strip()
    if len(note) < 3:
        raise ValidationError("Écrivez la note (3 caractères au moins).", field="note")
    if len(note) > MAX_NOTE:
        raise ValidationError(f"La note ne doit pas dépasser {MAX_NOTE} caractères.", field="note")
    event = QualityEvent(request_id=quality_request.id, status=NOTE_EVENT, note=note, author_id=actor.id, created_at=utcnow())
    db.session.add(event)
    db.session.flush()
    return event


# --------------------------------------------------------------------------- e-mails


def _queue(recipient: str, template: str, subject: str, quality_request: QualityRequest, **context) -> None:
    session = related_session(quality_request)
    text = render_template(f"mail/{template}.txt", req=quality_request, session=session, org=get_organisation(),
                           **context)
    queue_email(recipient, subject, text, html_body(text), topic=template, enrolment=quality_request.enrolment_id)


def _send_acknowledgement(quality_request: QualityRequest, note: str = "") -> None:
    """The acknowledgement to the requester, with the reference, the follow link and the advisor's message if any
    (when an e-mail is known)."""
    if quality_request.requester_email:
        _queue(quality_request.requester_email, "complaint_ack",
               f"Votre demande est bien reçue – référence {quality_request.reference}", quality_request, link=follow_url(quality_request),
               note=note, today=today_in_paris())


def _send_update(quality_request: QualityRequest, event: str, note: str) -> None:
    _queue(quality_request.requester_email, "complaint_update", f"Suivi de votre demande {quality_request.reference} : "
           f"{EVENT_LABELS[event].lower()}", quality_request, link=follow_url(quality_request), event=event,
           event_label=EVENT_LABELS[event], note=note)


def _notify_staff(quality_request: QualityRequest, actor: User | None) -> None:
    """Tell the organisation's quality contact (else every active advisor and admin), but not the person who
    just recorded the request."""
    recipients = {email.lower() for email in staff_recipients()}
    if actor is not None:
        recipients.discard(actor.email.lower())
    for email in sorted(recipients):
        _queue(email, "complaint_advisor", f"Nouvelle demande {quality_request.reference} – {quality_request.kind_label}", quality_request,
               admin_url=external_url("quality_requests.show", request_id=quality_request.id), actor=actor)


# --------------------------------------------------------------------------- export


EXPORT_HEADERS = ("Référence", "Reçue le", "Canal", "Nature", "Demandeur", "Qualité", "Organisme", "E-mail",
                  "Téléphone", "Session", "Objet", "Statut", "Accusé de réception dû le", "Accusé de réception le",
                  "Réponse due le", "Réponse le", "Délai (jours)", "Réponse en retard", "En retard aujourd'hui",
                  "Médiateur", "Issue de la médiation", "Clôturée le")


def export_csv(requests: list[QualityRequest], today: dt.date | None = None,
               counted: Callable[[list], Iterable] = iter) -> bytes:
    """The register for French Excel: UTF-8 with BOM, ";" between cells, dates 25/11/2026 (``counted`` wraps the
    requests as they are written: an export task's progress)."""
    today = today or today_in_paris()
    return csv_bytes(EXPORT_HEADERS, (
        (r.reference, r.received_at, r.channel_label, r.kind_label, r.requester_name, r.requester_role_label,
            r.organisation_name, r.requester_email, r.requester_phone, r.session_id or "", r.subject,
            r.status_label, r.acknowledge_due, r.acknowledged_at, r.answer_due, r.answered_at,
            delay_days(r, today), answered_late(r), is_overdue(r, today), r.mediator_name, r.mediation_outcome,
         r.closed_at) for r in counted(requests)))
