"""The audit log is written by ONE mechanism: an ``after_flush`` listener on the application's database session,
whose entries are inserted just before the transaction commits. ``acting_as`` names the actor of a CLI or worker;
``paused()`` turns it off for bulk loaders. See docs/audit-log.md."""
from __future__ import annotations

import contextlib
import contextvars
import copy
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import click
from flask import has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from ..accounts.permissions import current_principal
from ..attendance.models import AttendanceRecord
from ..billing.models import Invoice, InvoiceLine, Payment
from ..core.formatting import date_fr, money_fr
from ..core.timeutil import utcnow
from ..documents.catalogue import DOC_TYPES
from ..documents.models import GeneratedDocument
from ..enrolments.models import ENROLMENT_STATUS_LABELS, Enrolment, FundingLine
from ..quality.models import ACTION_STATUSES, REQUEST_STATUSES, ImprovementAction, QualityRequest
from ..sessions.models import SESSION_STATUS_LABELS, Slot, TrainingSession
from .display import field_names
from .models import HIDDEN, AuditEntry

TRAINEE_LABEL = "stagiaire (lien personnel)"
PUBLIC_LABEL = "visiteur (formulaire public)"
SYSTEM_LABEL = "système"
TRAINEE_PREFIXES = ("/t/", "/emargement/", "/s/")
ALWAYS_SKIPPED = {"id", "created_at", "updated_at"}
MAX_TEXT = 500  # long texts are cut in the log

_actor: contextvars.ContextVar = contextvars.ContextVar("audit_actor", default=None)
_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("audit_paused", default=False)


@contextlib.contextmanager
def acting_as(actor):
    """Record the changes made inside the block as done by ``actor`` (a User or a label)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


@contextlib.contextmanager
def paused():
    """Record nothing inside the block (bulk loading of benchmark data)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def _command_label() -> str:
    """Outside a request: "système (flask <command>)" for a command line (the worker included), else "système"."""
    context = click.get_current_context(silent=True)
    names = []
    while context is not None and context.parent is not None:  # the root is "flask" or "python -m flask"
        names.append(context.info_name or "")
        context = context.parent
    if not names:
        return SYSTEM_LABEL
    return f"{SYSTEM_LABEL} (flask {' '.join(reversed(names))})"[:200]


def current_actor() -> tuple[int | None, str, str]:
    """(user id, frozen label, IP address) of whoever makes the change now."""
    ip = (request.remote_addr or "")[:45] if has_request_context() else ""
    actor = _actor.get()
    if actor is None and has_request_context():
        actor = current_principal()
        if actor is None:
            actor = TRAINEE_LABEL if request.path.startswith(TRAINEE_PREFIXES) else PUBLIC_LABEL
    if actor is None:
        return None, _command_label(), ip
    if isinstance(actor, str):
        return None, actor[:200], ip
    return actor.id, (actor.name or actor.email or f"compte n° {actor.id}")[:200], ip


# --------------------------------------------------------------------------- values


def plain(value):
    """A JSON-safe copy of a column value."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} octets>"
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def _label_of(obj) -> str:
    for name in ("full_name", "name", "label"):
        value = getattr(obj, name, None)
        if isinstance(value, str) and value:
            return value
    return f"n° {getattr(obj, 'id', '?')}"


@dataclass
class Spec:
    """How one model is audited."""

    object_type: str
    skipped: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)
    collections: tuple[str, ...] = ()
    # (obj, kind, changes) -> action, or None to record nothing; kind is create / update / delete.
    action: Callable | None = None
    # (obj, action, changes) -> French summary
    summary: Callable | None = None
    # Children folded into their parent's entry: obj -> (object_type, object_id, prefix of the field names).
    parent: Callable | None = None
    only_new: bool = False  # append-only rows: only their creation is recorded
    feminine: bool = False  # a child's noun (« ligne »): the participles of its summary agree with it


def _state_value(state, key):
    return state.dict.get(key)


def _changes(obj, spec: Spec, kind: str, loaded_before: dict | None = None) -> dict:
    state = inspect(obj)
    loaded_before = loaded_before or {}
    mapper = state.mapper
    changes: dict = {}
    skipped = ALWAYS_SKIPPED | spec.skipped
    for attr in mapper.column_attrs:
        key = attr.key
        if key in skipped:
            continue
        if kind == "create":
            value = _state_value(state, key)
            if value in (None, "", {}, []):
                continue
            changes[key] = [None, HIDDEN if key in spec.hidden else plain(value)]
        elif kind == "delete":
            value = _state_value(state, key)
            if value in (None, "", {}, []):
                continue
            changes[key] = [HIDDEN if key in spec.hidden else plain(value), None]
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            if history.deleted:
                before = history.deleted[0]
            else:  # the attribute was expired (after a commit) when it was set: read in before_flush
                before = loaded_before.get(key)
            after = history.added[0] if history.added else None
            if before == after:
                continue
            changes[key] = [HIDDEN, HIDDEN] if key in spec.hidden else [plain(before), plain(after)]
    if kind == "update":
        for key in spec.collections:
            history = state.attrs[key].history
            if history.added or history.deleted:
                before = sorted(_label_of(o) for o in (list(history.unchanged) + list(history.deleted)))
                after = sorted(_label_of(o) for o in (list(history.unchanged) + list(history.added)))
                changes[key] = [before, after]
    return changes


# --------------------------------------------------------------------------- the registry

_REGISTRY: dict[type, Spec] = {}


def _status_action(cancelled: str | None = "cancelled"):
    def action(obj, kind, changes):
        if kind != "update":
            return kind
        if "status" in changes:
            return "cancel" if cancelled and changes["status"][1] == cancelled else "status"
        return "update" if changes else None
    return action


def _fields(changes, obj) -> str:
    """The changed fields by their French labels (audit/display.py)."""
    return field_names(type(obj).__tablename__, changes) if changes else ""


def _status_summary(noun: str, feminine: bool, labels: dict, name: Callable = lambda o: f"n° {o.id}"):
    e = "e" if feminine else ""

    def summary(obj, action, changes):
        who = f"{noun} {name(obj)}"
        if action == "create":
            return f"{who} créé{e}"
        if action == "delete":
            return f"{who} supprimé{e}"
        if action in ("status", "cancel") and "status" in changes:
            before, after = changes["status"]
            text = f"{who} : statut « {labels.get(before, before)} » → « {labels.get(after, after)} »"
            others = [k for k in changes if k != "status"]
            return text + (f" ({_fields(others, obj)})" if others else "")
        return f"{who} modifié{e} : {_fields(changes, obj)}"
    return summary


def _invoice_action(obj, kind, changes):
    if kind == "update" and "status" in changes and changes["status"][1] == "issued":
        return "issue"
    if kind == "update":
        return "update" if changes else None
    return kind


def _invoice_name(obj) -> str:
    noun = "Avoir" if obj.kind == "credit_note" else "Facture"
    return f"{noun} {obj.number}" if obj.number else f"{noun} brouillon n° {obj.id}"


def _invoice_summary(obj, action, changes):
    name = _invoice_name(obj)
    return {"create": f"{name} créé{'' if obj.kind == 'credit_note' else 'e'}",
            "issue": f"{name} émis{'' if obj.kind == 'credit_note' else 'e'}",
            "delete": f"{name} supprimé{'' if obj.kind == 'credit_note' else 'e'}"}.get(
        action, f"{name} modifié{'' if obj.kind == 'credit_note' else 'e'} : {_fields(changes, obj)}")


def _payment_action(obj, kind, changes):
    if kind == "update" and "cancelled_at" in changes and changes["cancelled_at"][1] is not None:
        return "cancel"
    if kind == "update":
        return "update" if changes else None
    return kind


def _payment_summary(obj, action, changes):
    amount = money_fr(obj.amount) if obj.amount is not None else ""
    return {"create": f"Paiement de {amount} enregistré sur la facture n° {obj.invoice_id}",
            "cancel": f"Paiement de {amount} annulé sur la facture n° {obj.invoice_id}"}.get(
        action, f"Paiement n° {obj.id} modifié : {_fields(changes, obj)}")


def _attendance_action(obj, kind, changes):
    if kind != "create":
        return None
    return {"correction": "correct", "justification": "justify"}.get(obj.kind)


def _attendance_summary(obj, action, changes):
    what = "Correction de présence" if action == "correct" else "Justificatif d'absence"
    return f"{what} : {obj.signer_name}, créneau n° {obj.slot_id} (session n° {obj.session_id})"


def _document_summary(obj, action, changes):
    doc_type = DOC_TYPES.get(obj.doc_type)
    if doc_type is None:
        return f"Document n° {obj.number} (version {obj.version}) généré"
    return (f"{doc_type.label} n° {obj.number} (version {obj.version}) {doc_type.agree('généré')} "
            f"pour la session n° {obj.session_id}")


def _simple_summary(noun: str, feminine: bool):
    e = "e" if feminine else ""

    def summary(obj, action, changes):
        return {"create": f"{noun} n° {obj.id} créé{e}", "delete": f"{noun} n° {obj.id} supprimé{e}"}.get(
            action, f"{noun} n° {obj.id} modifié{e} : {_fields(changes, obj)}")
    return summary


def _slot_parent(obj):
    return "session", obj.session_id, f"créneau du {date_fr(obj.date)}" if obj.date else f"créneau n° {obj.id}"


def _invoice_line_parent(obj):
    return "invoice", obj.invoice_id, f"ligne {obj.position}"


# The participle agrees with the child's noun: « Créneau du 25/11/2026 ajouté », « Ligne 2 ajoutée ».
_CHILD_VERBS = {False: {"create": "ajouté", "delete": "supprimé", "update": "modifié"},
                True: {"create": "ajoutée", "delete": "supprimée", "update": "modifiée"}}


def build_registry() -> dict[type, Spec]:
    return {
        TrainingSession: Spec("session", skipped={"status_changed_at"}, collections=("trainers",),
                              action=_status_action(),
                              summary=_status_summary("Session", True, SESSION_STATUS_LABELS)),
        Slot: Spec("session", parent=_slot_parent, skipped={"sequence"}),  # the iCal SEQUENCE: follows the rest
        Enrolment: Spec("enrolment", action=_status_action(),
                        summary=_status_summary("Inscription", True, ENROLMENT_STATUS_LABELS)),
        FundingLine: Spec("funding_line", summary=lambda o, a, c: (
            f"Ligne de financement n° {o.id} de l'inscription n° {o.enrolment_id} "
            + {"create": "créée", "delete": "supprimée"}.get(a, f"modifiée : {_fields(c, o)}"))),
        AttendanceRecord: Spec("attendance", only_new=True, action=_attendance_action,
                               skipped={"image", "ip", "user_agent", "prev_hash", "hash", "seq", "unique_key",
                                        "erased", "erased_at", "typed_name", "method", "mode"},
                               summary=_attendance_summary),
        GeneratedDocument: Spec("document", only_new=True,  # subject: a code made of the ids recorded beside it
                                skipped={"context", "docx_file_id", "pdf_file_id", "subject"},
                                action=lambda o, k, c: "generate" if k == "create" else None,
                                summary=_document_summary),
        Invoice: Spec("invoice", skipped={"seller"}, action=_invoice_action, summary=_invoice_summary),
        InvoiceLine: Spec("invoice", parent=_invoice_line_parent, feminine=True),
        Payment: Spec("payment", action=_payment_action, summary=_payment_summary),
        QualityRequest: Spec("quality_request", action=_status_action(None),
                             hidden={"requester_name", "requester_email", "requester_phone", "organisation_name",
                                     "description", "analysis", "answer", "mediation_outcome", "closing_note"},
                             summary=_status_summary("Demande", True, REQUEST_STATUSES,
                                                     name=lambda o: o.reference or f"n° {o.id}")),
        ImprovementAction: Spec("improvement_action", action=_status_action("abandoned"),
                                summary=_status_summary("Action d'amélioration", True, ACTION_STATUSES)),
    }


# --------------------------------------------------------------------------- the listener


def _attendance_before(connection, obj) -> dict:
    """The trainee's state on the slot before a correction: the last mark or correction, or the signature."""
    rows = connection.execute(
        select(AttendanceRecord.kind, AttendanceRecord.presence, AttendanceRecord.arrived_at, AttendanceRecord.left_at)
        .where(AttendanceRecord.slot_id == obj.slot_id, AttendanceRecord.enrolment_id == obj.enrolment_id,
               AttendanceRecord.id < obj.id, AttendanceRecord.kind.in_(("signature", "presence", "correction")))
        .order_by(AttendanceRecord.id)).all()
    presence, arrived, left, signed = "", None, None, False
    for kind, row_presence, row_arrived, row_left in rows:
        if kind == "signature":
            signed = True
        else:
            presence, arrived, left = row_presence, row_arrived, row_left
    if not presence:
        presence = "signé" if signed else "aucun relevé"
    return {"presence": presence, "arrived_at": plain(arrived), "left_at": plain(left)}


def _collect(session: Session) -> list[dict]:
    entries: dict[tuple[str, int], dict] = {}
    batches = ((session.new, "create"), (session.dirty, "update"), (session.deleted, "delete"))
    for objects, kind in batches:
        for obj in objects:
            spec = _REGISTRY.get(type(obj))
            if spec is None or (spec.only_new and kind != "create"):
                continue
            before = session.info.get(_BEFORE, {}).get(id(obj)) if kind == "update" else None
            changes = _changes(obj, spec, kind, before)
            if spec.parent is not None:
                object_type, object_id, prefix = spec.parent(obj)
                if object_id is None or not changes:
                    continue
                verb = _CHILD_VERBS[spec.feminine][kind]
                changes = {f"{prefix} · {key}": value for key, value in changes.items()}
                action, summary = "update", f"{prefix.capitalize()} {verb}"
            else:
                action = spec.action(obj, kind, changes) if spec.action else (
                    kind if kind != "update" or changes else None)
                if action is None:
                    continue
                if action == "correct":
                    before = _attendance_before(session.connection(), obj)
                    changes = {key: [before.get(key), value[1]] for key, value in changes.items()}
                    for key in ("presence", "arrived_at", "left_at"):
                        if key not in changes:
                            changes[key] = [before[key], None]
                object_type, object_id = spec.object_type, obj.id
                summary = spec.summary(obj, action, changes) if spec.summary else ""
            key = (object_type, object_id)
            existing = entries.get(key)
            if existing is None:
                entries[key] = {"action": action, "object_type": object_type, "object_id": object_id,
                                "summary": summary, "changes": changes, "child": spec.parent is not None}
                continue
            existing["changes"].update(changes)
            if existing["child"] and spec.parent is None:  # the parent's own entry names the action
                existing.update(action=action, summary=summary, child=False)
            elif spec.parent is not None and existing["child"]:
                existing["summary"] = f"{existing['summary']} ; {summary}"
    return list(entries.values())


# Which action names an entry when one transaction does several things to one object.
_PRIORITY = {"update": 1, "status": 2, "cancel": 3, "issue": 3, "correct": 3, "justify": 3, "generate": 3,
             "delete": 4, "create": 5}
_PENDING = "audit_entries"  # session.info key: {(object_type, object_id): {"row": the entry's values, "child"}}
_SAVED = "audit_savepoints"  # session.info key: {id(savepoint): the pending entries when it began}
_BEFORE = "audit_before"  # session.info key: {id(obj): {attribute: stored value}} for the current flush


def _merge(before: dict, after: dict) -> dict:
    """Changes of two flushes of one transaction: the first "before", the last "after"."""
    merged = {key: list(value) for key, value in before.items()}
    for key, (old, new) in after.items():
        merged[key] = [merged[key][0] if key in merged else old, new]
    return {key: value for key, value in merged.items() if value[0] != value[1]}


def _after_flush(session: Session, flush_context) -> None:
    if _paused.get() or not _REGISTRY:
        return
    if not any(type(o) in _REGISTRY for group in (session.new, session.dirty, session.deleted) for o in group):
        return
    entries = _collect(session)
    if not entries:
        return
    actor_id, actor_label, ip = current_actor()
    pending = session.info.setdefault(_PENDING, {})
    for entry in entries:
        summary = entry["summary"] or ""
        if entry["child"]:
            noun = {"session": "Session", "invoice": "Facture"}.get(entry["object_type"], "Objet")
            summary = f"{noun} n° {entry['object_id']} : {summary}"
        key = (entry["object_type"], entry["object_id"])
        earlier = pending.get(key)
        if earlier is not None:
            # The same transaction already changed this object (a service that flushes several times): one
            # entry per object and transaction, with the first "before" and the last "after".
            row = earlier["row"]
            action, text = row["action"], row["summary"]
            if _PRIORITY.get(entry["action"], 1) > _PRIORITY.get(action, 1):
                action, text = entry["action"], summary
            elif entry["child"] is False and earlier["child"]:
                text = summary
            row.update(action=action, summary=text, changes=_merge(row["changes"], entry["changes"]))
            earlier["child"] = earlier["child"] and entry["child"]
            continue
        pending[key] = {"child": entry["child"], "row": {
            "at": utcnow(), "actor_id": actor_id, "actor_label": actor_label, "action": entry["action"],
            "object_type": entry["object_type"], "object_id": entry["object_id"], "summary": summary,
            "changes": entry["changes"], "ip": ip}}


def _write(session: Session) -> None:
    """Before the transaction commits (not a savepoint's release): the last flush, then the entries, inserted
    on the same connection, so that they are committed with the changes they describe or not at all."""
    if session.in_nested_transaction():
        return
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        rows = [entry["row"] for entry in pending.values()]
        session.connection().execute(AuditEntry.__table__.insert(), rows)


def _committed(session: Session) -> None:
    if not session.in_nested_transaction():
        _forget(session)


def _savepoint(session: Session, transaction) -> None:
    """A savepoint begins: remember the entries so far, to go back to them if it is rolled back."""
    if transaction.nested:
        session.info.setdefault(_SAVED, {})[id(transaction)] = copy.deepcopy(session.info.get(_PENDING, {}))


def _rolled_back(session: Session, transaction) -> None:
    if transaction.nested:
        saved = session.info.get(_SAVED, {}).pop(id(transaction), None)
        if saved is not None:
            session.info[_PENDING] = saved
            return
    _forget(session)


def _forget(session: Session, *args) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_SAVED, None)


def _set_while_expired(state, key: str) -> bool:
    history = state.attrs[key].history
    return bool(history.added) and not history.deleted


def _before_flush(session: Session, flush_context, instances) -> None:
    """Read the stored value of the audited attributes set while expired (after a commit), which the
    attribute history cannot tell: one query per such object, none otherwise."""
    session.info.pop(_BEFORE, None)
    if _paused.get() or not _REGISTRY:
        return
    found: dict[int, dict] = {}
    for obj in session.dirty:
        spec = _REGISTRY.get(type(obj))
        if spec is None or spec.only_new:
            continue
        state = inspect(obj)
        if state.key is None:
            continue
        keys = [attr.key for attr in state.mapper.column_attrs
                if attr.key not in ALWAYS_SKIPPED | spec.skipped and _set_while_expired(state, attr.key)]
        if not keys:
            continue
        columns = [state.mapper.columns[key] for key in keys]
        pk = state.mapper.primary_key
        row = session.connection().execute(
            select(*columns).where(*[c == v for c, v in zip(pk, state.identity)])).first()
        if row is not None:
            found[id(obj)] = dict(zip(keys, row))
    if found:
        session.info[_BEFORE] = found


def install() -> None:
    """Listen to every flush of the application's sessions (idempotent)."""
    if not _REGISTRY:
        _REGISTRY.update(build_registry())
    if not event.contains(FlaskSession, "after_flush", _after_flush):
        event.listen(FlaskSession, "before_flush", _before_flush)
        event.listen(FlaskSession, "after_flush", _after_flush)
        event.listen(FlaskSession, "before_commit", _write)
        event.listen(FlaskSession, "after_commit", _committed)
        event.listen(FlaskSession, "after_transaction_create", _savepoint)
        event.listen(FlaskSession, "after_soft_rollback", _rolled_back)
