"""A trainer's agenda: the slots they teach, and the personal iCalendar subscription that follows them.

The subscription URL carries the token of the trainer space's personal link (``resources.links.token``, read by
``links.trainer_from_token``): renewing or revoking that link ends the subscription too. Each slot is one event whose
UID never changes and whose SEQUENCE (``Slot.sequence``) grows when the slot moves (date, times, place, modality or
meeting link) or its session is confirmed or cancelled (STATUS:CANCELLED, kept in the feed so that calendars remove
it), with Europe/Paris
times and their VTIMEZONE (``sessions.ical``). The trainer's slots are those given to them, and those given to nobody in a session they teach
(as the trainer space lists them).
"""
from __future__ import annotations

import datetime as dt

from icalendar import Event
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...core.formatting import date_fr, time_fr
from ...core.timeutil import utcnow
from ...core.links import external_url
from ...extensions import db
from ...organisation.models import Organisation
from ...resources.models import Trainer
from ...sessions.ical import add_place, event_status, modality_lines, new_calendar, slot_uid
from ...sessions.models import SessionStatus, Slot, TrainingSession, session_trainer


def feed_url(token: str) -> str:
    """The subscription address for the trainer space's link ``token`` (``links.token(trainer)``)."""
    return external_url("trainer_agenda.feed", token=token)


def trainer_slots(trainer: Trainer, first: dt.date | None = None, last: dt.date | None = None, *,
                  cancelled: bool = False) -> list[Slot]:
    """The slots ``trainer`` teaches, in order, between ``first`` and ``last`` when given; those of cancelled
    sessions only with ``cancelled``."""
    team = select(session_trainer.c.session_id).where(session_trainer.c.trainer_id == trainer.id)
    query = (
        select(Slot)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where((Slot.trainer_id == trainer.id) | (Slot.trainer_id.is_(None) & Slot.session_id.in_(team)))
        .options(selectinload(Slot.session).selectinload(TrainingSession.course_version),
                 selectinload(Slot.session).selectinload(TrainingSession.location),
                 selectinload(Slot.session).selectinload(TrainingSession.slots),
                 selectinload(Slot.location))
        .order_by(Slot.date, Slot.start_time, Slot.id)
    )
    if first is not None:
        query = query.where(Slot.date >= first)
    if last is not None:
        query = query.where(Slot.date <= last)
    if not cancelled:
        query = query.where(TrainingSession.status != SessionStatus.CANCELLED.value)
    return list(db.session.scalars(query))


def trainer_calendar(trainer: Trainer, org: Organisation, domain: str = "trainingmgr") -> bytes:
    """Every slot of ``trainer`` as an iCalendar subscription, those of cancelled sessions as cancelled events."""
    cal = new_calendar(f"{org.name} – planning de {trainer.full_name}")
    # Hints for the subscribed calendar programs to look again every hour (RFC 7986 and Outlook's own name).
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    stamp = utcnow()
    for slot in trainer_slots(trainer, cancelled=True):
        cal.add_component(_slot_event(slot, org, stamp, domain))
    return cal.to_ical()


def _slot_event(slot: Slot, org: Organisation, stamp: dt.datetime, domain: str) -> Event:
    session = slot.session
    event = Event()
    event.add("uid", slot_uid(slot, domain))
    event.add("dtstamp", stamp)
    event.add("sequence", slot.sequence or 0)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    prefix = "Annulée – " if session.is_cancelled else ""
    event.add("summary", f"{prefix}{session.title} – {slot.half_day_label.lower()}")
    add_place(event, slot)
    location = slot.location or session.location
    lines = [f"Session {session.label}, {session.status_label.lower()}.",
             f"{slot.half_day_label} du {date_fr(slot.date)}, de {time_fr(slot.start_time)} à "
             f"{time_fr(slot.end_time)}.", *modality_lines(slot)]
    if not slot.is_remote and location is not None and location.access_notes and not location.is_remote:
        lines.append(f"Accès : {location.access_notes}")
    if session.is_cancelled and session.cancel_reason:
        lines.append(f"Motif de l'annulation : {session.cancel_reason}")
    contact = " ".join(p for p in (org.quality_contact_name, org.quality_contact_email, org.quality_contact_phone)
                       if p)
    lines.append(f"Organisme : {org.name}" + (f" – contact : {contact}" if contact else ""))
    event.add("description", "\n".join(lines))
    event.add("status", event_status(session))
    return event
