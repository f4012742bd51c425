"""Where a session's convocations stand, told on the session and enrolment pages and when the session is confirmed,
and sending the waiting ones at once.

A convocation is a job (``convocation:<enrolment id>``, due at the confirmation or at J−7) that queues one e-mail
per recipient in the outbox; the worker runs the job, then sends the e-mails, within 30 seconds of their due time.
The staff member can do both at once from the session page instead of waiting for the worker.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from ..accounts.models import User
from ..core.errors import ConflictError
from ..core.formatting import count_fr, datetime_fr
from ..core.timeutil import utcnow
from ..extensions import db
from ..messaging import delivery, tasks
from ..messaging import services as messaging
from ..messaging.models import JobStatus, MessageStatus
from ..sessions import services as session_services
from ..sessions.models import TrainingSession
from . import mails
from .models import Enrolment
from .services import session_enrolments

TOPIC = "convocation"


@dataclass
class ConvocationState:
    """One trainee's convocation. ``code``: scheduled, held, waiting, sent, console, failed or none."""

    enrolment: Enrolment
    code: str
    label: str
    note: str = ""
    when: dt.datetime | None = None  # when a scheduled one leaves
    job_id: int | None = None  # a due job the "send now" button runs
    message_ids: tuple[int, ...] = ()  # pending e-mails the button sends

    @property
    def is_waiting(self) -> bool:
        return self.code == "waiting"


def _job_key(enrolment: Enrolment) -> str:
    return f"convocation:{enrolment.id}"


def _from_messages(enrolment: Enrolment, messages: list) -> ConvocationState | None:
    pending = tuple(m.id for m in messages if m.status == MessageStatus.PENDING.value)
    if pending:
        where = "dans la console" if delivery.mail_is_off() else "par e-mail"
        return ConvocationState(enrolment, "waiting", f"En file d'envoi : part {where} dans les 30 secondes",
                                message_ids=pending)
    failed = [m for m in messages if m.status == MessageStatus.FAILED.value]
    own = [m for m in messages if m.status == MessageStatus.SENT.value and m.recipient == enrolment.trainee.email]
    if failed and (not own or failed[-1].created_at >= own[-1].created_at):
        return ConvocationState(enrolment, "failed", "Échec de l'envoi", note=failed[-1].last_error[:200])
    if own:
        state = delivery.delivery(own[-1])
        if state.code == "console":
            return ConvocationState(enrolment, "console", f"Écrite dans la console le {datetime_fr(own[-1].sent_at)} "
                                    "(non envoyée)")
        return ConvocationState(enrolment, "sent", f"Envoyée le {datetime_fr(own[-1].sent_at)}")
    return None


def _from_job(enrolment: Enrolment, job, now: dt.datetime) -> ConvocationState | None:
    if job is None or job.status in (JobStatus.DONE.value, JobStatus.CANCELLED.value):
        return None
    if job.status == JobStatus.FAILED.value:
        return ConvocationState(enrolment, "failed", "Échec de la préparation", note=job.last_error[:200])
    held = mails.convocation_held_by(enrolment)
    if held:
        return ConvocationState(enrolment, "held", held.rstrip("."))
    if job.due_at > now:
        return ConvocationState(enrolment, "scheduled", f"Programmée le {datetime_fr(job.due_at)}", when=job.due_at)
    where = "dans la console" if delivery.mail_is_off() else "par e-mail"
    return ConvocationState(enrolment, "waiting", f"En file d'envoi : part {where} dans les 30 secondes",
                            job_id=job.id)


def convocation_states(enrolments: list[Enrolment], now: dt.datetime | None = None) -> list[ConvocationState]:
    """The convocation of each admitted enrolment, in the order given (two queries, whatever their number). A job
    still to run wins over older e-mails: a trainee confirmed again gets a new convocation."""
    now = now or utcnow()
    followed = [e for e in enrolments if e.is_expected]
    jobs = messaging.jobs_by_key([_job_key(e) for e in followed])
    by_enrolment: dict[int, list] = {}
    for message in messaging.messages_about([e.id for e in followed], TOPIC):
        by_enrolment.setdefault(message.enrolment_id, []).append(message)
    states = []
    for enrolment in followed:
        messages = by_enrolment.get(enrolment.id, [])
        job = jobs.get(_job_key(enrolment))
        pending_job = job is not None and job.status == JobStatus.PENDING.value
        state = ((_from_job(enrolment, job, now) if pending_job else None) or _from_messages(enrolment, messages)
                 or _from_job(enrolment, job, now))
        if state is None and enrolment.convocation_sent_at is not None:  # its e-mail gone with the retention
            state = ConvocationState(enrolment, "sent", f"Envoyée le {datetime_fr(enrolment.convocation_sent_at)}")
        states.append(state or ConvocationState(enrolment, "none", "Pas de convocation prévue"))
    return states


def session_convocations(session: TrainingSession) -> list[ConvocationState]:
    return convocation_states(session_enrolments(session))


def confirmation_notice(session: TrainingSession) -> str:
    """What the session's confirmation set going, for the flash message (French)."""
    states = session_convocations(session)
    if not states:
        return "Aucune convocation à envoyer : aucun stagiaire n'est confirmé."
    counts = Counter(state.code for state in states)
    parts = []
    if counts["waiting"]:
        if delivery.mail_is_off():
            parts.append(f"{count_fr(counts['waiting'], 'convocation')} en file : le worker les écrira dans sa "
                         "console dans les 30 secondes, sans les envoyer (MAIL_BACKEND=console, aucun e-mail ne part)")
        else:
            parts.append(f"{count_fr(counts['waiting'], 'convocation')} en file d'envoi : le worker les envoie "
                         "dans les 30 secondes")
    if counts["scheduled"]:
        first = min(s.when for s in states if s.code == "scheduled")
        parts.append(f"{count_fr(counts['scheduled'], 'programmée')} pour J−7 (à partir du {datetime_fr(first)})")
    if counts["held"]:
        parts.append(f"{counts['held']} en attente de la décision sur les prérequis")
    if counts["sent"] or counts["console"]:
        parts.append(count_fr(counts["sent"] + counts["console"], "déjà partie", "déjà parties"))
    if counts["failed"]:
        parts.append(f"{counts['failed']} en échec (voir la page Envois)")
    return "Convocations : " + " ; ".join(parts) + "." if parts else ""


@dataclass
class SendOutcome:
    prepared: int  # convocation jobs run
    sent: int  # e-mails that left (or were written to the console)
    failed: int  # e-mails that failed this time (retried later by the worker)

    def message(self) -> str:
        """The outcome for the flash message (French)."""
        text = (f"Convocations : {count_fr(self.sent, 'e-mail', zero='aucun e-mail')} "
                f"{delivery.sent_word('mp' if self.sent > 1 else 'm')}")
        if delivery.mail_is_off():
            text += " (aucun e-mail n'est parti : MAIL_BACKEND=console)"
        if self.failed:
            text += (f", {self.failed} en échec : le worker réessaie plus tard, le détail est sur la page "
                     "Envois")
        return text + "."


def waiting_convocations(session: TrainingSession, actor: User | None,
                         enrolment_id: int | None = None) -> list[ConvocationState]:
    """The session's convocations waiting for the worker (or only ``enrolment_id``'s); ConflictError when none
    waits, so that a page answers at once rather than starting a task with nothing to do."""
    session_services.ensure_can_manage_sessions(actor)
    states = [s for s in session_convocations(session) if s.is_waiting
              and (enrolment_id is None or s.enrolment.id == enrolment_id)]
    if not states:
        raise ConflictError("Aucune convocation n'attend d'être envoyée : elles sont parties, programmées pour J−7 "
                            "ou en attente d'une décision.")
    return states


def _send_one(state: ConvocationState, send: bool) -> SendOutcome:
    """Run one waiting convocation's job (its documents and e-mails), then send its pending e-mails (``send``;
    else they wait for the worker)."""
    enrolment_id, done = state.enrolment.id, 0
    if state.job_id is not None:
        done, _ = messaging.run_jobs_now([state.job_id])
    if not send:
        return SendOutcome(done, 0, 0)
    pending = [m.id for m in messaging.messages_about([enrolment_id], TOPIC) if m.status == MessageStatus.PENDING.value]
    sent, failed = messaging.send_messages_now(pending)
    return SendOutcome(done, sent, failed)


def send_waiting(session: TrainingSession, actor: User | None, enrolment_id: int | None = None) -> SendOutcome:
    """Prepare and send now the session's convocations that are due (or only ``enrolment_id``'s): their jobs run,
    their e-mails leave without waiting for the worker. Those held (prerequisite decision pending) or scheduled for
    J−7 keep their date. Each step is committed on its own, as the worker commits it."""
    states = waiting_convocations(session, actor, enrolment_id)
    enrolment_ids = [s.enrolment.id for s in states]
    done, _ = messaging.run_jobs_now([s.job_id for s in states if s.job_id is not None])
    pending = [m.id for m in messaging.messages_about(enrolment_ids, TOPIC) if m.status == MessageStatus.PENDING.value]
    sent, failed = messaging.send_messages_now(pending)
    return SendOutcome(done, sent, failed)


# --------------------------------------------------------------------------- the whole session, as a task

TASK_KIND = "convocations"


def start_sending(session: TrainingSession, actor: User, back_url: str = ""):
    """Start the task that sends the session's waiting convocations, one trainee at a time (each convocation
    renders its documents and queues its e-mails); ConflictError at once when none waits. The caller commits."""
    states = waiting_convocations(session, actor)
    return tasks.start_task(TASK_KIND, f"Convocations de la session {session.label}",
                            {"session_id": session.id, "enrolment_ids": [s.enrolment.id for s in states]}, actor,
                            unit="convocations", back_url=back_url)


@tasks.task_runner(TASK_KIND)
def run_sending(task, progress) -> None:
    """Send the convocations that waited when the task was asked for and still wait; the last step says the
    outcome (« Convocations : 8 e-mails écrits dans la console… »)."""
    session = db.session.get(TrainingSession, task.payload["session_id"])
    if session is None:
        raise tasks.TaskFailed("La session n'existe plus : aucune convocation n'est envoyée.")
    wanted = list(task.payload.get("enrolment_ids") or [])
    progress.begin(len(wanted), "Préparation des convocations")
    states = {s.enrolment.id: s for s in session_convocations(session) if s.is_waiting}
    names = {s.enrolment.id: s.enrolment.trainee.full_name for s in states.values()}
    total = SendOutcome(0, 0, 0)
    for enrolment_id in wanted:
        state = states.get(enrolment_id)
        if state is None:  # sent by the worker or another click meanwhile, or no longer admitted
            progress.advance("Convocation déjà partie ou plus en attente")
            continue
        outcome = _send_one(state, send=not total.failed)  # after a failure (server unreachable…), the worker retries
        total = SendOutcome(total.prepared + outcome.prepared, total.sent + outcome.sent,
                            total.failed + outcome.failed)
        progress.advance(f"Convocation de {names[enrolment_id]}")
    progress.conclude(total.message())
