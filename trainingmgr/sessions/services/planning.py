"""Planning a session: create it from its course, change its settings, make it follow the course's new version,
duplicate it at a new date."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ...accounts.models import User
from ...catalogue.models import Course, CourseStatus
from ...catalogue.services import freeze_version
from ...core.errors import ErrorCollector, ValidationError
from ...core.validation import clean_text, parse_date
from ...extensions import db
from ..models import SessionStatus, TrainingSession
from .access import ensure_can_manage_sessions, load_choice
from .alerts import session_warnings
from .seats import lock_session_seats, seats_taken
from .settings import apply_settings, clean_settings
from .signals import seats_changed
from .slots import SlotDelivery, dedupe, first_and_last, pattern_slots, place_slot
from .statuses import EDITABLE_STATUSES
from .workflow import confirmation_problems

DEFAULTABLE_SETTINGS = ("format", "delivery_mode", "capacity", "min_trainees", "price_per_trainee", "intra_price")


def _course_for(data: dict) -> Course:
    errors = ErrorCollector()
    course = None
    if data.get("course_id") not in (None, ""):
        course = load_choice(Course, data.get("course_id"), "course_id", errors, "Formation")
    elif data.get("course_slug"):
        course = db.session.scalar(select(Course).where(Course.slug == str(data["course_slug"])))
        if course is None:
            errors.add("course_slug", "Formation introuvable.")
    else:
        errors.add("course_id", "Choisissez la formation.")
    errors.raise_if_any()
    if course.status == CourseStatus.ARCHIVED.value:
        raise ValidationError("Cette formation est archivée : on ne peut plus y planifier de session.",
                              field="course_id")
    if course.current_version is None:
        raise ValidationError("Cette formation n'a pas encore de contenu.", field="course_id")
    return course


def create_session(data: dict, actor: User | None = None) -> tuple[TrainingSession, list[str]]:
    """Create a draft session of the course's version in force, laid out from its usual day pattern
    when ``start_date`` is given."""
    ensure_can_manage_sessions(actor)
    # Left empty, these come from the course version.
    data = {k: v for k, v in data.items() if not (k in DEFAULTABLE_SETTINGS and v in (None, ""))}
    course = _course_for(data)
    version = course.current_version
    settings = clean_settings(data, version, None)
    start_date = None
    if data.get("start_date") not in (None, ""):
        errors = ErrorCollector()
        start_date = parse_date(data.get("start_date"), "start_date", errors, label="La date de début")
        errors.raise_if_any()
    session = TrainingSession(course=course, course_version=version, status=SessionStatus.DRAFT.value)
    apply_settings(session, settings)
    db.session.add(session)
    db.session.flush()
    freeze_version(version)
    warnings: list[str] = []
    if start_date is not None:
        for day, start, end in pattern_slots(version, start_date):
            _, slot_warnings = place_slot(session, day, start, end, settings.location,
                                          settings.trainers[0] if settings.trainers else None)
            warnings.extend(slot_warnings)
    db.session.flush()
    return session, dedupe(warnings)


def update_session(session: TrainingSession, data: dict, actor: User | None = None) -> list[str]:
    ensure_can_manage_sessions(actor)
    if session.status not in EDITABLE_STATUSES:
        if set(data) - {"notes"}:
            raise ValidationError(f"Une session « {session.status_label.lower()} » ne peut plus être modifiée "
                                  "(seules les notes le peuvent).")
        session.notes = clean_text(data.get("notes"))
        return []
    lock_session_seats(session.id)  # the capacity check below counts the seats
    old_capacity = session.capacity
    settings = clean_settings(data, session.course_version, session)
    with db.session.no_autoflush:
        apply_settings(session, settings)
    if session.status == SessionStatus.CONFIRMED.value:
        problems = confirmation_problems(session)
        if problems:
            raise ValidationError("Session confirmée : " + " ".join(problems))
    db.session.flush()
    if session.capacity > old_capacity:
        seats_changed.send(session, actor=actor)
    return session_warnings(session)


def rebase_to_current_version(session: TrainingSession, actor: User | None = None) -> None:
    """Make a not-yet-confirmed session follow the course's version in force."""
    ensure_can_manage_sessions(actor)
    if session.status not in (SessionStatus.DRAFT.value, SessionStatus.OPEN.value):
        raise ValidationError("Seule une session en brouillon ou aux inscriptions ouvertes peut changer de version.")
    if seats_taken([session.id])[session.id]:
        raise ValidationError("Des stagiaires sont inscrits sur la version actuelle du programme.")
    version = session.course.current_version
    if version.max_trainees < session.capacity:
        raise ValidationError(f"La nouvelle version limite le groupe à {version.max_trainees} stagiaires : "
                              "réduisez d'abord la capacité.")
    session.course_version = version
    freeze_version(version)


def duplicate_session(session: TrainingSession, new_start: dt.date, actor: User | None = None
                      ) -> tuple[TrainingSession, list[str]]:
    """A new draft session with the same settings, its slots moved so that the first falls on ``new_start``."""
    ensure_can_manage_sessions(actor)
    errors = ErrorCollector()
    new_start = parse_date(new_start, "start_date", errors, label="La nouvelle date de début")
    errors.raise_if_any()
    if not session.slots:
        raise ValidationError("Cette session n'a aucun créneau à recopier.", field="start_date")
    if session.course.status == CourseStatus.ARCHIVED.value:
        raise ValidationError("Cette formation est archivée : on ne peut plus y planifier de session.")
    version = session.course.current_version
    copy = TrainingSession(course=session.course, course_version=version, status=SessionStatus.DRAFT.value)
    data = {
        "format": session.format, "delivery_mode": session.delivery_mode, "location_id": session.location,
        "trainer_ids": list(session.trainers), "capacity": min(session.capacity, version.max_trainees),
        "min_trainees": session.min_trainees, "price_per_trainee": session.price_per_trainee,
        "intra_price": session.intra_price, "client_company_id": session.client_company, "notes": session.notes,
    }
    settings = clean_settings(data, version, None)
    apply_settings(copy, settings)
    db.session.add(copy)
    freeze_version(version)
    shift = new_start - first_and_last(session)[0].date
    warnings: list[str] = []
    with db.session.no_autoflush:
        for slot in session.slots:
            _, slot_warnings = place_slot(copy, slot.date + shift, slot.start_time, slot.end_time,
                                          slot.location, slot.trainer, SlotDelivery.copied(slot, copy))
            warnings.extend(slot_warnings)
    db.session.flush()
    return copy, dedupe(warnings)

