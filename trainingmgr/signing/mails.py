"""Signature e-mails and jobs: the personal link, the one-time code, the reminders at J+3 and J+7, the expiry at
the deadline, the signed copy to everyone, and the advisor told when a request ends without every signature.
Rendered from templates/mail/signature_*.txt, queued in the outbox."""
from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from ..core.timeutil import paris_datetime, utcnow
from ..core.web import external_url
from ..enrolments.mails import _html
from ..extensions import db
from ..messaging.models import OutboxMessage
from ..messaging.services import JOB_KIND_LABELS, cancel_job, job_handler, queue_email, schedule_job
from ..organisation.services import get_organisation
from .access import signing_token
from .models import RequestStatus, Signatory, SignatoryStatus, SignatureRequest

JOB_KIND_LABELS["signature_reminder"] = "Relance d'une demande de signature"
JOB_KIND_LABELS["signature_expiry"] = "Échéance d'une demande de signature"


def signing_url(signatory: Signatory) -> str:
    return external_url("esign.page", token=signing_token(signatory))


def _queue(to: str, subject: str, template: str, attachments=None, **context) -> OutboxMessage:
    text = render_template(f"mail/{template}.txt", org=get_organisation(), **context)
    return queue_email(to, subject, text, _html(text), topic=template, attachments=attachments)


def _context(request: SignatureRequest) -> dict:
    document = request.document
    return {"request": request, "document": document, "session": document.session}


def invite(signatory: Signatory, *, reminder: bool = False) -> OutboxMessage:
    request = signatory.request
    signatory.invited_at = signatory.invited_at or utcnow()
    subject = "Rappel : document à signer" if reminder else "Document à signer"
    return _queue(signatory.email, f"{subject} – {request.document.label} n° {request.document.number}",
                  "signature_invitation", signatory=signatory, link=signing_url(signatory), reminder=reminder,
                  **_context(request))


def one_time_code(signatory: Signatory, code: str) -> OutboxMessage:
    return _queue(signatory.email, f"Votre code de signature : {code}", "signature_code", signatory=signatory,
                  code=code, minutes=current_app.config["SIGNATURE_CODE_MINUTES"], **_context(signatory.request))


def completed(request: SignatureRequest) -> list[OutboxMessage]:
    """The signed PDF to every signatory."""
    from .services import latest_pdf

    pdf = latest_pdf(request)
    name = f"{request.document.number}-signe.pdf"
    return [_queue(s.email, f"Document signé – {request.document.label} n° {request.document.number}",
                   "signature_completed", attachments=[(name, "application/pdf", pdf)], signatory=s,
                   **_context(request))
            for s in request.signatories]


def advisor_told(request: SignatureRequest, signatory: Signatory | None = None) -> OutboxMessage | None:
    """Tell who sent the request that it ended without every signature (refused, cancelled, expired)."""
    to = request.created_by.email if request.created_by is not None else get_organisation().email
    if not to:
        return None
    return _queue(to, f"Signature {request.status_label.lower()} – {request.document.label} n° "
                      f"{request.document.number}", "signature_advisor", signatory=signatory,
                  link=external_url("signatures.show", request_id=request.id), **_context(request))


# --------------------------------------------------------------------------- reminders and expiry


def _key(request: SignatureRequest, what: str) -> str:
    return f"signature:{request.id}:{what}"


def _end_of(deadline: dt.date) -> dt.datetime:
    """The first moment after the deadline day, Paris time, in UTC."""
    return paris_datetime(deadline + dt.timedelta(days=1), dt.time(0, 0)).astimezone(dt.UTC)


def schedule(request: SignatureRequest) -> None:
    """The reminders (SIGNATURE_REMINDER_DAYS after sending, when before the deadline) and the expiry job."""
    ends = _end_of(request.deadline)
    for days in current_app.config["SIGNATURE_REMINDER_DAYS"]:
        due = request.created_at + dt.timedelta(days=days)
        if due < ends:
            schedule_job("signature_reminder", _key(request, f"reminder-{days}"), due, {"request": request.id})
    schedule_job("signature_expiry", _key(request, "expiry"), ends, {"request": request.id})


def unschedule(request: SignatureRequest) -> None:
    for days in current_app.config["SIGNATURE_REMINDER_DAYS"]:
        cancel_job(_key(request, f"reminder-{days}"))
    cancel_job(_key(request, "expiry"))


@job_handler("signature_reminder")
def remind(payload: dict) -> None:
    request = db.session.get(SignatureRequest, payload.get("request"))
    if request is None or request.status != RequestStatus.PENDING.value:
        return
    for signatory in request.signatories:
        if signatory.status == SignatoryStatus.INVITED.value and signatory.locked_at is None:
            signatory.reminders_sent += 1
            invite(signatory, reminder=True)


@job_handler("signature_expiry")
def expire(payload: dict) -> None:
    from .services import expire_if_due

    request = db.session.get(SignatureRequest, payload.get("request"))
    if request is not None:  # the job is due at the end of the deadline's day: judged at that moment
        expire_if_due(request, max(utcnow(), _end_of(request.deadline)))
