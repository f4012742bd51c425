"""Half-day slots: laid out from the course's day pattern, added, moved or removed, never double-booking a trainer
or a room; each delivered in the room, as a virtual classroom (its meeting link) or as an asynchronous activity
(what the trainee does, and the quiz whose completion it records) — see docs/distance.md."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlparse

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from ...accounts.models import User
from ...catalogue.models import CourseVersion
from ...core.errors import ConflictError, ErrorCollector, ValidationError
from ...core.formatting import date_fr, hours_fr, time_fr
from ...core.halfday import HALF_DAY_LABELS, half_day_problem, half_of, hours_between, parse_day_pattern
from ...core.timeutil import paris_today
from ...core.validation import clean_text, parse_date, parse_text, parse_time
from ...evaluations.models import Questionnaire
from ...extensions import db
from ...resources.models import Location, Trainer
from ...resources.unavailability import describe as describe_unavailability
from ...resources.unavailability import unavailability_on
from ..models import SLOT_MODALITIES, SessionStatus, Slot, SlotModality, TrainingSession
from .access import ensure_can_manage_sessions, load_choice
from .alerts import date_warnings
from .signals import slot_changing
from .statuses import EDITABLE_STATUSES


def pattern_slots(version: CourseVersion, start_date: dt.date) -> list[tuple[dt.date, dt.time, dt.time]]:
    """Lay the course's duration out from ``start_date`` with its usual day pattern, skipping weekends
    and public holidays after the first day; the last half-day is shortened to fit the duration."""
    pattern = parse_day_pattern(version.daily_pattern)
    remaining = Decimal(version.duration_hours)
    day = start_date
    result = []
    for _ in range(400):
        if remaining <= 0:
            break
        if day != start_date and date_warnings(day):
            day += dt.timedelta(days=1)
            continue
        for start, end in pattern:
            if remaining <= 0:
                break
            hours = hours_between(start, end)
            if hours > remaining:
                minutes = int((remaining * 60).to_integral_value())
                end = (dt.datetime.combine(day, start) + dt.timedelta(minutes=minutes)).time()
                hours = remaining
            result.append((day, start, end))
            remaining -= hours
        day += dt.timedelta(days=1)
    return result


ROOM, VIRTUAL, ASYNC = SlotModality.ROOM.value, SlotModality.VIRTUAL.value, SlotModality.ASYNC.value
MAX_ACTIVITY = 2000
# The quizzes an asynchronous half-day may record: evaluations of what was learnt (answers kept by name).
QUIZ_KIND = "acquis"


@dataclass
class SlotDelivery:
    """How a half-day is delivered (checked by _check_delivery): its modality, its own meeting link (virtual), the
    activity and the quiz (asynchronous)."""

    modality: str = ROOM
    meeting_url: str = ""
    activity: str = ""
    quiz: Questionnaire | None = None

    @classmethod
    def of(cls, slot: Slot) -> SlotDelivery:
        return cls(slot.modality or ROOM, slot.meeting_url or "", slot.activity or "", slot.quiz)

    @classmethod
    def copied(cls, slot: Slot, session: TrainingSession) -> SlotDelivery:
        """``slot``'s delivery for a half-day of ``session`` (a duplicate): a quiz no longer offered is left out."""
        delivery = cls.of(slot)
        if delivery.quiz is not None and delivery.quiz not in slot_quizzes(session):
            delivery.quiz = None
        return delivery


def default_modality(session: TrainingSession, location: Location | None, slot: Slot | None = None) -> str:
    """The modality of a half-day given without one: a slot keeps its own while it suits the place; otherwise a
    remote place makes a virtual classroom, a room an in-room half-day, no place the session's usual way."""
    if slot is not None and _fits_place(slot.modality, location):
        return slot.modality
    if location is not None:
        return VIRTUAL if location.is_remote else ROOM
    return VIRTUAL if session.delivery_mode == "distanciel" else ROOM


def _fits_place(modality: str, location: Location | None) -> bool:
    """In the room: a physical place or none; at a distance: a remote place or none."""
    if location is None:
        return True
    return location.is_remote if modality != ROOM else not location.is_remote


def slot_quizzes(session: TrainingSession, current: Questionnaire | None = None) -> list[Questionnaire]:
    """The quizzes an asynchronous half-day of ``session`` may record: active evaluations of what was learnt, not
    anonymous (a completion is read per trainee), shared or the course's own; ``current`` kept when it no longer is."""
    course_id = session.course_id if session.course_id is not None else session.course.id
    found = list(db.session.scalars(
        select(Questionnaire)
        .where(Questionnaire.kind == QUIZ_KIND, Questionnaire.active.is_(True), Questionnaire.anonymous.is_(False),
               (Questionnaire.course_id.is_(None)) | (Questionnaire.course_id == course_id))
        .order_by(Questionnaire.title, Questionnaire.id)))
    if current is not None and current not in found:
        found.append(current)
    return found


def _overlap(day: dt.date, start: dt.time, end: dt.time):
    return and_(Slot.date == day, Slot.start_time < end, Slot.end_time > start)


def _conflict_message(who: str, other: Slot) -> str:
    return (f"{who} est déjà pris le {date_fr(other.date)} de {time_fr(other.start_time)} à "
            f"{time_fr(other.end_time)} par la session {other.session.label}.")


def check_slot_conflicts(session: TrainingSession, day, start, end, location, trainer, exclude=None) -> None:
    """A trainer or a room never has two overlapping slots in different sessions."""
    base = (
        select(Slot)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(_overlap(day, start, end), TrainingSession.status != SessionStatus.CANCELLED.value)
        .options(selectinload(Slot.session).selectinload(TrainingSession.course_version),
                 selectinload(Slot.session).selectinload(TrainingSession.slots))
        .limit(1)
    )
    if session.id is not None:
        base = base.where(Slot.session_id != session.id)
    if exclude is not None and exclude.id is not None:
        base = base.where(Slot.id != exclude.id)
    if trainer is not None:
        other = db.session.scalar(base.where(Slot.trainer_id == trainer.id))
        if other is not None:
            raise ConflictError(_conflict_message(f"Le formateur {trainer.full_name}", other), field="trainer_id")
    if location is not None and not location.is_remote:
        other = db.session.scalar(base.where(Slot.location_id == location.id))
        if other is not None:
            raise ConflictError(_conflict_message(f"Le lieu « {location.name} »", other), field="location_id")


def check_trainer_available(trainer: Trainer | None, day: dt.date) -> None:
    """A trainer is not scheduled on a day of their unavailability, refused like a double booking."""
    period = unavailability_on(trainer, day) if trainer is not None else None
    if period is not None:
        raise ConflictError(f"Le formateur {trainer.full_name} est indisponible {describe_unavailability(period)} : "
                            "choisissez une autre date ou un autre formateur.", field="trainer_id")


def _validate_slot(session: TrainingSession, day, start, end, location, trainer, exclude: Slot | None,
                   delivery: SlotDelivery | None = None, strict: bool = True) -> list[str]:
    if session.status not in EDITABLE_STATUSES:
        raise ValidationError(f"Les créneaux d'une session « {session.status_label.lower()} » ne peuvent plus "
                              "être modifiés.")
    problem = half_day_problem(start, end)
    if problem:
        raise ValidationError(problem, field="end_time")
    if location is not None and not location.active and (exclude is None or exclude.location is not location):
        raise ValidationError(f"Le lieu « {location.name} » est archivé.", field="location_id")
    if trainer is not None and not trainer.active and (exclude is None or exclude.trainer is not trainer):
        raise ValidationError(f"{trainer.full_name} est archivé(e).", field="trainer_id")
    half = half_of(start)
    for other in session.slots:
        if other is exclude or other.date != day:
            continue
        if other.start_time < end and other.end_time > start:
            raise ValidationError(
                f"Ce créneau chevauche celui du {date_fr(day)} de {time_fr(other.start_time)} à "
                f"{time_fr(other.end_time)} dans cette session.", field="start_time")
        if other.half_day == half:
            raise ValidationError(
                f"Cette session a déjà un créneau le {date_fr(day)} ({HALF_DAY_LABELS[half]}) : une demi-journée "
                "ne compte qu'un créneau.", field="start_time")
    if location is not None:
        if session.delivery_mode == "presentiel" and location.is_remote:
            raise ValidationError("Une session en présentiel a besoin d'un lieu physique.", field="location_id")
        if session.delivery_mode == "distanciel" and not location.is_remote:
            raise ValidationError("Une session à distance a besoin d'un lieu à distance.", field="location_id")
        if location.capacity and not location.is_remote and location.capacity < session.capacity:
            raise ValidationError(f"La salle « {location.name} » n'a que {location.capacity} places pour une "
                                  f"session de {session.capacity} stagiaires.", field="location_id")
    if delivery is not None:
        _check_delivery(session, delivery, location, exclude, strict)
    if exclude is None or exclude.trainer is not trainer or exclude.date != day:  # a slot already there stays
        check_trainer_available(trainer, day)
    check_slot_conflicts(session, day, start, end, location, trainer, exclude)
    warnings = date_warnings(day)
    if day < paris_today() and session.status in (SessionStatus.DRAFT.value, SessionStatus.OPEN.value):
        warnings.append(f"Le {date_fr(day)} est déjà passé.")
    return warnings


def _check_delivery(session: TrainingSession, delivery: SlotDelivery, location: Location | None,
                    slot: Slot | None, strict: bool) -> None:
    """The half-day's modality against its session's delivery mode and its place, and what each modality needs.
    Not ``strict`` (half-days laid out or copied by the planning), a virtual classroom may still lack its link:
    confirming the session asks for it (workflow.confirmation_problems)."""
    errors = ErrorCollector()
    modality = delivery.modality
    if session.delivery_mode == "presentiel" and modality != ROOM:
        errors.add("modality", "Une session en présentiel n'a que des demi-journées en salle : passez-la en « mixte » "
                               "pour y prévoir une classe virtuelle ou une activité asynchrone.")
    elif session.delivery_mode == "distanciel" and modality == ROOM:
        errors.add("modality", "Une session à distance n'a pas de demi-journée en salle : passez-la en « mixte » "
                               "pour y prévoir une demi-journée en salle.")
    if not _fits_place(modality, location):
        errors.add("location_id", "Une demi-journée en salle a besoin d'un lieu physique (ou d'aucun lieu), pas d'un "
                                  "lieu à distance." if modality == ROOM else
                   f"Une {SLOT_MODALITIES[modality].lower()} n'a pas de salle : choisissez un lieu à distance ou "
                   "aucun lieu.")
    if delivery.meeting_url and modality != VIRTUAL:
        errors.add("meeting_url", "Le lien de réunion ne sert qu'à une classe virtuelle.")
    remote_link = location.meeting_url if location is not None and location.is_remote else ""
    if strict and modality == VIRTUAL and not (delivery.meeting_url or remote_link):
        errors.add("meeting_url", "Une classe virtuelle a besoin d'un lien de réunion : indiquez-le, ou choisissez "
                                  "un lieu à distance qui en a un.")
    if modality == ASYNC and not delivery.activity:
        errors.add("activity", "Décrivez l'activité asynchrone : ce que le stagiaire fait pendant cette "
                               "demi-journée.")
    elif delivery.activity and modality != ASYNC:
        errors.add("activity", "La description d'activité ne sert qu'à une activité asynchrone.")
    if delivery.quiz is not None:
        if modality != ASYNC:
            errors.add("quiz_id", "Un quiz ne s'attache qu'à une activité asynchrone.")
        elif delivery.quiz not in slot_quizzes(session, slot.quiz if slot is not None else None):
            errors.add("quiz_id", "Ce quiz ne convient pas : choisissez une évaluation des acquis active, commune ou "
                                  "propre à cette formation.")
    errors.raise_if_any()


def place_slot(session, day, start, end, location, trainer,
               delivery: SlotDelivery | None = None, strict: bool = False) -> tuple[Slot, list[str]]:
    """Add a checked slot to ``session`` (and its trainer to the team); the date's warnings. Without ``delivery``
    the half-day takes the modality its place calls for (default_modality)."""
    if delivery is None:
        delivery = SlotDelivery(default_modality(session, location))
    warnings = _validate_slot(session, day, start, end, location, trainer, None, delivery, strict)
    slot = Slot(date=day, start_time=start, end_time=end, location=location, trainer=trainer,
                modality=delivery.modality, meeting_url=delivery.meeting_url, activity=delivery.activity,
                quiz=delivery.quiz)
    session.slots.append(slot)
    if trainer is not None and trainer not in session.trainers:
        session.trainers.append(trainer)
    return slot, warnings


def _clean_slot_input(data: dict, session: TrainingSession, slot: Slot | None):
    errors = ErrorCollector()

    def pick(key):
        if key in data:
            return data[key]
        return getattr(slot, key) if slot is not None else None

    day = parse_date(pick("date"), "date", errors, label="La date")
    start = parse_time(pick("start_time"), "start_time", errors, label="L'heure de début")
    end = parse_time(pick("end_time"), "end_time", errors, label="L'heure de fin")
    if "location_id" in data:
        location = load_choice(Location, data["location_id"], "location_id", errors, "Lieu")
    else:
        location = slot.location if slot is not None else session.location
    if "trainer_id" in data:
        trainer = load_choice(Trainer, data["trainer_id"], "trainer_id", errors, "Formateur")
    else:
        trainer = slot.trainer if slot is not None else (session.trainers[0] if session.trainers else None)
    posted = data.get("modality")
    if "location_id" not in data and isinstance(posted, str) and posted in SLOT_MODALITIES \
            and not _fits_place(posted, location):
        location = None  # a half-day at a distance does not inherit the room (nor one in the room a remote place)
    delivery = _clean_delivery(data, session, slot, location, errors)
    errors.raise_if_any()
    return day, start, end, location, trainer, delivery


def _clean_delivery(data: dict, session: TrainingSession, slot: Slot | None, location: Location | None,
                    errors: ErrorCollector) -> SlotDelivery:
    """The modality, meeting link, activity and quiz posted, else the slot's; a half-day given no modality takes the
    one its place calls for (default_modality)."""
    current = SlotDelivery.of(slot) if slot is not None else SlotDelivery()
    modality = data.get("modality")
    if modality in (None, ""):
        modality = default_modality(session, location, slot)
    elif not isinstance(modality, str) or modality not in SLOT_MODALITIES:
        errors.add("modality", "Modalité inconnue : en salle, classe virtuelle ou activité asynchrone.")
        modality = current.modality
    meeting_url = clean_text(data["meeting_url"]) if "meeting_url" in data else current.meeting_url
    if meeting_url:
        if not _is_https(meeting_url):
            errors.add("meeting_url", "Le lien de réunion doit être une adresse web sécurisée (https://…).")
        elif len(meeting_url) > 500:
            errors.add("meeting_url", "Le lien de réunion ne doit pas dépasser 500 caractères.")
    activity = (parse_text(data["activity"], "activity", errors, label="L'activité", limit=MAX_ACTIVITY)
                if "activity" in data else current.activity)
    quiz = (load_choice(Questionnaire, data["quiz_id"], "quiz_id", errors, "Quiz") if "quiz_id" in data
            else current.quiz)
    return SlotDelivery(modality, meeting_url, activity, quiz)


def _is_https(url: str) -> bool:
    try:
        parsed = urlparse(url)
    except ValueError:  # an unreadable address (such as a broken IPv6 host)
        return False
    return parsed.scheme == "https" and bool(parsed.netloc) and not any(char.isspace() for char in url)


def add_slot(session: TrainingSession, data: dict, actor: User | None = None) -> tuple[Slot, list[str]]:
    ensure_can_manage_sessions(actor)
    day, start, end, location, trainer, delivery = _clean_slot_input(data, session, None)
    with db.session.no_autoflush:
        slot, warnings = place_slot(session, day, start, end, location, trainer, delivery, strict=True)
    _check_confirmed_hours(session)
    db.session.flush()
    return slot, warnings


def update_slot(slot: Slot, data: dict, actor: User | None = None) -> list[str]:
    session = slot.session
    ensure_can_manage_sessions(actor)
    day, start, end, location, trainer, delivery = _clean_slot_input(data, session, slot)
    with db.session.no_autoflush:
        warnings = _validate_slot(session, day, start, end, location, trainer, slot, delivery)
        if (day, start, end) != (slot.date, slot.start_time, slot.end_time):
            slot_changing.send(slot)
        before = (slot.date, slot.start_time, slot.end_time, slot.location, slot.modality, slot.meeting_link)
        slot.date, slot.start_time, slot.end_time = day, start, end
        slot.location, slot.trainer = location, trainer
        slot.modality, slot.meeting_url = delivery.modality, delivery.meeting_url
        slot.activity, slot.quiz = delivery.activity, delivery.quiz
        if before != (day, start, end, location, slot.modality, slot.meeting_link):
            slot.sequence += 1  # moved, or now held elsewhere (modality, link): calendars replace their event
        if trainer is not None and trainer not in session.trainers:
            session.trainers.append(trainer)
    _check_confirmed_hours(session)
    db.session.flush()
    return warnings


def delete_slot(slot: Slot, actor: User | None = None) -> None:
    session = slot.session
    ensure_can_manage_sessions(actor)
    if session.status not in EDITABLE_STATUSES:
        raise ValidationError(f"Les créneaux d'une session « {session.status_label.lower()} » ne peuvent plus "
                              "être modifiés.")
    if session.status == SessionStatus.CONFIRMED.value:
        raise ValidationError("Session confirmée : sa durée doit rester celle de la formation. Modifiez le créneau "
                              "(date, heures) au lieu de le supprimer.")
    slot_changing.send(slot)
    session.slots.remove(slot)
    db.session.delete(slot)
    db.session.flush()


def _check_confirmed_hours(session: TrainingSession) -> None:
    confirmed = session.status == SessionStatus.CONFIRMED.value
    if confirmed and session.planned_hours != session.course_version.duration_hours:
        raise ValidationError(
            f"Session confirmée : la durée planifiée doit rester de {hours_fr(session.course_version.duration_hours)} "
            f"(elle serait de {hours_fr(session.planned_hours)}).")


def first_and_last(session: TrainingSession) -> tuple[Slot, Slot]:
    """The session's first and last slots. ``session.slots`` is sorted when loaded, but a slot added or moved
    in the current transaction keeps its place in the list until the session is reloaded."""
    ordered = sorted(session.slots, key=lambda slot: (slot.date, slot.start_time))
    return ordered[0], ordered[-1]


def dedupe(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))

