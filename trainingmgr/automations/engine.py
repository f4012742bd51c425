"""Planning and firing the automation rules. ``plan`` lists the messages the active rules will send between two
moments (the dry run shows it); ``fire_due``, at each pass of the worker, sends those due now through the very
same ``plan``, claiming each in the ledger first (models.AutomationFiring: one row per rule, recipient, object
and occasion, under a unique key) so that a message leaves once, whatever happens to the rule afterwards (an
edited offset, template or audience, a switch off and on), and when two workers run at once."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.persistence import insert_or_find
from ..extensions import db
from ..messaging.bodies import html_body
from ..messaging.services import TOPIC_LABELS, periodic_task, queue_email
from ..organisation.models import Organisation
from . import registry, triggers  # noqa: F401 - importing triggers registers every domain's automations
from .models import AutomationFiring, AutomationRule, MailTemplate, MailTemplateVersion, RuleSessionOff
from .rendering import RenderError, render

log = logging.getLogger(__name__)

LATE_LIMIT = dt.timedelta(days=3)  # an occurrence without expires_at is not sent later than due_at + LATE_LIMIT
LOOKBACK = dt.timedelta(days=30)  # plan() asks triggers for occurrences due since now − LOOKBACK
FIRE_NOW_HORIZON = dt.timedelta(days=3660)  # fire_now() sends what is planned up to ten years ahead
TOPIC = "automation"  # the outbox topic of the messages of rules made in the browser
TOPIC_LABELS.setdefault(TOPIC, "Automatisation")
_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
_KEY = ("rule_id", "recipient", "object_type", "object_id", "occasion")


@dataclass
class Planned:
    """One message a rule will send: to ``recipient`` about ``obj`` (the occurrence's object), at ``when`` (UTC:
    the occurrence's due time, or now if it is already due). ``error``: why it cannot be rendered (French); such a
    message is shown by the dry run and not sent."""

    rule: AutomationRule
    occurrence: registry.Occurrence
    recipient: registry.Recipient
    obj: Any
    when: dt.datetime
    subject: str
    text: str
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (label, filename)
    error: str = ""

    @property
    def key(self) -> tuple:
        """The ledger's key: (rule id, recipient, object type, object id, occasion)."""
        occurrence = self.occurrence
        return (self.rule.id, ledger_recipient(self.recipient.email), occurrence.object_type, occurrence.object_id,
                occurrence.occasion)


def ledger_recipient(email: str) -> str:
    """The recipient as the ledger keys it: a change of case or spaces in an address does not send again."""
    return (email or "").strip().lower()[:254]


def topic_of(rule: AutomationRule) -> str:
    """The outbox topic of a rule's messages: a default rule's own (the evidence hooks read it), else TOPIC."""
    default = registry.DEFAULT_RULES.get(rule.code) if rule.code else None
    return registry.default_topic(default) if default is not None else TOPIC


# --------------------------------------------------------------------------- the default set


def ensure_defaults() -> None:
    """Create the default templates (version 1) and rules that are missing, matched by code; idempotent, and safe
    when two transactions do it at once (the loser finds the winner's row)."""
    templates = {t.code: t for t in db.session.scalars(select(MailTemplate).where(MailTemplate.code.is_not(None)))}
    for code, default in registry.DEFAULT_TEMPLATES.items():
        if code not in templates:
            templates[code] = insert_or_find(
                MailTemplate(code=code, name=default.name, context=default.context, subject=default.subject,
                             body=default.body, version=1,
                             versions=[MailTemplateVersion(version=1, subject=default.subject, body=default.body)]),
                lambda code=code: db.session.scalar(select(MailTemplate).where(MailTemplate.code == code)))
    existing = set(db.session.scalars(select(AutomationRule.code).where(AutomationRule.code.is_not(None))))
    # On a database older than the automations, what fell due before them was sent by the old jobs.
    since = db.session.scalar(select(Organisation.automations_since).limit(1))
    for code, default in registry.DEFAULT_RULES.items():
        if code in existing or default.template not in templates:
            continue
        insert_or_find(
            AutomationRule(code=code, name=default.name, trigger=default.trigger, offset_days=default.offset_days,
                           send_time=default.send_time, audience=default.audience,
                           template_id=templates[default.template].id, attachments=list(default.attachments),
                           active=True, enabled_since=since),
            lambda code=code: db.session.scalar(select(AutomationRule).where(AutomationRule.code == code)))
    db.session.flush()


# --------------------------------------------------------------------------- planning


def plan(now: dt.datetime, until: dt.datetime, *, session_id: int | None = None,
         rule: AutomationRule | None = None) -> list[Planned]:
    """Every message the active rules (or ``rule`` alone) will send from ``now`` to ``until`` and have not sent,
    sorted by (when, rule id, recipient). Skipped: the sessions a rule is switched off for, occurrences due before
    the rule's ``enabled_since`` or expired by their ``when``, recipients without an e-mail address."""
    ensure_defaults()
    rules = [rule] if rule is not None else list(db.session.scalars(
        select(AutomationRule).where(AutomationRule.active.is_(True)).order_by(AutomationRule.id)))
    found: list[tuple[AutomationRule, registry.Occurrence]] = []
    for candidate in rules:
        found += _occurrences(candidate, now, until, session_id)
    fired = _fired_keys(found)
    planned: list[Planned] = []
    objects: dict[tuple, Any] = {}
    for candidate, occurrence in found:
        planned += _messages(candidate, occurrence, now, fired, objects)
    planned.sort(key=lambda p: (p.when, p.rule.id, ledger_recipient(p.recipient.email)))
    return planned


def _occurrences(rule: AutomationRule, now: dt.datetime, until: dt.datetime,
                 session_id: int | None) -> list[tuple[AutomationRule, registry.Occurrence]]:
    trigger = registry.TRIGGERS.get(rule.trigger)
    if trigger is None or not rule.active or rule.template.context not in registry.CONTEXTS:
        return []
    switched_off = set(db.session.scalars(select(RuleSessionOff.session_id).where(RuleSessionOff.rule_id == rule.id)))
    start = now - LOOKBACK
    if rule.enabled_since is not None:
        start = max(start, rule.enabled_since)
    kept = []
    try:
        with db.session.begin_nested():  # a failing query of one trigger leaves the transaction usable
            occurrences = list(trigger.find(rule, start, until))
    except Exception:  # one trigger's failure must not hide the other rules' messages
        log.exception("Règle d'automatisation %s : recherche des occasions impossible", rule.id)
        return []
    for occurrence in occurrences:
        if session_id is not None and occurrence.session_id != session_id:
            continue
        if occurrence.session_id is not None and occurrence.session_id in switched_off:
            continue
        if occurrence.due_at < start or occurrence.due_at > until:
            continue
        when = max(occurrence.due_at, now)
        if (occurrence.expires_at or occurrence.due_at + LATE_LIMIT) <= when:
            continue
        kept.append((rule, occurrence))
    return kept


def _fired_keys(found: list[tuple[AutomationRule, registry.Occurrence]]) -> set[tuple]:
    """The ledger's keys among the rules and objects of ``found`` (one query per 500 objects)."""
    rule_ids = sorted({rule.id for rule, _ in found})
    object_ids = sorted({occurrence.object_id for _, occurrence in found})
    keys: set[tuple] = set()
    for start in range(0, len(object_ids), 500):
        rows = db.session.execute(select(*(getattr(AutomationFiring, name) for name in _KEY)).where(
            AutomationFiring.rule_id.in_(rule_ids), AutomationFiring.object_id.in_(object_ids[start:start + 500])))
        keys.update(tuple(row) for row in rows)
    return keys


def _messages(rule: AutomationRule, occurrence: registry.Occurrence, now: dt.datetime, fired: set[tuple],
              objects: dict[tuple, Any]) -> list[Planned]:
    """The messages of one occurrence, one per recipient not in the ledger (nor already planned)."""
    context = registry.CONTEXTS[rule.template.context]
    ref = (context.code, occurrence.object_type, occurrence.object_id)
    if ref not in objects:
        objects[ref] = context.load(occurrence.object_type, occurrence.object_id)
    obj = objects[ref]
    if obj is None:
        return []
    planned = []
    for recipient in context.recipients(obj, rule.audience):
        if not (recipient.email or "").strip():
            continue
        message = Planned(rule, occurrence, recipient, obj, max(occurrence.due_at, now), "", "")
        if message.key in fired:
            continue
        fired.add(message.key)
        _prepare(message, context)
        planned.append(message)
    return planned


def _prepare(message: Planned, context: registry.Context) -> None:
    """Describe the message's attachments, then render it with them (the ``attachments`` variable: what the
    message carries, so that a template can list it); a failure becomes its ``error`` (French)."""
    template = message.rule.template
    described = _describe(message)
    try:
        values = dict(context.build(message.obj, message.recipient),
                      attachments=[{"label": label, "filename": filename} for label, filename in message.attachments])
        message.subject, message.text = render(template.subject, template.body, values)
    except RenderError as exc:
        message.error = f"Modèle « {template.name} » : {exc.message}"
    except Exception as exc:
        log.exception("Règle d'automatisation %s : message impossible à préparer", message.rule.id)
        message.error = f"Message impossible à préparer ({type(exc).__name__})."
    message.error = described or message.error


def _describe(message: Planned) -> str:
    """Fill ``message.attachments`` (AttachmentKind.describe); why it cannot (French), or ""."""
    try:
        for code in message.rule.attachments or []:
            kind = registry.ATTACHMENTS.get(code)
            if kind is None:
                return f"Pièce jointe inconnue : « {code} »."
            message.attachments += kind.describe(message.obj, message.recipient)
    except Exception as exc:
        log.exception("Règle d'automatisation %s : pièces jointes impossibles à décrire", message.rule.id)
        return f"Pièces jointes impossibles à préparer ({type(exc).__name__})."
    return ""


# --------------------------------------------------------------------------- firing


@periodic_task
def fire_due(now: dt.datetime) -> int:
    """Queue every message due now (the plan from ``now`` to ``now``), each claimed in the ledger first; the number
    queued. A message that fails (render, attachment) is logged and skipped, and the others still leave."""
    return sum(_fire_safely(message, now) for message in plan(now, now))


def fire_now(now: dt.datetime, *, session_id: int, rules: list[AutomationRule]) -> int:
    """Queue now what ``rules`` will send about session ``session_id`` until its occurrences expire (a staff
    member's « Envoyer maintenant »): the same plan, ledger claim and queueing as fire_due, so that each message
    leaves once, now or never again at its date. The number queued."""
    until = now + FIRE_NOW_HORIZON
    return sum(_fire_safely(message, now) for rule in rules
               for message in plan(now, until, session_id=session_id, rule=rule))


def _fire_safely(message: Planned, now: dt.datetime) -> int:
    """Fire one planned message in a savepoint: 1 if queued; a failure is logged and leaves the others alone."""
    if message.error:
        log.warning("Règle d'automatisation %s, %s : %s", message.rule.id, message.recipient.email, message.error)
        return 0
    try:
        with db.session.begin_nested():
            return _fire(message, now)
    except Exception:
        log.exception("Règle d'automatisation %s : envoi à %s impossible", message.rule.id, message.recipient.email)
        return 0


def _fire(message: Planned, now: dt.datetime) -> int:
    """Claim the message's ledger row and queue it: 1, or 0 if another pass claimed it first."""
    rule, occurrence, recipient = message.rule, message.occurrence, message.recipient
    values = dict(zip(_KEY, message.key))
    dialect = db.session.get_bind().dialect.name
    # INSERT … ON CONFLICT DO NOTHING: a simultaneous pass that claimed the same key first makes this one wait for
    # its commit, then insert nothing, instead of failing on the unique key or sending twice.
    claimed = db.session.execute(_INSERTS[dialect](AutomationFiring).values(
        **values, session_id=occurrence.session_id, due_at=occurrence.due_at, fired_at=now,
        template_version=rule.template.version).on_conflict_do_nothing(index_elements=list(_KEY))
        .returning(AutomationFiring.id)).scalar() is not None  # rowcount is -1 here on PostgreSQL (psycopg)
    if not claimed:
        return 0
    files = []
    for code in rule.attachments or []:
        files += registry.ATTACHMENTS[code].build(message.obj, recipient)
    queued = queue_email(recipient.email, message.subject, message.text, html_body(message.text),
                         topic=topic_of(rule), enrolment=recipient.enrolment_id, attachments=files)
    db.session.flush()
    db.session.execute(update(AutomationFiring).where(
        *(getattr(AutomationFiring, name) == value for name, value in values.items())).values(message_id=queued.id))
    trigger = registry.TRIGGERS[rule.trigger]
    if trigger.after_fired is not None:
        trigger.after_fired(message.obj, recipient, queued)
    return 1
