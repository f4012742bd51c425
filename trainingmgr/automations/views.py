"""The automations' pages (staff).

/automations/                                  the rules (switch each on or off) and what leaves in the next 7 days
/automations/dry-run?days=7                    what the rules will send in the next 1 to 31 days
/automations/rules/new, /rules/<id>/edit        a rule: trigger, offset, send time, audience, template, attachments
/automations/rules/<id>/on|off, /delete        one-button steps (a default rule is switched off, never deleted)
/automations/rules/<id>/sessions/<sid>/on|off  a rule switched off (or back on) for one session (the session page)
/automations/templates, /templates/new         the e-mail templates
/automations/templates/<id>                    subject and body, the variables, the versions, the preview
/automations/templates/<id>/versions/<n>/restore  an old version made current again (a new version)
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.errors import DomainError
from ..core.responses import fail
from ..core.timeutil import paris_today
from ..core.validation import id_or_none
from ..core.view_actions import form_page, run_action, run_form
from ..enrolments.services import session_enrolments
from ..extensions import db
from ..sessions import services as session_services
from . import engine, registry, services
from .forms import NewTemplateForm, RuleForm, TemplateForm
from .models import AutomationRule, MailTemplate

bp = Blueprint("automations", __name__, url_prefix="/automations")

WEEK = 7
MAX_DAYS = 31
# The sessions the preview offers: those of the last three months and those to come.
PREVIEW_PAST = dt.timedelta(days=92)


def _labels() -> dict:
    """What the pages name: triggers, audiences, attachment kinds, contexts."""
    return {"triggers": registry.TRIGGERS, "audiences": registry.AUDIENCES, "attachment_kinds": registry.ATTACHMENTS,
            "contexts": registry.CONTEXTS, "when_words": services.when_words}


def _with_defaults() -> None:
    """The default templates and rules exist before a page lists them (created once, by the first page shown)."""
    engine.ensure_defaults()
    db.session.commit()


def _planned(days: int) -> list[engine.Planned]:
    return services.planned(days)


# --------------------------------------------------------------------------- rules


@bp.route("/")
@staff_required
def index():
    _with_defaults()
    return render_template("automations/index.html", rules=services.list_rules(), planned=_planned(WEEK),
                           days=WEEK, **_labels())


@bp.route("/dry-run")
@staff_required
def dry_run():
    raw = request.args.get("days", str(WEEK)).strip()
    days = int(raw) if raw.isdigit() and len(raw) < 4 else 0
    if not 1 <= days <= MAX_DAYS:
        fail(400, f"Nombre de jours invalide : choisissez un nombre entier de 1 à {MAX_DAYS}.")
    _with_defaults()
    return render_template("automations/dry_run.html", planned=_planned(days), days=days, max_days=MAX_DAYS,
                           **_labels())


def _rule_form(rule: AutomationRule | None = None) -> RuleForm:
    if request.method == "POST":
        form = RuleForm()
    elif rule is None:
        form = RuleForm(data={"send_time": dt.time(9, 0), "active": True, "offset_days": 0})
    else:
        form = RuleForm(data={
            "name": rule.name, "trigger": rule.trigger, "offset_days": rule.offset_days,
            "send_time": dt.time.fromisoformat(rule.send_time), "audience": rule.audience,
            "template_id": str(rule.template_id), "attachments": list(rule.attachments or []),
            "active": rule.active})
    form.set_choices(services.list_templates())
    return form


def _rule_page(form: RuleForm, rule: AutomationRule | None):
    without_offset = " ".join(t.code for t in registry.TRIGGERS.values() if t.offset == "none")
    return form_page("automations/rule_form.html", form, rule=rule, without_offset=without_offset, **_labels())


@bp.route("/rules/new", methods=["GET", "POST"])
@staff_required
def new_rule():
    _with_defaults()
    form = _rule_form()
    ok, rule = run_form(form, lambda: services.create_rule(form.data_for_service(), current_user))
    if ok:
        flash(f"Règle « {rule.name} » créée.", "success")
        return redirect(url_for("automations.index"))
    return _rule_page(form, None)


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_rule(rule_id: int):
    rule = services.get_rule(rule_id)
    form = _rule_form(rule)
    ok, _ = run_form(form, lambda: services.update_rule(rule, form.data_for_service(), current_user))
    if ok:
        flash(f"Règle « {rule.name} » enregistrée : ce qui est déjà parti ne repart pas.", "success")
        return redirect(url_for("automations.index"))
    return _rule_page(form, rule)


@bp.route("/rules/<int:rule_id>/<any(on, off):state>", methods=["POST"])
@staff_required
def switch_rule(rule_id: int, state: str):
    rule = services.get_rule(rule_id)
    on = state == "on"
    return run_action(lambda: services.set_rule_active(rule, on, current_user),
                      f"Règle « {rule.name} » activée : elle n'envoie que ce qui arrive à échéance à partir de "
                      "maintenant." if on else f"Règle « {rule.name} » désactivée.",
                      url_for("automations.index"))


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@staff_required
def delete_rule(rule_id: int):
    rule = services.get_rule(rule_id)
    name = rule.name
    return run_action(lambda: services.delete_rule(rule, current_user), f"Règle « {name} » supprimée.",
                      url_for("automations.index"))


@bp.route("/rules/<int:rule_id>/sessions/<int:session_id>/<any(on, off):state>", methods=["POST"])
@staff_required
def switch_rule_for_session(rule_id: int, session_id: int, state: str):
    rule = services.get_rule(rule_id)
    session = session_services.get_session(session_id, current_user)
    off = state == "off"
    return run_action(lambda: services.set_rule_session(rule, session.id, off, current_user),
                      f"Règle « {rule.name} » {'désactivée' if off else 'réactivée'} pour cette session.",
                      url_for("sessions.show", session_id=session.id, _anchor="automations"))


# --------------------------------------------------------------------------- templates


@bp.route("/templates")
@staff_required
def templates():
    _with_defaults()
    used = {}
    for rule in services.list_rules():
        used.setdefault(rule.template_id, []).append(rule)
    return render_template("automations/templates.html", templates=services.list_templates(), used=used,
                           **_labels())


@bp.route("/templates/new", methods=["GET", "POST"])
@staff_required
def new_template():
    form = NewTemplateForm()
    form.set_choices()
    if not form.is_submitted() and request.args.get("context") in registry.CONTEXTS:
        form.context.data = request.args["context"]
    ok, template = run_form(form, lambda: services.create_template(
        form.name.data or "", form.context.data or "", form.subject.data or "", form.body.data or "", current_user))
    if ok:
        flash(f"Modèle « {template.name} » créé.", "success")
        return redirect(url_for("automations.edit_template", template_id=template.id))
    context = registry.CONTEXTS.get(form.context.data or "")
    return form_page("automations/template_new.html", form, context=context, **_labels())


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@staff_required
def edit_template(template_id: int):
    template = services.get_template(template_id)
    form = TemplateForm() if request.method == "POST" else TemplateForm(
        data={"subject": template.subject, "body": template.body})
    version = template.version
    ok, saved = run_form(form, lambda: services.save_template(template, form.subject.data or "",
                                                              form.body.data or "", current_user))
    if ok:
        flash(f"Modèle enregistré (version {saved.version})." if saved.version != version
              else "Modèle inchangé : aucune nouvelle version.", "success")
        return redirect(url_for("automations.edit_template", template_id=template.id))
    preview, preview_error, status = _preview(template)
    status = getattr(form, "error_status", 422) if form.errors else status
    return render_template("automations/template.html", form=form, mail_template=template, preview=preview,
                           preview_error=preview_error, **_preview_choices(), **_labels()), status


def _preview(template: MailTemplate) -> tuple[dict | None, str, int]:
    """The preview asked for by the page's query (?session_id=…&enrolment_id=…): (message, refusal, status)."""
    if "session_id" not in request.args:
        return None, "", 200
    session_id = id_or_none(request.args.get("session_id"))
    enrolment_raw = request.args.get("enrolment_id", "")
    enrolment_id = id_or_none(enrolment_raw)
    if session_id is None or (enrolment_raw and enrolment_id is None):
        return None, "Choisissez une session (et, si besoin, un stagiaire) dans la liste.", 422
    try:
        session_services.get_session(session_id, current_user)
        return services.preview(template, session_id, enrolment_id), "", 200
    except DomainError as exc:
        db.session.rollback()
        return None, exc.message, exc.status_code


def _preview_choices() -> dict:
    """The sessions offered by the preview, and the trainees of the one chosen."""
    sessions = session_services.list_sessions(current_user, date_from=paris_today() - PREVIEW_PAST)
    chosen = next((s for s in sessions if s.id == id_or_none(request.args.get("session_id"))), None)
    return {"preview_sessions": sessions, "preview_session": chosen,
            "preview_enrolments": session_enrolments(chosen) if chosen else [],
            "preview_enrolment_id": id_or_none(request.args.get("enrolment_id"))}


@bp.route("/templates/<int:template_id>/versions/<int:version>/restore", methods=["POST"])
@staff_required
def restore_template(template_id: int, version: int):
    template = services.get_template(template_id)
    return run_action(lambda: services.restore_version(template, version, current_user),
                      lambda saved: f"Version {version} rétablie : elle devient la version {saved.version}.",
                      url_for("automations.edit_template", template_id=template.id))
