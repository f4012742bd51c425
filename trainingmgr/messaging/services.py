"""Queueing e-mails and jobs, sending the outbox over SMTP, running due jobs.

Requests only add rows; the worker (`flask --app app worker`, or `flask --app app tick` from cron) sends and runs
them. See docs/messaging.md for the delivery guarantees."""
from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from blinker import Namespace
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import ConflictError
from ..core.formatting import datetime_fr
from ..core.timeutil import utcnow
from ..extensions import db
from . import delivery
from .models import (
    JOB_STATUSES, MESSAGE_STATUSES, UNSETTLED_JOBS, Job, JobStatus, MessageStatus, OutboxAttachment, OutboxMessage,
)

# Sent once a message has left (sender: the OutboxMessage), so that the evidence it stands for is recorded.
message_sent = Namespace().signal("message-sent")

log = logging.getLogger(__name__)

# Seconds to wait before attempt n+1 after n failures; after the last, the message stays "failed".
RETRY_DELAYS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Messages or jobs taken in one pass.
BATCH_SIZE = 100
JOB_RETRY_DELAYS = (60, 300, 900, 3600, 6 * 3600)
MAX_JOB_ATTEMPTS = len(JOB_RETRY_DELAYS) + 1

# Written with the claim and replaced by the outcome: if it stays, the worker stopped during the attempt.
INTERRUPTED_NOTE = ("Tentative {n} interrompue avant confirmation (arrêt du worker pendant l'envoi ?) : "
                    "le message a pu partir ; nouvel essai prévu, avec le même Message-ID.")

# What the outbox page calls each topic and job kind (unknown ones are shown as they are).
TOPIC_LABELS = {
    "convocation": "Convocation",
    "enrolment_status": "Inscription",
    "request_ack": "Accusé de réception",
    "request_advisor": "Demande (conseiller)",
    "promoted": "Sortie de liste d'attente",
    "enrolment_cancelled": "Annulation d'inscription",
    "session_cancelled": "Annulation de session",
    "password_reset": "Mot de passe",
    "attendance_link": "Lien d'émargement",
    "attendance_code": "Code d'émargement",
    "attendance_trainer": "Émargement (formateur)",
    "complaint_ack": "Réclamation : accusé de réception",
    "complaint_update": "Réclamation : suivi",
    "complaint_advisor": "Réclamation (conseiller)",
    "invoice_reminder": "Relance de facture impayée",
}


# Topics named after a kind that a higher package knows (documents "document_…", surveys "survey_…"): that package
# registers how to name them (topic_prefix), so that messaging never imports it.
_TOPIC_PREFIXES: dict[str, Callable[[str], str | None]] = {}


def topic_prefix(prefix: str, label: Callable[[str], str | None]) -> None:
    """Let ``label(rest)`` name the topics starting with ``prefix`` (None: unknown, the topic is shown as is)."""
    _TOPIC_PREFIXES[prefix] = label


def topic_label(topic: str) -> str:
    """The French label of an e-mail's topic; documents and surveys are named after their type."""
    if topic in TOPIC_LABELS:
        return TOPIC_LABELS[topic]
    for prefix, label in _TOPIC_PREFIXES.items():
        if topic.startswith(prefix):
            return label(topic.removeprefix(prefix)) or topic
    return topic or "–"
JOB_KIND_LABELS = {"convocation": "Envoi de la convocation"}

_JOB_HANDLERS: dict[str, Callable[[dict], None]] = {}
_PERIODIC_TASKS: list[Callable[[dt.datetime], None]] = []
_UPSERT_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


def _one_line(value: str) -> str:
    """Header values on one line: a CR or LF would let a value inject headers (and is refused anyway)."""
    return _CONTROL_CHARACTERS.sub(" ", str(value or "")).strip()


# --------------------------------------------------------------------------- queueing


def queue_email(recipient: str, subject: str, text: str, html: str = "", *, topic: str = "",
                enrolment=None, attachments: list[tuple[str, str, bytes]] | None = None) -> OutboxMessage:
    """Add an e-mail to the outbox; it leaves with the caller's transaction (never half-sent)."""
    if enrolment is not None and not isinstance(enrolment, int) and enrolment.id is None:
        db.session.flush()  # a new enrolment gets its id, so that the e-mail stays linked to it
    message = OutboxMessage(recipient=_one_line(recipient)[:254], subject=_one_line(subject)[:300],
                            body_text=text or "", body_html=html or "", topic=(topic or "")[:40],
                            enrolment_id=getattr(enrolment, "id", enrolment))
    for filename, content_type, data in attachments or []:
        content_type = _one_line(content_type).lower()
        if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", content_type):
            content_type = "application/octet-stream"
        message.attachments.append(OutboxAttachment(
            filename=_one_line(filename).replace("/", "_").replace("\\", "_")[:255] or "piece-jointe",
            content_type=content_type[:120], data=data.encode("utf-8") if isinstance(data, str) else bytes(data)))
    db.session.add(message)
    return message


def periodic_task(fn):
    """Register ``fn(now)`` to run at each pass of the worker, before the due jobs (it may schedule some).
    It must not commit; the pass commits after it."""
    _PERIODIC_TASKS.append(fn)
    return fn


def job_handler(kind: str):
    """Register the function that runs jobs of ``kind`` (it receives the job's payload, must not commit)."""

    def register(fn):
        _JOB_HANDLERS[kind] = fn
        return fn

    return register


def schedule_job(kind: str, key: str, due_at: dt.datetime, payload: dict | None = None) -> Job:
    """Schedule a job once per ``key``: a pending job is moved to ``due_at``; a cancelled or failed one is
    scheduled afresh; a job already done stays done. Safe when two transactions schedule the same key."""
    job = db.session.scalar(select(Job).where(Job.key == key))
    if job is None:
        values = {"kind": kind, "key": key, "due_at": due_at, "payload": payload or {},
                  "status": JobStatus.PENDING.value, "attempts": 0, "last_error": "", "created_at": utcnow()}
        dialect = db.session.get_bind().dialect.name
        if dialect in _UPSERT_INSERTS:
            # INSERT … ON CONFLICT DO NOTHING: if another transaction scheduled the same key meanwhile,
            # this one waits for it and then finds its row instead of failing on the unique key.
            inserted = db.session.execute(_UPSERT_INSERTS[dialect](Job).values(**values)
                                          .on_conflict_do_nothing(index_elements=["key"])).rowcount == 1
            job = db.session.scalar(select(Job).where(Job.key == key))
            if inserted:
                return job
        else:  # pragma: no cover - SQLite and PostgreSQL are the supported databases
            job = Job(**values)
            db.session.add(job)
            return job
    if job.status in (JobStatus.PENDING.value, JobStatus.CANCELLED.value, JobStatus.FAILED.value):
        job.kind = kind
        job.status = JobStatus.PENDING.value
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
    job = db.session.scalar(select(Job).where(Job.key == key, Job.status == JobStatus.PENDING.value))
    if job is not None:
        job.status = JobStatus.CANCELLED.value


# --------------------------------------------------------------------------- building and transports


class PermanentError(Exception):
    """The message can never leave as it is: no retry."""


class _ConnectError(Exception):
    """The mail server could not be reached or refused us: the batch stops, later messages keep their turn."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original


def _sender() -> str:
    return _one_line(current_app.config.get("MAIL_DEFAULT_SENDER") or "formation@localhost")


def _new_message_id() -> str:
    domain = _sender().rstrip(">").rpartition("@")[2] or "trainingmgr"
    return make_msgid(domain=domain)


def build_email(message: OutboxMessage) -> EmailMessage:
    """The MIME message: text, HTML alternative, attachments. Raises PermanentError if it cannot be built."""
    try:
        email = EmailMessage()
        email["From"] = _sender()
        email["To"] = _one_line(message.recipient)
        email["Subject"] = _one_line(message.subject)
        email["Date"] = format_datetime(utcnow())
        email["Message-ID"] = message.message_id or _new_message_id()
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies loop back
        email.set_content(message.body_text or "")
        if message.body_html:
            email.add_alternative(message.body_html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            if not maintype or not subtype:
                maintype, subtype = "application", "octet-stream"
            email.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                                 filename=attachment.filename)
        return email
    except Exception as exc:  # a header the e-mail package refuses, an unencodable value…
        raise PermanentError(f"Message impossible à construire : {type(exc).__name__}: {exc}") from exc


class _ConsoleTransport:
    """Development: the message goes to the log; it counts as done, with transport "console" (nobody got it)."""

    name = "console"

    def send(self, email: EmailMessage) -> None:
        body = email.get_body(("plain",))
        names = [part.get_filename() for part in email.iter_attachments()]
        log.info("E-mail (console, non envoyé) à %s : %s%s\n%s", email["To"], email["Subject"],
                 f" [pièces jointes : {', '.join(n or '?' for n in names)}]" if names else "",
                 body.get_content() if body is not None else "")

    def close(self) -> None:
        pass


class _SMTPTransport:
    """One connection for the batch, opened on the first message and again after any failure."""

    name = "smtp"

    def __init__(self, config):
        self.config = config
        self.client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        config = self.config
        host, port = config.get("MAIL_SERVER") or "localhost", int(config.get("MAIL_PORT") or 25)
        timeout = config.get("MAIL_TIMEOUT", 30)
        if config.get("MAIL_USE_SSL"):
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                client.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                client.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        except BaseException:
            client.close()
            raise
        return client

    def send(self, email: EmailMessage) -> None:
        if self.client is None:
            try:
                self.client = self._open()
            except Exception as exc:
                raise _ConnectError(exc) from exc
        try:
            self.client.send_message(email)
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def close(self) -> None:
        """QUIT politely; the messages are already accepted, so a failure here changes nothing."""
        if self.client is not None:
            try:
                self.client.quit()
            except Exception:
                pass
            self._drop()


def _transport():
    backend = current_app.config.get("MAIL_BACKEND") or "console"
    if backend == "console":
        return _ConsoleTransport()
    if backend == "smtp":
        return _SMTPTransport(current_app.config)
    raise _ConnectError(ValueError(f"MAIL_BACKEND inconnu : « {backend} » (attendu : console ou smtp)"))


def describe_error(exc: BaseException) -> str:
    """The error as the outbox page shows it."""
    if isinstance(exc, _ConnectError):
        original = exc.original
        config = current_app.config
        where = f"{config.get('MAIL_SERVER')}:{config.get('MAIL_PORT')}"
        if isinstance(original, ValueError):
            return f"Configuration : {original}"
        if isinstance(original, smtplib.SMTPAuthenticationError):
            return f"Authentification refusée par le serveur SMTP {where} : {describe_error(original)}"
        return f"Serveur SMTP {where} injoignable : {describe_error(original)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{addr} refusé ({code} {_decode(msg)})" for addr, (code, msg) in exc.recipients.items()]
        return "Destinataire refusé : " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} : SMTP {exc.smtp_code} {_decode(exc.smtp_error)}"
    if isinstance(exc, PermanentError):
        return str(exc)
    if isinstance(exc, socket.timeout):
        return "Délai dépassé en attendant le serveur SMTP"
    return f"{type(exc).__name__} : {exc}"


def _decode(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _is_permanent(exc: BaseException) -> bool:
    """Errors about this very message that no retry will change."""
    if isinstance(exc, (PermanentError, smtplib.SMTPNotSupportedError)):  # e.g. an address needing SMTPUTF8
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False


def _retry_delay(attempts: int, delays: tuple[int, ...] = RETRY_DELAYS) -> dt.timedelta:
    return dt.timedelta(seconds=delays[min(max(attempts, 1), len(delays)) - 1])


# --------------------------------------------------------------------------- sending


def _commit_outcome(model, row_id: int, **values) -> None:
    """Write an outcome, retrying the commit a few times if the database blinks (the message may already
    be out: losing its "sent" would mean sending it again)."""
    for attempt in range(3):
        try:
            db.session.execute(update(model).where(model.id == row_id).values(**values)
                               .execution_options(synchronize_session=False))
            db.session.commit()
            return
        except SQLAlchemyError:
            db.session.rollback()
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def _claim_message(message: OutboxMessage, now: dt.datetime) -> bool:
    """Count the attempt and push the next one back, committed before the SMTP dialogue; False if another
    worker took the message first."""
    attempts = message.attempts + 1
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.PENDING.value,
               OutboxMessage.attempts == message.attempts, OutboxMessage.next_attempt_at <= now)
        .values(attempts=attempts, next_attempt_at=now + _retry_delay(attempts),
                message_id=message.message_id or _new_message_id(),
                last_error=INTERRUPTED_NOTE.format(n=attempts))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def send_due_messages(now: dt.datetime | None = None, limit: int = BATCH_SIZE, *,
                      stop: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Send the pending messages that are due, oldest due first. Each attempt is committed on its own, so a
    failure or a crash never loses a message; a failed attempt is retried later with back-off. When the
    server cannot be reached the batch stops (the other messages keep their turn). ``stop`` is asked
    before each message (the worker's Ctrl-C). Returns (sent, failed attempts)."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == MessageStatus.PENDING.value, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    ))
    if not ids:
        return 0, 0
    return _deliver(ids, now, stop)


def send_now(message_id: int) -> bool:
    """Try to send one committed message at once (a one-time code cannot wait for the worker's next pass).
    On failure it stays in the outbox and the worker retries it as usual. Returns whether it left."""
    return _deliver([message_id], utcnow(), None)[0] == 1


def send_messages_now(ids: list[int]) -> tuple[int, int]:
    """Send these pending messages at once, even those waiting for their next retry (a staff member asked for it
    from a page); failed or sent ones are left alone. Each attempt is committed. Returns (sent, failed attempts)."""
    if not ids:
        return 0, 0
    now = utcnow()
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                   OutboxMessage.status == MessageStatus.PENDING.value,
                                                   OutboxMessage.next_attempt_at > now)
                       .values(next_attempt_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    return _deliver(sorted(ids), now, None)


def _deliver(ids: list[int], now: dt.datetime, stop: Callable[[], bool] | None) -> tuple[int, int]:
    sent = failed = 0
    transport = None
    try:
        for message_id in ids:
            if stop is not None and stop():
                break
            message = db.session.get(OutboxMessage, message_id, populate_existing=True)
            if message is None or message.status != MessageStatus.PENDING.value or message.next_attempt_at > now:
                continue
            if not _claim_message(message, now):
                continue
            message = db.session.get(OutboxMessage, message_id)  # reloaded after the claim's commit
            attempts, recipient = message.attempts, message.recipient
            try:
                email = build_email(message)
                if transport is None:
                    transport = _transport()
                transport.send(email)
            except Exception as exc:
                error = describe_error(exc)[:2000]
                permanent = _is_permanent(exc)
                final = permanent or attempts >= MAX_ATTEMPTS
                values = {"last_error": error}
                if final:
                    values["status"] = MessageStatus.FAILED.value
                else:
                    values["next_attempt_at"] = now + _retry_delay(attempts)
                db.session.rollback()
                _commit_outcome(OutboxMessage, message_id, **values)
                failed += 1
                (log.error if final else log.warning)(
                    "Envoi du message %s à %s %s (tentative %s) : %s", message_id, recipient,
                    "abandonné" if final else "impossible, nouvel essai plus tard", attempts, error)
                if isinstance(exc, _ConnectError):
                    break
            else:
                _commit_outcome(OutboxMessage, message_id, status=MessageStatus.SENT.value, sent_at=utcnow(),
                                last_error="", transport=transport.name)
                sent += 1
                _announce_sent(message_id)
    finally:
        if transport is not None:
            transport.close()
    return sent, failed


def _announce_sent(message_id: int) -> None:
    """Let other capabilities record the evidence of a sent message (e.g. the convocation's date). Their
    work has its own transaction: the message stays sent whatever happens to it."""
    message = db.session.get(OutboxMessage, message_id)
    try:
        message_sent.send(message)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("Le suivi de l'envoi du message %s n'a pas pu être enregistré", message_id)


def retry_message(message: OutboxMessage, now: dt.datetime | None = None) -> None:
    """Put a failed (or waiting) message back in the queue, due now (from the outbox page). A failed one
    gets a new series of retries; its last error stays shown until the next attempt. One that was only written
    to the console leaves for real once a mail server is configured."""
    if message.status == MessageStatus.SENT.value and not delivery.can_send_for_real(message):
        raise ConflictError(f"Ce message a déjà été {delivery.sent_word('m', message.transport)} le "
                            f"{datetime_fr(message.sent_at)} : il n'est pas renvoyé.")
    if message.status == MessageStatus.SENT.value:  # written to the console only, and a mail server is now configured
        message.sent_at = None
        message.transport = ""
        message.attempts = 0
    if message.status == MessageStatus.FAILED.value:
        message.attempts = 0
    message.status = MessageStatus.PENDING.value
    message.next_attempt_at = now or utcnow()


# --------------------------------------------------------------------------- jobs


class Postpone(Exception):  # noqa: N818 - a signal to the runner, not an error
    """Raised by a job handler that cannot do its work yet: the job waits until ``until``, no attempt counted."""

    def __init__(self, until: dt.datetime, reason: str = ""):
        super().__init__(reason)
        self.until = until
        self.reason = reason


def _run_job(job_id: int, now: dt.datetime) -> str | None:
    """Run one job in its own transaction: "done", "failed", or None when it was not ours to run."""
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None or job.status != JobStatus.PENDING.value or job.due_at > now:
        db.session.rollback()
        return None
    seen, kind, key, payload = job.attempts, job.kind, job.key, dict(job.payload or {})
    # The claim and the handler's work share one transaction: the row stays locked (PostgreSQL) or the
    # database is (SQLite) until the commit, and another runner's claim then finds it done.
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.PENDING.value, Job.attempts == seen, Job.due_at <= now)
        .values(attempts=seen + 1).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not claimed:
        db.session.rollback()
        return None
    try:
        handler = _JOB_HANDLERS.get(kind)
        if handler is None:
            raise LookupError(f"aucune fonction ne traite les tâches « {kind} »")
        with db.session.begin_nested():  # the handler's work, undone alone when it puts the job off
            handler(payload)
        db.session.execute(update(Job).where(Job.id == job_id)
                           .values(status=JobStatus.DONE.value, done_at=utcnow(), last_error="")
                           .execution_options(synchronize_session=False))
        db.session.commit()
    except Postpone as later:
        # Still inside the claim's transaction: the attempt is given back and the job put off with no moment in
        # between where the claim is released. Otherwise a reschedule committed in that moment (the session's
        # confirmation bringing its convocations forward) would be overwritten by this "tomorrow".
        db.session.execute(update(Job).where(Job.id == job_id)
                           .values(attempts=seen, due_at=later.until, last_error=later.reason[:2000])
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return None
    except Exception as exc:  # a job's failure must not stop the others
        db.session.rollback()
        log.exception("La tâche %s (%s, %s) a échoué (tentative %s)", job_id, kind, key, seen + 1)
        attempts = seen + 1
        values = {"attempts": attempts, "last_error": f"{type(exc).__name__} : {exc}"[:2000]}
        if attempts >= MAX_JOB_ATTEMPTS:
            values["status"] = JobStatus.FAILED.value
        else:
            values["due_at"] = now + _retry_delay(attempts, JOB_RETRY_DELAYS)
        result = db.session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING.value, Job.attempts == seen)
            .values(**values).execution_options(synchronize_session=False))
        db.session.commit()
        return "failed" if result.rowcount == 1 else None
    return "done"


def run_due_jobs(now: dt.datetime | None = None, limit: int = BATCH_SIZE, *,
                 stop: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Run the jobs that are due, each in its own transaction. Returns (done, failed)."""
    now = now or utcnow()
    done = failed = 0
    ids = list(db.session.scalars(
        select(Job.id).where(Job.status == JobStatus.PENDING.value, Job.due_at <= now)
        .order_by(Job.due_at, Job.id).limit(limit)
    ))
    db.session.rollback()  # end the read transaction: each job starts afresh
    for job_id in ids:
        if stop is not None and stop():
            break
        outcome = _run_job(job_id, now)
        done += outcome == "done"
        failed += outcome == "failed"
    return done, failed


def run_jobs_now(ids: list[int]) -> tuple[int, int]:
    """Run these due jobs at once rather than at the worker's next pass, each in its own transaction (as the worker
    does: a job another runner took first is skipped). Returns (done, failed)."""
    now = utcnow()
    db.session.rollback()
    outcomes = [_run_job(job_id, now) for job_id in sorted(ids)]
    return outcomes.count("done"), outcomes.count("failed")


def jobs_by_key(keys: list[str]) -> dict[str, Job]:
    """The jobs of these keys (one query), for a page that shows where they stand."""
    if not keys:
        return {}
    return {job.key: job for job in db.session.scalars(select(Job).where(Job.key.in_(keys)))}


def messages_about(enrolment_ids: list[int], topic: str) -> list[OutboxMessage]:
    """The messages of ``topic`` about these enrolments, oldest first (one query)."""
    if not enrolment_ids:
        return []
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id.in_(enrolment_ids),
                                                               OutboxMessage.topic == topic)
                                   .order_by(OutboxMessage.created_at, OutboxMessage.id)))


def retry_job(job: Job, now: dt.datetime | None = None) -> None:
    """Run a failed job, or a pending one that already failed and waits for its next retry, at the next pass
    (a failed one gets a new series of retries). A job still waiting for its first run is not brought
    forward: that would send a J−7 convocation weeks early."""
    if job.status == JobStatus.PENDING.value and job.attempts == 0:
        raise ConflictError(f"Cette tâche est programmée pour le {datetime_fr(job.due_at)} : elle s'exécutera "
                            "à cette date, il n'y a rien à relancer.")
    if job.status == JobStatus.DONE.value:
        raise ConflictError(f"Cette tâche a déjà été exécutée le {datetime_fr(job.done_at)} : "
                            "elle n'est pas relancée.")
    if job.status == JobStatus.CANCELLED.value:
        raise ConflictError("Cette tâche a été annulée (par exemple avec l'inscription qui l'avait "
                            "programmée) : elle n'est pas relancée.")
    if job.status == JobStatus.FAILED.value:
        job.attempts = 0
    job.status = JobStatus.PENDING.value
    job.due_at = now or utcnow()


def tick(now: dt.datetime | None = None, *, stop: Callable[[], bool] | None = None) -> dict:
    """One pass of the worker: due jobs first (they may queue e-mails), then the outbox. A crash of one
    part (the database gone, say) is logged and reported in ``errors``; the other part still runs."""
    result = {"jobs_done": 0, "jobs_failed": 0, "sent": 0, "send_failed": 0, "errors": []}
    for task in _PERIODIC_TASKS:
        if stop is not None and stop():
            break
        try:
            task(now or utcnow())
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.exception("Passage du worker interrompu (%s)", task.__name__)
            result["errors"].append(f"{task.__name__} : {type(exc).__name__} : {exc}")
    for name, run, keys in (("tâches", run_due_jobs, ("jobs_done", "jobs_failed")),
                            ("envois", send_due_messages, ("sent", "send_failed"))):
        if stop is not None and stop():
            break
        try:
            counts = run(now, stop=stop)
        except Exception as exc:
            db.session.rollback()
            log.exception("Passage du worker interrompu (%s)", name)
            result["errors"].append(f"{name} : {type(exc).__name__} : {exc}")
        else:
            result.update(zip(keys, counts))
    return result


# --------------------------------------------------------------------------- reading (outbox page)


def list_messages(status: str | None = None, search: str = "", page: int = 1, per_page: int = 50
                  ) -> tuple[list[OutboxMessage], int]:
    """Messages newest first, with the total for the pager."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if search:
        query = query.where(OutboxMessage.recipient.icontains(search, autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def message_counts() -> dict[str, int]:
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: counts.get(status, 0) for status in MESSAGE_STATUSES}


def list_jobs(statuses: tuple[str, ...] = UNSETTLED_JOBS, limit: int = 500) -> list[Job]:
    """Failed jobs first, then by due date."""
    failed_first = (Job.status != JobStatus.FAILED.value)
    return list(db.session.scalars(select(Job).where(Job.status.in_(statuses))
                                   .order_by(failed_first, Job.due_at, Job.id).limit(limit)))


def job_counts() -> dict[str, int]:
    counts = dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    return {status: counts.get(status, 0) for status in JOB_STATUSES}
