"""Where a session's convocations stand, told on the session and enrolment pages and when the session is confirmed,
and sending the planned ones at once.

A convocation is the message of the default automation rules « convocation » (the trainee) and
« convocation_company » (the company's copy), J−7 at 09:00 (automations/triggers/sessions.py). Each trainee's
state is read, in this order, from: the ledger and the outbox (sent, written to the console, failed, waiting to
leave), the rule switched off (everywhere or for this session), what holds it back (the session not confirmed,
the prerequisite decision pending: mails.convocation_held_by), and the engine's plan (when it will leave). The
staff member's « Envoyer maintenant » fires the planned ones now (automations.engine.fire_now: the ledger keeps
each message once) and sends them without waiting for the worker.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from ..accounts.models import User
from ..automations import engine, registry
from ..automations import services as automation_services
from ..automations.models import AutomationFiring, AutomationRule
from ..core.errors import ConflictError
from ..core.formatting import count_fr, datetime_fr
from ..core.timeutil import UTC, utcnow
from ..extensions import db
from ..messaging import delivery, tasks
from ..messaging import services as messaging
from ..messaging.models import MessageStatus, OutboxMessage
from ..sessions import services as session_services
from ..sessions.models import SessionStatus, TrainingSession
from . import mails
from .models import Enrolment
from .services import session_enrolments

TOPIC = "convocation"  # the outbox topic of the convocation rules (and of the old convocation job's e-mails)
TRAINEE = "trainee"
# The session statuses in which the convocation rules send (automations/triggers/sessions.SENDING).
SENDING = (SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value)


@dataclass
class ConvocationState:
    """One trainee's convocation. ``code``: scheduled, waiting, held, off, sent, console, failed or none."""

    enrolment: Enrolment
    code: str
    label: str
    note: str = ""
    when: dt.datetime | None = None  # when a planned one leaves (UTC)

    @property
    def can_send(self) -> bool:
        """Whether « Envoyer maintenant » sends it: planned (due or later), or queued and not yet gone."""
        return self.code in ("scheduled", "waiting")


def convocation_rules() -> list[AutomationRule]:
    """The rules whose messages are convocations: the default ones of the topic « convocation », by id."""
    codes = [code for code, rule in registry.DEFAULT_RULES.items() if registry.default_topic(rule) == TOPIC]
    engine.ensure_defaults()
    return list(db.session.scalars(select(AutomationRule).where(AutomationRule.code.in_(codes))
                                   .order_by(AutomationRule.id)))


# --------------------------------------------------------------------------- reading the state


def _waiting_label() -> str:
    where = "dans la console" if delivery.mail_is_off() else "par e-mail"
    return f"En file d'envoi : part {where} dans les 30 secondes"


def _from_messages(enrolment: Enrolment, messages: list[OutboxMessage]) -> ConvocationState | None:
    """The state told by the convocations queued about the trainee (their own and their company's copy)."""
    if any(m.status == MessageStatus.PENDING.value for m in messages):
        return ConvocationState(enrolment, "waiting", _waiting_label())
    failed = [m for m in messages if m.status == MessageStatus.FAILED.value]
    own = [m for m in messages if m.status == MessageStatus.SENT.value and m.recipient == enrolment.trainee.email]
    if failed and (not own or failed[-1].created_at >= own[-1].created_at):
        return ConvocationState(enrolment, "failed", "Échec de l'envoi", note=failed[-1].last_error[:200])
    if own:
        if delivery.delivery(own[-1]).code == "console":
            return ConvocationState(enrolment, "console", f"Écrite dans la console le {datetime_fr(own[-1].sent_at)} "
                                    "(non envoyée)")
        return ConvocationState(enrolment, "sent", f"Envoyée le {datetime_fr(own[-1].sent_at)}")
    return None


def _ledger(enrolments: list[Enrolment], rule_ids: list[int]) -> tuple[dict[int, list], set[tuple[int, str]]]:
    """The convocations fired for these trainees' sessions (one query): their messages by enrolment, oldest
    first, and the (session, recipient) pairs fired (a message gone with the retention still counts)."""
    session_ids = sorted({e.session_id for e in enrolments})
    if not session_ids or not rule_ids:
        return {}, set()
    rows = db.session.execute(select(AutomationFiring.session_id, AutomationFiring.recipient, OutboxMessage)
                              .outerjoin(OutboxMessage, OutboxMessage.id == AutomationFiring.message_id)
                              .where(AutomationFiring.rule_id.in_(rule_ids),
                                     AutomationFiring.session_id.in_(session_ids))
                              .order_by(AutomationFiring.id))
    messages: dict[int, list] = {}
    fired: set[tuple[int, str]] = set()
    for session_id, recipient, message in rows:
        fired.add((session_id, recipient))
        if message is not None and message.enrolment_id is not None:
            messages.setdefault(message.enrolment_id, []).append(message)
    for found in messages.values():
        found.sort(key=lambda m: (m.created_at, m.id))
    return messages, fired


def _switched_off(session: TrainingSession, rules: list[AutomationRule]) -> str:
    """Why the trainees' convocation rule sends nothing for this session (French), or ""."""
    trainee_rules = [r for r in rules if r.audience == TRAINEE]
    if not trainee_rules:
        return "Convocations automatiques désactivées : aucune règle de convocation"
    if not any(r.active for r in trainee_rules):
        return "Convocations automatiques désactivées pour toutes les sessions"
    off = {rule.id for rule, is_off in automation_services.rules_for_session(session.id) if is_off}
    if all(r.id in off or not r.active for r in trainee_rules):
        return "Convocations automatiques désactivées pour cette session"
    return ""


def _first_start(session: TrainingSession) -> dt.datetime | None:
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    return slots[0].starts_at.astimezone(UTC) if slots else None


def _planned(session: TrainingSession, rules: list[AutomationRule], now: dt.datetime) -> dict[int, engine.Planned]:
    """The trainees' convocations the engine plans for the session, by enrolment (from now to its start)."""
    start = _first_start(session)
    if start is None or start <= now or session.status not in SENDING:
        return {}
    found: dict[int, engine.Planned] = {}
    for rule in rules:
        if rule.audience == TRAINEE and rule.active:
            for planned in engine.plan(now, start, session_id=session.id, rule=rule):
                found.setdefault(planned.recipient.enrolment_id, planned)
    return found


def _from_plan(enrolment: Enrolment, planned: engine.Planned | None, now: dt.datetime) -> ConvocationState | None:
    if planned is None:
        return None
    if planned.error:
        return ConvocationState(enrolment, "failed", "Échec de la préparation", note=planned.error[:200])
    if planned.when <= now:
        return ConvocationState(enrolment, "waiting", _waiting_label(), when=planned.when)
    return ConvocationState(enrolment, "scheduled", f"Prévue le {datetime_fr(planned.when)}", when=planned.when)


def _session_states(session: TrainingSession, enrolments: list[Enrolment], rules: list[AutomationRule],
                    ledger: tuple[dict[int, list], set], now: dt.datetime) -> list[ConvocationState]:
    messages, fired = ledger
    states: dict[int, ConvocationState] = {}
    for enrolment in enrolments:
        state = _from_messages(enrolment, messages.get(enrolment.id, []))
        sent_at = enrolment.convocation_sent_at
        if state is None and (sent_at is not None or (session.id, engine.ledger_recipient(enrolment.trainee.email))
                              in fired):  # its e-mail gone with the retention
            state = ConvocationState(enrolment, "sent", f"Envoyée le {datetime_fr(sent_at)}" if sent_at
                                     else "Déjà envoyée")
        if state is not None:
            states[enrolment.id] = state
    rest = [e for e in enrolments if e.id not in states]
    off = _switched_off(session, rules) if rest else ""
    for enrolment in rest:
        held = mails.convocation_held_by(enrolment)
        if off or held:
            states[enrolment.id] = ConvocationState(enrolment, "off" if off else "held", off or held.rstrip("."))
    rest = [e for e in rest if e.id not in states]
    planned = _planned(session, rules, now) if rest else {}
    for enrolment in rest:
        states[enrolment.id] = (_from_plan(enrolment, planned.get(enrolment.id), now)
                                or ConvocationState(enrolment, "none", "Pas de convocation prévue"))
    return [states[e.id] for e in enrolments]


def convocation_states(enrolments: list[Enrolment], now: dt.datetime | None = None) -> list[ConvocationState]:
    """The convocation of each admitted enrolment, in the order given. The ledger and the outbox are read in one
    query whatever the number of trainees; the engine's plan is asked only for the trainees neither convoked,
    held, nor switched off, once per session."""
    now = now or utcnow()
    followed = [e for e in enrolments if e.is_expected]
    if not followed:
        return []
    rules = convocation_rules()
    ledger = _ledger(followed, [r.id for r in rules])
    by_session: dict[int, list[Enrolment]] = {}
    for enrolment in followed:
        by_session.setdefault(enrolment.session_id, []).append(enrolment)
    states = {}
    for group in by_session.values():
        for state in _session_states(group[0].session, group, rules, ledger, now):
            states[state.enrolment.id] = state
    return [states[e.id] for e in followed]


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
        parts.append(f"{count_fr(counts['scheduled'], 'prévue')} à partir du {datetime_fr(first)}")
    if counts["held"]:
        parts.append(f"{counts['held']} en attente de la décision sur les prérequis")
    if counts["off"]:
        parts.append(f"{counts['off']} sans envoi automatique (règle désactivée)")
    if counts["sent"] or counts["console"]:
        parts.append(count_fr(counts["sent"] + counts["console"], "déjà partie", "déjà parties"))
    if counts["failed"]:
        parts.append(f"{counts['failed']} en échec (voir la page Envois)")
    return "Convocations : " + " ; ".join(parts) + "." if parts else ""


# --------------------------------------------------------------------------- sending now


@dataclass
class SendOutcome:
    prepared: int  # convocations queued by the rules now
    sent: int  # e-mails that left (or were written to the console)
    failed: int  # e-mails that failed this time (retried later by the worker)

    def message(self) -> str:
        """The outcome for the flash message or the task's summary (French)."""
        text = (f"Convocations : {count_fr(self.sent, 'e-mail', zero='aucun e-mail')} "
                f"{delivery.sent_word('mp' if self.sent > 1 else 'm')}")
        if delivery.mail_is_off():
            text += " (aucun e-mail n'est parti : MAIL_BACKEND=console)"
        if self.failed:
            text += (f", {self.failed} en échec : le worker réessaie plus tard, le détail est sur la page "
                     "Envois")
        return text + "."


def sendable(session: TrainingSession, actor: User | None) -> list[ConvocationState]:
    """The session's convocations « Envoyer maintenant » sends (planned, or queued and not gone); ConflictError
    when there is none, so that the page answers at once rather than starting a task with nothing to do."""
    session_services.ensure_can_manage_sessions(actor)
    states = [s for s in session_convocations(session) if s.can_send]
    if not states:
        raise ConflictError("Aucune convocation à envoyer maintenant : elles sont parties, en attente d'une "
                            "décision ou de la confirmation de la session, ou l'envoi automatique est désactivé.")
    return states


def send_now(session: TrainingSession, now: dt.datetime | None = None) -> SendOutcome:
    """Fire the session's planned convocations now (the rules' ledger claims each once: a second click, or the
    worker at J−7, sends nothing more), commit, then send the convocations waiting in the outbox at once. Commits."""
    prepared = engine.fire_now(now or utcnow(), session_id=session.id, rules=convocation_rules())
    db.session.commit()
    ids = [e.id for e in session_enrolments(session)]
    pending = [m.id for m in messaging.messages_about(ids, TOPIC) if m.status == MessageStatus.PENDING.value]
    sent, failed = messaging.send_messages_now(pending)
    return SendOutcome(prepared, sent, failed)


# --------------------------------------------------------------------------- the whole session, as a task

TASK_KIND = "convocations"


def start_sending(session: TrainingSession, actor: User, back_url: str = ""):
    """Start the task that sends the session's convocations now (their documents are made on the way: a task, not
    the request); ConflictError at once when there is none to send. The caller commits."""
    states = sendable(session, actor)
    return tasks.start_task(TASK_KIND, f"Convocations de la session {session.label}",
                            {"session_id": session.id, "enrolment_ids": [s.enrolment.id for s in states]}, actor,
                            unit="étapes", back_url=back_url)


@tasks.task_runner(TASK_KIND)
def run_sending(task, progress) -> None:
    """Prepare (the rules fire now), then send; the last step says the outcome (« Convocations : 2 e-mails
    écrits dans la console… »)."""
    session = db.session.get(TrainingSession, task.payload["session_id"])
    if session is None:
        raise tasks.TaskFailed("La session n'existe plus : aucune convocation n'est envoyée.")
    progress.begin(2, "Préparation des convocations")
    outcome = send_now(session)
    progress.advance(f"{count_fr(outcome.prepared, 'convocation préparée', 'convocations préparées')}", by=2)
    progress.conclude(outcome.message())
