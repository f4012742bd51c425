"""What the automations are made of, registered by the modules of automations/triggers/: the triggers (when), the
contexts (what a template may say, and to whom), the attachment kinds (which files), and the default templates and
rules (what the application does out of the box). No database access here: engine.py plans and fires from these.

A trigger finds *occurrences*: an object (a session, an enrolment, an invoice…) and an occasion about it (« start »,
« confirmed », « overdue »), with the moment it falls due. A rule of that trigger, for its audience, turns each
occurrence into one message per recipient; the ledger (models.AutomationFiring) keys a message on
(rule, recipient, object, occasion), so that it leaves once whatever happens to the rule afterwards. The occasion
never contains the rule's offset: moving a J−7 reminder to J−5 after it left does not send it again."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..documents.catalogue import Var

# Who a rule writes to (AutomationRule.audience), as the pages name them.
AUDIENCES = {
    "trainee": "Stagiaire",
    "company_hr": "Entreprise : contact RH / formation",
    "company_signatory": "Entreprise : signataire",
    "trainer": "Formateur",
    "funder": "Conseiller du financeur (OPCO…)",
    "advisor": "Conseiller formation",
    "payer": "Payeur de la facture (comptabilité, acheteur public)",
    "signatory": "Signataire du document (quel que soit son rôle)",
}
# How a trigger's offset reads (Trigger.offset).
OFFSETS = {"none": "", "before": "jours avant", "after": "jours après"}


@dataclass(frozen=True)
class Occurrence:
    """Something a rule may write about: ``object_type``/``object_id`` (e.g. "session", 12), ``occasion`` (e.g.
    "start"), due at ``due_at`` (UTC). ``expires_at``: not sent at or after it (a J−1 reminder once the session has
    started); None: the engine's LATE_LIMIT after ``due_at``. ``session_id``: the session it belongs to (a rule can
    be switched off for one session), None when it belongs to none (an invoice for several sessions)."""

    object_type: str
    object_id: int
    occasion: str
    due_at: dt.datetime
    session_id: int | None = None
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class Recipient:
    """One person a message goes to. ``ref``: their object for the context builder (the Enrolment of a trainee, the
    Trainer, the company Contact, the FundingLine of a funder's adviser, the User of an advisor). ``enrolment_id``:
    the enrolment the outbox message is filed under (the trainee's history, the evidence pages)."""

    email: str
    name: str
    ref: Any = None
    enrolment_id: int | None = None


# What every context offers besides its own catalogue, filled by the engine (engine._prepare), not by Context.build.
COMMON_VARIABLES = (
    Var("attachments[].label", "Pièces jointes du message : nature (vide sans pièce jointe)", "Convocation"),
    Var("attachments[].filename", "Pièces jointes du message : nom du fichier", "convocation-lea-martin.pdf"),
)


@dataclass(frozen=True)
class Context:
    """What the templates of one kind may say, and to whom a message about one object goes.

    - ``variables``: the catalogue (dotted names; a list's items as "x[].y"), shown beside the editor and the only
      names a template may use (checked at save), with the COMMON_VARIABLES (``catalogue``: both).
    - ``load(object_type, object_id)``: the object of an occurrence, or None if it is gone.
    - ``recipients(obj, audience)``: who, for one of the trigger's audiences (empty: nobody, e.g. no HR contact).
    - ``build(obj, recipient)``: the plain dict a template renders with (strings, numbers, lists and dicts only:
      never a model, the template runs in a sandbox but a model would reach the database).
    - ``sample(session_id, enrolment_id)``: a real object and recipient for the preview, from a session and
      (optionally) one of its trainees; None if that session has nothing of this kind (e.g. no invoice).
    """

    code: str
    label: str
    variables: tuple[Var, ...]
    load: Callable[[str, int], Any]
    recipients: Callable[[Any, str], list[Recipient]]
    build: Callable[[Any, Recipient], dict]
    sample: Callable[[int, int | None], tuple[Any, Recipient] | None]

    @property
    def catalogue(self) -> tuple[Var, ...]:
        """The variables a template may use: the context's own and the COMMON_VARIABLES."""
        return self.variables + COMMON_VARIABLES


@dataclass(frozen=True)
class Trigger:
    """When a rule fires. ``find(rule, start, end)`` yields the occurrences due in [start, end] (UTC) for the
    rule's offset, reading the current state (an enrolment still confirmed, an invoice still unpaid): the dry run
    and the worker call it alike. ``dated``: due on a day at the rule's send time (J−n, J+n), else at the event's
    moment plus the offset. ``after_fired(obj, recipient, message)``: the side effect of a message once queued
    (a reminder counted, the enrolment's history), or None."""

    code: str
    label: str
    context: str
    offset: str  # a key of OFFSETS
    audiences: tuple[str, ...]
    find: Callable[[Any, dt.datetime, dt.datetime], Iterable[Occurrence]]
    dated: bool = False
    help: str = ""
    after_fired: Callable[[Any, Recipient, Any], None] | None = None


@dataclass(frozen=True)
class AttachmentKind:
    """A file a rule may attach (AutomationRule.attachments holds the codes). ``describe(obj, recipient)``: the
    (label, filename) pairs the message will carry, cheap, for the dry run; ``build(obj, recipient)``: the
    (filename, content type, bytes) triples when it leaves. Both return [] when there is nothing to attach."""

    code: str
    label: str
    contexts: tuple[str, ...]
    describe: Callable[[Any, Recipient], list[tuple[str, str]]]
    build: Callable[[Any, Recipient], list[tuple[str, str, bytes]]]


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    name: str
    context: str
    subject: str
    body: str


@dataclass(frozen=True)
class DefaultRule:
    code: str
    name: str
    trigger: str
    audience: str
    template: str  # a DefaultTemplate's code
    offset_days: int = 0
    send_time: str = "09:00"
    attachments: tuple[str, ...] = ()
    topic: str = ""  # the outbox topic of its messages (evidence hooks read it, e.g. "convocation"); default: code


TRIGGERS: dict[str, Trigger] = {}
CONTEXTS: dict[str, Context] = {}
ATTACHMENTS: dict[str, AttachmentKind] = {}
DEFAULT_TEMPLATES: dict[str, DefaultTemplate] = {}
DEFAULT_RULES: dict[str, DefaultRule] = {}


def _register(table: dict, item) -> Any:
    if item.code in table and table[item.code] != item:
        raise ValueError(f"{type(item).__name__} {item.code!r} registered twice")
    table[item.code] = item
    return item


def register_trigger(trigger: Trigger) -> Trigger:
    return _register(TRIGGERS, trigger)


def register_context(context: Context) -> Context:
    return _register(CONTEXTS, context)


def register_attachment(kind: AttachmentKind) -> AttachmentKind:
    return _register(ATTACHMENTS, kind)


def register_default_template(template: DefaultTemplate) -> DefaultTemplate:
    return _register(DEFAULT_TEMPLATES, template)


def register_default_rule(rule: DefaultRule) -> DefaultRule:
    return _register(DEFAULT_RULES, rule)


def variable_names(context: str) -> set[str]:
    """Every name a template of ``context`` may use, with each dotted prefix ("session" for "session.title")."""
    names: set[str] = set()
    for var in CONTEXTS[context].catalogue:
        parts = var.name.replace("[]", "").split(".")
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def default_topic(rule: DefaultRule) -> str:
    return rule.topic or rule.code

