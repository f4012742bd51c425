"""The automation rules and the mail templates as the organisation edits them: checks, versions, the switch per
session, and the preview. The engine (engine.py) plans and fires; nothing here touches its ledger."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from ..accounts.models import User
from ..accounts.permissions import ensure_staff_or_system
from ..core.errors import ConflictError, ErrorCollector, NotFoundError, ValidationError
from ..core.formatting import count_fr
from ..core.persistence import get_by_id
from ..core.timeutil import utcnow
from ..core.validation import clean_text, parse_int, parse_text
from ..extensions import db
from ..messaging.bodies import html_body
from ..sessions.models import TrainingSession
from . import engine, registry
from .models import AutomationRule, MailTemplate, MailTemplateVersion, RuleSessionOff
from .rendering import RenderError, check_template, render

MAX_OFFSET = 365
SEND_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_REFUSED = "Seul un conseiller ou un administrateur peut modifier les automatisations."


# --------------------------------------------------------------------------- rules


def when_words(rule: AutomationRule) -> str:
    """When a rule fires, in words: « 7 jours avant le premier jour de la session, à 09:00 », « Facture échue depuis
    15 jours », « Inscription confirmée »."""
    trigger = registry.TRIGGERS.get(rule.trigger)
    if trigger is None:
        return rule.trigger
    label, days = trigger.label, rule.offset_days or 0
    if trigger.offset == "none":
        text = label
    elif " n jours" in label:
        text = label.replace(" n jours", " " + count_fr(days, "jour"))
    elif label.split(" ", 1)[0] in ("Avant", "Après"):
        text = f"{count_fr(days, 'jour')} {label[0].lower()}{label[1:]}"
    elif days:
        text = f"{label}, {count_fr(days, 'jour')} {registry.OFFSETS[trigger.offset].split(' ', 1)[1]}"
    else:
        text = label
    return f"{text}, à {rule.send_time}" if trigger.dated else text


# The days ahead that the session page's panel shows.
PANEL_DAYS = 7


def planned(days: int, session_id: int | None = None, now: dt.datetime | None = None) -> list[engine.Planned]:
    """What the rules will send in the next ``days`` days (about one session, or all), by the engine that sends."""
    now = now or utcnow()
    return engine.plan(now, now + dt.timedelta(days=days), session_id=session_id)


def session_panel(session_id: int, now: dt.datetime | None = None) -> dict:
    """What the session page's « Automatisations » panel shows: each rule with whether it is switched off for the
    session, and what the rules will send about it in the next PANEL_DAYS days."""
    return {"rules": rules_for_session(session_id), "planned": planned(PANEL_DAYS, session_id, now),
            "days": PANEL_DAYS, "when_words": when_words}


def list_rules() -> list[AutomationRule]:
    engine.ensure_defaults()
    return list(db.session.scalars(select(AutomationRule).order_by(AutomationRule.trigger, AutomationRule.name,
                                                                  AutomationRule.id)))


def get_rule(rule_id) -> AutomationRule:
    return get_by_id(AutomationRule, rule_id, "Règle d'automatisation introuvable.")


def create_rule(data: dict, actor: User | None) -> AutomationRule:
    """A rule made in the browser: it fires only for occasions due from now on (enabled_since)."""
    ensure_staff_or_system(actor, _REFUSED)
    now = utcnow()
    rule = AutomationRule(code=None, active=True, created_at=now, updated_at=now)
    _apply(rule, data)
    rule.enabled_since = now
    db.session.add(rule)
    db.session.flush()
    return rule


def update_rule(rule: AutomationRule, data: dict, actor: User | None) -> AutomationRule:
    """Change a rule; what it already sent stays in the ledger, so that nothing is sent again."""
    ensure_staff_or_system(actor, _REFUSED)
    was_active = rule.active
    _apply(rule, data)
    if rule.active and not was_active:
        rule.enabled_since = utcnow()
    rule.updated_at = utcnow()
    db.session.flush()
    return rule


def _apply(rule: AutomationRule, data: dict) -> None:
    """Check ``data`` (all problems at once, per field) and copy it onto ``rule``."""
    errors = ErrorCollector()
    name = parse_text(data.get("name"), "name", errors, label="Le nom", limit=200, required=True)
    trigger = registry.TRIGGERS.get(clean_text(data.get("trigger")))
    if trigger is None:
        errors.add("trigger", "Déclencheur inconnu.")
    offset = parse_int(data.get("offset_days", 0) or 0, "offset_days", errors, label="Le nombre de jours",
                       minimum=0, maximum=MAX_OFFSET)
    send_time = clean_text(data.get("send_time") or "09:00")
    if not SEND_TIME.fullmatch(send_time):
        errors.add("send_time", "Heure d'envoi invalide (format attendu HH:MM, par exemple 09:00).")
    audience = clean_text(data.get("audience"))
    if audience not in registry.AUDIENCES:
        errors.add("audience", "Destinataire inconnu.")
    elif trigger is not None and audience not in trigger.audiences:
        errors.add("audience", f"Ce déclencheur ne peut pas écrire à ce destinataire "
                               f"(« {registry.AUDIENCES[audience]} »).")
    template = _template_or_none(data.get("template_id"))
    if template is None:
        errors.add("template_id", "Modèle de message introuvable.")
    elif trigger is not None and template.context != trigger.context:
        errors.add("template_id", "Ce modèle n'est pas fait pour ce déclencheur (ses variables ne sont pas "
                                  "celles de ce déclencheur).")
    attachments = _attachments(data.get("attachments"), trigger, errors)
    errors.raise_if_any()
    rule.name, rule.trigger, rule.offset_days, rule.send_time = name, trigger.code, offset, send_time
    rule.audience, rule.template_id, rule.attachments = audience, template.id, attachments
    rule.template = template
    if "active" in data:
        rule.active = bool(data["active"])


def _template_or_none(template_id) -> MailTemplate | None:
    try:
        return get_template(template_id)
    except NotFoundError:
        return None


def _attachments(value, trigger: registry.Trigger | None, errors: ErrorCollector) -> list[str]:
    codes = [clean_text(code) for code in (value or [])] if isinstance(value, (list, tuple)) else None
    if codes is None:
        errors.add("attachments", "Pièces jointes invalides.")
        return []
    for code in codes:
        kind = registry.ATTACHMENTS.get(code)
        if kind is None:
            errors.add("attachments", f"Pièce jointe inconnue : « {code[:60]} ».")
        elif trigger is not None and trigger.context not in kind.contexts:
            errors.add("attachments", f"La pièce jointe « {kind.label} » n'est pas disponible pour ce déclencheur.")
    return list(dict.fromkeys(codes))


def set_rule_active(rule: AutomationRule, active: bool, actor: User | None) -> AutomationRule:
    """Switch a rule on or off; switched on, it does not catch up on what fell due while it was off."""
    ensure_staff_or_system(actor, _REFUSED)
    if active and not rule.active:
        rule.enabled_since = utcnow()
    rule.active = bool(active)
    rule.updated_at = utcnow()
    db.session.flush()
    return rule


def set_rule_session(rule: AutomationRule, session_id, off: bool, actor: User | None) -> None:
    """Switch a rule off (``off``) or back on for one session."""
    ensure_staff_or_system(actor, _REFUSED)
    session = get_by_id(TrainingSession, session_id, "Session introuvable.")
    row = db.session.get(RuleSessionOff, (rule.id, session.id))
    if off and row is None:
        db.session.add(RuleSessionOff(rule_id=rule.id, session_id=session.id, created_at=utcnow(),
                                      actor_id=getattr(actor, "id", None)))
    elif not off and row is not None:
        db.session.delete(row)
    db.session.flush()


def rules_for_session(session_id) -> list[tuple[AutomationRule, bool]]:
    """Each rule with whether it is switched off for that session (the session page's panel)."""
    off = set(db.session.scalars(select(RuleSessionOff.rule_id).where(RuleSessionOff.session_id == session_id)))
    return [(rule, rule.id in off) for rule in list_rules()]


def delete_rule(rule: AutomationRule, actor: User | None) -> None:
    """Delete a rule made in the browser (its ledger goes with it); a default rule is switched off instead."""
    ensure_staff_or_system(actor, _REFUSED)
    if rule.code is not None:
        raise ConflictError("Une règle par défaut ne peut pas être supprimée : désactivez-la.")
    db.session.delete(rule)
    db.session.flush()


# --------------------------------------------------------------------------- templates


def list_templates() -> list[MailTemplate]:
    engine.ensure_defaults()
    return list(db.session.scalars(select(MailTemplate).order_by(MailTemplate.name, MailTemplate.id)))


def get_template(template_id) -> MailTemplate:
    return get_by_id(MailTemplate, template_id, "Modèle de message introuvable.")


def create_template(name: str, context: str, subject: str, body: str, actor: User | None) -> MailTemplate:
    ensure_staff_or_system(actor, _REFUSED)
    errors = ErrorCollector()
    name = parse_text(name, "name", errors, label="Le nom", limit=200, required=True)
    context = clean_text(context)
    if context not in registry.CONTEXTS:
        errors.add("context", "Type de modèle inconnu.")
    errors.raise_if_any()
    subject, body = _checked(context, subject, body)
    now = utcnow()
    template = MailTemplate(code=None, name=name, context=context, subject=subject, body=body, version=1,
                            updated_at=now, updated_by=actor)
    template.versions.append(MailTemplateVersion(version=1, subject=subject, body=body, created_at=now, author=actor))
    db.session.add(template)
    db.session.flush()
    return template


def save_template(template: MailTemplate, subject: str, body: str, actor: User | None) -> MailTemplate:
    """Save a new version if the text changed (the rules using the template send it from now on)."""
    ensure_staff_or_system(actor, _REFUSED)
    subject, body = _checked(template.context, subject, body)
    if (subject, body) == (template.subject, template.body):
        return template
    _new_version(template, subject, body, actor)
    return template


def restore_version(template: MailTemplate, version, actor: User | None) -> MailTemplate:
    """Make an old version current again, as a new version (the history keeps every step)."""
    ensure_staff_or_system(actor, _REFUSED)
    old = next((v for v in template.versions if str(v.version) == str(version).strip()), None)
    if old is None:
        raise NotFoundError("Version du modèle introuvable.")
    if (old.subject, old.body) != (template.subject, template.body):
        _new_version(template, old.subject, old.body, actor)
    return template


def _new_version(template: MailTemplate, subject: str, body: str, actor: User | None) -> None:
    now = utcnow()
    template.version += 1
    template.subject, template.body, template.updated_at, template.updated_by = subject, body, now, actor
    template.versions.append(MailTemplateVersion(version=template.version, subject=subject, body=body,
                                                 created_at=now, author=actor))
    db.session.flush()


def _checked(context: str, subject, body) -> tuple[str, str]:
    subject, body = clean_text(subject), str(body or "").strip()
    errors = ErrorCollector()
    if not subject:
        errors.add("subject", "L'objet est obligatoire.")
    elif len(subject) > 300 or "\n" in subject or "\r" in subject:
        errors.add("subject", "L'objet tient sur une ligne de 300 caractères au plus.")
    if not body:
        errors.add("body", "Le corps du message est obligatoire.")
    elif len(body) > 20000:
        errors.add("body", "Le corps du message ne doit pas dépasser 20 000 caractères.")
    errors.raise_if_any()
    problems = check_template(context, subject, body)
    if problems:
        raise ValidationError(" ".join(problems), fields={
            "subject": [p for p in problems if p.startswith("Objet")],
            "body": [p for p in problems if not p.startswith("Objet")]})
    return subject, body


def preview(template: MailTemplate, session_id, enrolment_id=None) -> dict:
    """{"to", "subject", "text", "html"} of ``template`` for a real session (and one of its trainees)."""
    context = registry.CONTEXTS.get(template.context)
    session = get_by_id(TrainingSession, session_id, "Session introuvable.")
    if enrolment_id in ("", None):
        enrolment_id = None
    else:
        try:
            enrolment_id = int(enrolment_id)
        except (TypeError, ValueError):
            raise ValidationError("Stagiaire introuvable pour l'aperçu.", field="enrolment_id") from None
    found = context.sample(session.id, enrolment_id) if context is not None else None
    if found is None:
        raise ValidationError("Rien à montrer pour cette session avec ce modèle (aucun destinataire ou objet "
                              "concerné).")
    obj, recipient = found
    try:
        subject, text = render(template.subject, template.body, context.build(obj, recipient))
    except RenderError as exc:
        raise ValidationError(exc.message) from None
    return {"to": recipient.email, "subject": subject, "text": text, "html": html_body(text)}
