"""The e-mails about enrolments. Each is rendered from templates/mail/ and queued in the outbox."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from ..accounts.models import Role, User
from ..core.links import external_url
from ..extensions import db
from ..messaging.bodies import html_body
from ..messaging.delivery import sent_to
from ..messaging.services import message_sent, queue_email
from ..organisation.services import get_organisation, staff_recipients
from ..sessions.models import SessionStatus
from .history import record_event
from .links import trainee_token
from .models import Enrolment, EnrolmentEvent
from .workflow import needs_prerequisite_decision


def personal_url(enrolment: Enrolment) -> str:
    return external_url("trainee.home", token=trainee_token(enrolment))


def _send(enrolment: Enrolment, template: str, subject: str, *, to: str | None = None, topic: str = "",
          attachments=None, **context) -> None:
    org = get_organisation()
    text = render_template(f"mail/{template}.txt", enrolment=enrolment, session=enrolment.session,
                           trainee=enrolment.trainee, org=org, link=personal_url(enrolment), **context)
    queue_email(to or enrolment.trainee.email, subject, text, html_body(text), topic=topic or template,
                enrolment=enrolment, attachments=attachments)


def enrolment_status(enrolment: Enrolment) -> None:
    """Tell the trainee where their enrolment stands: pending the prerequisite, or waitlisted. A confirmed
    enrolment's e-mail is the default automation « enrolment_confirmed » (automations/triggers/sessions.py), sent
    by the worker's next pass."""
    subjects = {
        "pending_prerequisite": "Inscription enregistrée : prérequis à confirmer",
        "waitlisted": "Inscription en liste d'attente",
    }
    if enrolment.status in subjects:
        _send(enrolment, "enrolment_status", f"{subjects[enrolment.status]} – {enrolment.session.title}")


def request_received(enrolment: Enrolment) -> None:
    """Acknowledge a public request, and tell the advisors about it."""
    _send(enrolment, "request_ack", f"Demande d'inscription reçue – {enrolment.session.title}")
    for email in staff_recipients():
        _send(enrolment, "request_advisor", f"Nouvelle demande d'inscription – {enrolment.session.title}", to=email,
              topic="request_advisor", admin_url=external_url("enrolments.show", enrolment_id=enrolment.id))


def promoted(enrolment: Enrolment) -> None:
    _send(enrolment, "promoted", f"Une place s'est libérée – {enrolment.session.title}")


def enrolment_cancelled(enrolment: Enrolment) -> None:
    _send(enrolment, "enrolment_cancelled", f"Inscription annulée – {enrolment.session.title}")


def session_cancelled(enrolment: Enrolment, reason: str) -> None:
    _send(enrolment, "session_cancelled", f"Session annulée – {enrolment.session.title}", reason=reason)


def documents_author(enrolment: Enrolment) -> User | None:
    """On whose behalf the worker makes the convocation's documents: the staff member who last acted on the
    enrolment (enrolled, confirmed or admitted the trainee), else the first active advisor or admin."""
    actor_id = db.session.scalar(select(EnrolmentEvent.actor_id).where(
        EnrolmentEvent.enrolment_id == enrolment.id, EnrolmentEvent.actor_id.is_not(None))
        .order_by(EnrolmentEvent.id.desc()).limit(1))
    user = db.session.get(User, actor_id) if actor_id is not None else None
    if user is not None and user.active and user.is_staff:
        return user
    return db.session.scalar(select(User).where(User.role.in_((Role.ADVISOR.value, Role.ADMIN.value)),
                                                User.active.is_(True)).order_by(User.id).limit(1))


def convocation_held_by(enrolment: Enrolment) -> str:
    """Why the convocation cannot leave yet (French), or ""."""
    if enrolment.session.status == SessionStatus.OPEN.value:
        return "En attente de la confirmation de la session."
    if needs_prerequisite_decision(enrolment):
        return "En attente de la décision sur les prérequis."
    return ""


@message_sent.connect
def _convocation_sent(message) -> None:
    """The date the trainee's convocation actually left is the evidence (Qualiopi indicator 9). *Decision*: a
    convocation written to the console (development) is dated too, so that development runs as production does;
    the pages and the enrolment's history say it went to the console."""
    if message.topic != "convocation" or message.enrolment_id is None:
        return
    enrolment = db.session.get(Enrolment, message.enrolment_id)
    if enrolment is not None and message.recipient == enrolment.trainee.email and enrolment.convocation_sent_at is None:
        enrolment.convocation_sent_at = message.sent_at
        record_event(enrolment, "convocation", None,
                     f"Convocation {sent_to(message.recipient, 'f', message.transport)}.")
