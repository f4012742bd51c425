"""A mixed session for the demo (distance half-days, docs/distance.md): the DUME course in five weeks, open to
enrolments, its morning in the Toulouse room, its afternoon in a virtual classroom (its meeting link) and its last
hour an asynchronous activity the next working day, for the same 8 hours as the course. Made through the slot
services, as the advisor does on the session page. Loaded once: skipped when a session of the course already has a
half-day at a distance."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..catalogue.models import Course
from ..companies.models import Company
from ..enrolments.services import enrol, save_funding_line
from ..extensions import db
from ..resources.models import Location, Trainer
from ..sessions.models import SessionStatus, Slot, SlotModality, TrainingSession
from ..sessions.services import add_slot, change_status, create_session, date_warnings, update_slot
from ..trainees.services import find_or_create_trainee

# Enrolled by her employer, the architects' practice (so that the session is not under its minimum).
TRAINEE = {"civility": "Mme", "first_name": "Léa", "last_name": "Fabre", "email": "lea.fabre@garonne-archi.example",
           "job_title": "Assistante d'architecte", "bpf_status": "employee"}
COMPANY_SIRET = "44306184100021"
MIXED_OFFSET = 35  # days from today: after the other upcoming sessions, nothing due before J−15 yet
MEETING_URL = "https://visio.example.fr/formaction/dume-classe-virtuelle"
ACTIVITY = ("Compléter le DUME d'exercice fourni (marché de travaux de la commune de Colomiers) avec l'utilitaire "
            "en ligne, l'exporter en PDF et le déposer dans l'espace du stagiaire ; temps estimé : 1 heure.")


def _working_day(day: dt.date) -> dt.date:
    while date_warnings(day):
        day += dt.timedelta(days=1)
    return day


def has_mixed_session(course: Course) -> bool:
    return db.session.scalar(select(Slot.id).join(TrainingSession, TrainingSession.id == Slot.session_id).where(
        TrainingSession.course_id == course.id, Slot.modality != SlotModality.ROOM.value).limit(1)) is not None


def load_mixed_session(course: Course | None, location: Location, trainer: Trainer, advisor: User,
                       today: dt.date) -> list[str]:
    """Once: the mixed DUME session (room morning 08:30–12:30, virtual afternoon 13:30–16:30, asynchronous
    activity the next working day 09:00–10:00)."""
    if course is None or has_mixed_session(course):
        return []
    day = _working_day(today + dt.timedelta(days=MIXED_OFFSET))
    session, _ = create_session({"course_id": course.id, "start_date": day, "format": "inter",
                                 "delivery_mode": "mixte", "location_id": location.id,
                                 "trainer_ids": [trainer.id]}, advisor)
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    update_slot(morning, {"start_time": "08:30", "end_time": "12:30", "modality": SlotModality.ROOM.value}, advisor)
    update_slot(afternoon, {"start_time": "13:30", "end_time": "16:30", "modality": SlotModality.VIRTUAL.value,
                            "meeting_url": MEETING_URL, "location_id": ""}, advisor)
    add_slot(session, {"date": _working_day(day + dt.timedelta(days=1)), "start_time": "09:00", "end_time": "10:00",
                       "modality": SlotModality.ASYNC.value, "activity": ACTIVITY, "location_id": ""}, advisor)
    change_status(session, SessionStatus.OPEN.value, advisor)
    company = db.session.scalar(select(Company).where(Company.siret == COMPANY_SIRET))
    trainee = find_or_create_trainee({**TRAINEE, "consent": True, "company_id": company.id if company else None})
    db.session.flush()
    enrolment = enrol(session, trainee, company=company, actor=advisor, notify=False)
    save_funding_line(enrolment, None, {"kind": "company" if company else "individual",
                                        "amount": str(enrolment.price_incl_vat)}, advisor)
    return [f"Session mixte {session.label} ouverte : matin en salle, après-midi en classe virtuelle, une heure "
            f"d'activité asynchrone le lendemain ; {trainee.full_name} inscrite."]
