"""Attendance e-mails sent on demand: the advisor's reminders (signing link again, the trainer's reminder to
countersign) and one-time codes, rendered from templates/mail/attendance_*.txt, queued in the outbox. The signing
link at each slot's opening is the automation rule « Lien d'émargement à l'ouverture »
(automations/triggers/attendance.py), which uses ``signing_url`` and ``countersign_url`` below."""
from __future__ import annotations

import datetime as dt

from flask import render_template

from ..core.links import external_url
from ..enrolments.models import Enrolment
from ..messaging.bodies import html_body
from ..messaging.models import OutboxMessage
from ..messaging.services import JOB_KIND_LABELS, job_handler, periodic_task, queue_email
from ..organisation.services import get_organisation
from ..resources import links as trainer_links
from ..resources.models import Trainer
from ..sessions import services as session_services
from ..sessions.models import Slot
from . import services
from .access import signing_token

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
    """Jobs left from before the links at a slot's opening became the automation rule « Lien d'émargement à
    l'ouverture » (automations/triggers/attendance.py): that rule sends them now, so the job does nothing."""


@periodic_task
def advance_sessions(now: dt.datetime) -> None:
    """Sessions move to "in progress" at their first slot and to "completed" after their last one, which
    records each trainee's outcome and hours from the attendance sheet."""
    session_services.advance_sessions(now)
