"""Signature e-mails and jobs: the personal link, the one-time code, the expiry at the deadline, the signed copy to
everyone, and the advisor told when a request ends without every signature. Rendered from
templates/mail/signature_*.txt, queued in the outbox. The reminders are automation rules
(automations/triggers/signing.py: « Document en attente de signature depuis n jours »)."""
from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from ..core.timeutil import paris_datetime, utcnow
from ..core.links import external_url
from ..messaging.bodies import html_body
from ..messaging.models import OutboxMessage
from ..messaging.services import JOB_KIND_LABELS, cancel_job, job_handler, queue_email, schedule_job
from ..organisation.services import get_organisation
from .access import signing_token
from .models import Signatory, SignatureRequest

JOB_KIND_LABELS["signature_reminder"] = "Relance d'une demande de signature (ancienne tâche, sans effet)"
JOB_KIND_LABELS["signature_expiry"] = "Échéance d'une demande de signature"


def signing_url(signatory: Signatory) -> str:
    return external_url("esign.page", token=signing_token(signatory))


def _queue(to: str, subject: str, template: str, attachments=None, **context) -> OutboxMessage:
    text = render_template(f"mail/{template}.txt", org=get_organisation(), **context)
    return queue_email(to, subject, text, html_body(text), topic=template, attachments=attachments)


def _context(signature_request: SignatureRequest) -> dict:
    document = signature_request.document
    return {"request": signature_request, "document": document, "session": document.session}


def invite(signatory: Signatory, *, reminder: bool = False) -> OutboxMessage:
    signature_request = signatory.request
    signatory.invited_at = signatory.invited_at or utcnow()
    subject = "Rappel : document à signer" if reminder else "Document à signer"
    document = signature_request.document
    return _queue(signatory.email, f"{subject} – {document.label} n° {document.number}",
                  "signature_invitation", signatory=signatory, link=signing_url(signatory), reminder=reminder,
                  **_context(signature_request))


def one_time_code(signatory: Signatory, code: str) -> OutboxMessage:
    return _queue(signatory.email, f"Votre code de signature : {code}", "signature_code", signatory=signatory,
                  code=code, minutes=current_app.config["SIGNATURE_CODE_MINUTES"], **_context(signatory.request))


def completed(signature_request: SignatureRequest, pdf: bytes) -> list[OutboxMessage]:
    """The signed PDF (``pdf``, the last revision) to every signatory."""
    name = f"{signature_request.document.number}-signe.pdf"
    document = signature_request.document
    return [_queue(s.email, f"Document signé – {document.label} n° {document.number}",
                   "signature_completed", attachments=[(name, "application/pdf", pdf)], signatory=s,
                   **_context(signature_request))
            for s in signature_request.signatories]


def advisor_told(signature_request: SignatureRequest, signatory: Signatory | None = None) -> OutboxMessage | None:
    """Tell who sent the request that it ended without every signature (refused, cancelled, expired)."""
    to = signature_request.created_by.email if signature_request.created_by is not None else get_organisation().email
    if not to:
        return None
    return _queue(to, f"Signature {signature_request.status_label.lower()} – {signature_request.document.label} n° "
                      f"{signature_request.document.number}", "signature_advisor", signatory=signatory,
                  link=external_url("signatures.show", request_id=signature_request.id), **_context(signature_request))


# --------------------------------------------------------------------------- expiry


def _key(signature_request: SignatureRequest, what: str) -> str:
    return f"signature:{signature_request.id}:{what}"


def end_of(deadline: dt.date) -> dt.datetime:
    """The first moment after the deadline day, Paris time, in UTC."""
    return paris_datetime(deadline + dt.timedelta(days=1), dt.time(0, 0)).astimezone(dt.UTC)


def schedule(signature_request: SignatureRequest) -> None:
    """The expiry job, at the end of the deadline's day (the reminders are automation rules)."""
    schedule_job("signature_expiry", _key(signature_request, "expiry"), end_of(signature_request.deadline),
                 {"request": signature_request.id})


def unschedule(signature_request: SignatureRequest) -> None:
    cancel_job(_key(signature_request, "expiry"))


@job_handler("signature_reminder")
def _former_reminder(payload: dict) -> None:
    """A reminder job scheduled before the reminders became automation rules: done without sending, since the
    rule « Rappel de signature à J+n » sends it (a job would send it twice)."""
