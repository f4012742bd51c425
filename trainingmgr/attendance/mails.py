"""Attendance e-mails: the signing link at each slot's opening, reminders, one-time codes, and the
trainer's reminder to countersign. Rendered from templates/mail/attendance_*.txt, queued in the outbox."""
from __future__ import annotations

import datetime as dt

from flask import render_template
from sqlalchemy import select

from ..core.links import external_url
from ..core.timeutil import PARIS
from ..enrolments.models import Enrolment, EnrolmentStatus
from ..extensions import db
from ..messaging.bodies import html_body
from ..messaging.models import Job, OutboxMessage
from ..messaging.services import JOB_KIND_LABELS, job_handler, periodic_task, queue_email, schedule_job
from ..organisation.services import get_organisation
from ..resources import links as trainer_links
from ..resources.models import Trainer
from ..sessions import services as session_services
from ..sessions.models import SIGNING, SessionStatus, Slot, TrainingSession
from . import services
from .access import signing_token
from .models import CellStatus, WindowState

JOB_KIND_LABELS["attendance_links"] = "Liens d'émargement à l'ouverture d'un créneau"


def signing_url(enrolment: Enrolment, slot: Slot) -> str:
    return external_url("signing.by_link", token=signing_token(enrolment, slot))


def _queue(to: str, subject: str, template: str, *, enrolment: Enrolment | None = None, **context) -> OutboxMessage:
    text = render_template(f"mail/{template}.txt", org=get_organisation(), **context)
    return queue_email(to, subject, text, html_body(text), topic=template, enrolment=enrolment)


def signing_link(slot: Slot, enrolment: Enrolment, *, reminder: bool = False) -> OutboxMessage:
    subject = ("Rappel : signez la feuille d'émargement" if reminder else "Feuille d'émargement ouverte")
    return _queue(enrolment.trainee.email, f"{subject} – {slot.session.title}", "attendance_link",
                  enrolment=enrolment, slot=slot, session=slot.session, trainee=enrolment.trainee,
                  link=signing_url(enrolment, slot), reminder=reminder, slot_label=services.slot_label(slot),
                  closes=services.window(slot)[1])


def one_time_code(slot: Slot, enrolment: Enrolment, code: str) -> OutboxMessage:
    return _queue(enrolment.trainee.email, f"Votre code d'émargement : {code}", "attendance_code",
                  enrolment=enrolment, slot=slot, session=slot.session, trainee=enrolment.trainee, code=code,
                  slot_label=services.slot_label(slot))


def countersign_url(trainer: Trainer, slot: Slot) -> str:
    """Where a trainer signs the slot's sheet: behind their login when they have an account, else in their trainer
    space (a first personal link is made if they have none: the caller commits)."""
    if trainer.user_id is not None:
        return external_url("attendance.slot", slot_id=slot.id)
    return trainer_links.slot_url(trainer, slot)


def countersign_reminder(slot: Slot) -> list[OutboxMessage]:
    return [_queue(trainer.email, f"Feuille d'émargement à signer – {slot.session.title}", "attendance_trainer",
                   slot=slot, session=slot.session, trainer=trainer, link=countersign_url(trainer, slot),
                   in_space=trainer.user_id is None, slot_label=services.slot_label(slot))
            for trainer in slot.session.trainers if trainer.email]


@job_handler("attendance_links")
def send_opening_links(payload: dict) -> None:
    """At a slot's opening, every expected trainee who has not signed yet gets their personal link."""
    slot = db.session.get(Slot, payload["slot_id"])
    if slot is None or services.window_state(slot) != WindowState.OPEN.value or services.countersignature(slot) is not None:
        return
    if slot.session.status not in SIGNING:
        return
    grid = services.session_grid(slot.session)
    for enrolment, cell in grid.column(slot.id):
        if enrolment.status == EnrolmentStatus.CONFIRMED.value and cell.status == CellStatus.PENDING.value:
            signing_link(slot, enrolment)


@periodic_task
def advance_sessions(now: dt.datetime) -> None:
    """Sessions move to "in progress" at their first slot and to "completed" after their last one, which
    records each trainee's outcome and hours from the attendance sheet."""
    session_services.advance_sessions(now)


@periodic_task
def schedule_opening_links(now: dt.datetime) -> None:
    """Schedule, once per slot, the e-mail of the signing links for the slots whose window is open."""
    today = now.astimezone(PARIS).date()
    slots = db.session.scalars(
        select(Slot).join(Slot.session)
        .where(Slot.date.in_((today - dt.timedelta(days=1), today)),
               TrainingSession.status.in_((SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value)))
    )
    for slot in slots:
        if services.window_state(slot, now) == WindowState.OPEN.value:
            key = f"attendance-links:{slot.id}"

            if db.session.scalar(select(Job.id).where(Job.key == key)) is None:
                schedule_job("attendance_links", key, now, {"slot_id": slot.id})
