"""Queueing e-mails and jobs, sending the outbox over SMTP, running due jobs.

Nothing here is called from a request to talk to the network: requests only add rows; the worker
(`flask --app app worker`, or `flask --app app tick` from cron) sends and runs them.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import select

from ..core.timeutil import utcnow
from ..extensions import db
from .models import Job, OutboxAttachment, OutboxMessage

log = logging.getLogger(__name__)

# Seconds to wait before attempt n+1 after n failures; after the last, the message stays "failed".
RETRY_DELAYS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
JOB_RETRY_DELAYS = (60, 300, 900, 3600, 6 * 3600)

_JOB_HANDLERS: dict[str, Callable[[dict], None]] = {}


# --------------------------------------------------------------------------- queueing


def queue_email(recipient: str, subject: str, text: str, html: str = "", *, topic: str = "",
                enrolment=None, attachments: list[tuple[str, str, bytes]] | None = None) -> OutboxMessage:
    """Add an e-mail to the outbox; it leaves with the caller's transaction (never half-sent)."""
    message = OutboxMessage(recipient=recipient.strip(), subject=subject[:300], body_text=text, body_html=html,
                            topic=topic, enrolment_id=getattr(enrolment, "id", enrolment))
    for filename, content_type, data in attachments or []:
        message.attachments.append(OutboxAttachment(filename=filename, content_type=content_type, data=data))
    db.session.add(message)
    return message


def job_handler(kind: str):
    """Register the function that runs jobs of ``kind`` (it receives the job's payload)."""

    def register(fn):
        _JOB_HANDLERS[kind] = fn
        return fn

    return register


def schedule_job(kind: str, key: str, due_at: dt.datetime, payload: dict | None = None) -> Job:
    """Schedule a job once per ``key``: a pending job is moved to ``due_at``; a cancelled or failed one is
    scheduled afresh; a job already done stays done."""
    job = db.session.scalar(select(Job).where(Job.key == key))
    if job is None:
        job = Job(kind=kind, key=key, due_at=due_at, payload=payload or {})
        db.session.add(job)
    elif job.status in ("pending", "cancelled", "failed"):
        job.status = "pending"
        job.due_at = due_at
        job.payload = payload or {}
        job.attempts = 0
        job.last_error = ""
    return job


def forget_job(key: str) -> None:
    """Remove the job of ``key`` whatever its state, so that the key can be scheduled anew."""
    job = db.session.scalar(select(Job).where(Job.key == key))
    if job is not None:
        db.session.delete(job)
        db.session.flush()


def cancel_job(key: str) -> None:
    job = db.session.scalar(select(Job).where(Job.key == key, Job.status == "pending"))
    if job is not None:
        job.status = "cancelled"


# --------------------------------------------------------------------------- sending


def _build(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message.message_id
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                             filename=attachment.filename)
    return email


def _smtp_send(email: EmailMessage) -> None:
    config = current_app.config
    if config.get("MAIL_BACKEND") == "console":  # development: the message goes to the log
        body = email.get_body(("plain",))
        log.info("E-mail (console) à %s : %s\n%s", email["To"], email["Subject"], body.get_content() if body else "")
        return
    timeout = config.get("MAIL_TIMEOUT", 30)
    if config.get("MAIL_USE_SSL"):
        client = smtplib.SMTP_SSL(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    with client:
        if config.get("MAIL_USE_TLS"):
            client.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        client.send_message(email)


def send_due_messages(now: dt.datetime | None = None, limit: int = 100) -> tuple[int, int]:
    """Send the pending messages that are due. Each message is committed on its own, so a failure or a
    crash never loses one; a failed attempt is retried later with back-off. Returns (sent, failed)."""
    now = now or utcnow()
    sent = failed = 0
    ids = list(db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    ))
    for message_id in ids:
        message = db.session.get(OutboxMessage, message_id)
        if message is None or message.status != "pending":
            continue
        if not message.message_id:
            domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "trainingmgr"
            message.message_id = make_msgid(idstring=f"outbox{message.id}", domain=domain)
        message.attempts += 1
        try:
            _smtp_send(_build(message))
        except (smtplib.SMTPException, OSError) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            delay = RETRY_DELAYS[message.attempts - 1] if message.attempts <= len(RETRY_DELAYS) else None
            if delay is None:
                message.status = "failed"
            else:
                message.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
            failed += 1
            log.warning("Envoi du message %s à %s impossible (tentative %s) : %s", message.id, message.recipient,
                        message.attempts, message.last_error)
        else:
            message.status = "sent"
            message.sent_at = utcnow()
            message.last_error = ""
            sent += 1
        db.session.commit()
    return sent, failed


def retry_message(message: OutboxMessage) -> None:
    """Put a failed message back in the queue, due now (from the outbox page)."""
    message.status = "pending"
    message.next_attempt_at = utcnow()


# --------------------------------------------------------------------------- jobs


def run_due_jobs(now: dt.datetime | None = None, limit: int = 100) -> tuple[int, int]:
    """Run the jobs that are due, each in its own transaction. Returns (done, failed)."""
    now = now or utcnow()
    done = failed = 0
    ids = list(db.session.scalars(
        select(Job.id).where(Job.status == "pending", Job.due_at <= now).order_by(Job.due_at, Job.id).limit(limit)
    ))
    for job_id in ids:
        job = db.session.get(Job, job_id)
        if job is None or job.status != "pending":
            continue
        handler = _JOB_HANDLERS.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"aucune tâche « {job.kind} »")
            handler(dict(job.payload or {}))
        except Exception as exc:  # a job's failure must not stop the others
            db.session.rollback()
            job = db.session.get(Job, job_id)
            job.attempts += 1
            job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if job.attempts > len(JOB_RETRY_DELAYS):
                job.status = "failed"
            else:
                job.due_at = utcnow() + dt.timedelta(seconds=JOB_RETRY_DELAYS[job.attempts - 1])
            failed += 1
            log.exception("La tâche %s (%s) a échoué", job.id, job.kind)
        else:
            job.status = "done"
            job.done_at = utcnow()
            job.attempts += 1
            done += 1
        db.session.commit()
    return done, failed


def tick(now: dt.datetime | None = None) -> dict:
    """One pass of the worker: due jobs first (they may queue e-mails), then the outbox."""
    jobs_done, jobs_failed = run_due_jobs(now)
    sent, send_failed = send_due_messages(now)
    return {"jobs_done": jobs_done, "jobs_failed": jobs_failed, "sent": sent, "send_failed": send_failed}
