"""Staff pages of the improvement actions (Qualiopi 32): the register with its filters and exports, a new action
(from a complaint, a survey alert or a session), an action's page and its edit form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.paging import page_arg
from ...core.timeutil import paris_today
from ...core.responses import fail
from ...core.view_actions import form_page, run_form
from ...extensions import db
from ...evaluations.models import SurveyAlert
from ...messaging import exports
from . import services as service
from .. import exports as quality_exports  # noqa: F401 - registers the exporters
from .forms import ActionEditForm, ActionForm
from ..models import ACTION_SOURCES, ACTION_STATUSES

bp = Blueprint("improvement_actions", __name__, url_prefix="/quality/actions")

ORIGIN_ARGS = ("request_id", "survey_alert_id", "session_id")


@bp.app_template_global("improvement_actions_by_alert")
def _improvement_actions_by_alert(alerts) -> dict:
    """For the survey alerts page: {alert id: [actions created from it]}, in one query."""
    return service.actions_by_alert(a.id for a in alerts)


def _filters() -> dict:
    status = request.args.get("status", "").strip()
    if status and status not in ACTION_STATUSES:
        fail(400, "Statut d'action inconnu : choisissez prévue, en cours, réalisée ou abandonnée.")
    source = request.args.get("source", "").strip()
    if source and source not in ACTION_SOURCES:
        fail(400, "Origine d'action inconnue.")
    return {"status": status or None, "source": source or None, "overdue": request.args.get("overdue") == "1"}


def _request_url(request_id: int | None) -> str | None:
    """The linked complaint's page."""
    return url_for("quality_requests.show", request_id=request_id) if request_id else None


@bp.route("/")
@staff_required
def index():
    filters = _filters()
    today = paris_today()
    listing = service.action_page(page_arg(), **filters, today=today)
    actions = listing.rows
    return render_template("quality/actions.html", actions=actions, listing=listing,
                           sessions=service.sessions_of(actions), filters=filters, today=today, overdue_count=len(service.overdue_actions(today)),
                           statuses=ACTION_STATUSES, sources=ACTION_SOURCES, is_overdue=service.is_overdue,
                           export_args={k: v for k, v in (("status", filters["status"]), ("source", filters["source"]),
                                                          ("overdue", "1" if filters["overdue"] else None)) if v})


@bp.route("/export.<any(csv, xlsx):fmt>", methods=["POST"])
@staff_required
def export(fmt: str):
    """The register's export, made by a task (quality/exports.py); the filters are the action URL's query."""
    filters = _filters()  # 400 at once for an unknown filter
    args = {"fmt": fmt, "status": filters["status"] or "", "source": filters["source"] or "",
            "overdue": "1" if filters["overdue"] else ""}
    return exports.export_response("improvement_actions", args, current_user,
                                   url_for("improvement_actions.index", **request.args))


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    args = {name: request.args.get(name, "").strip() for name in ORIGIN_ARGS}
    args = {name: value for name, value in args.items() if value}
    origin = service.load_origin(**args)  # 404 for an unknown request, alert or session
    form = ActionForm()
    form.set_owner_choices(service.owner_choices())
    if not form.is_submitted():
        for name, value in service.suggestion(origin.request, origin.alert).items():
            getattr(form, name).data = value
        form.owner_id.data = str(current_user.id)
        form.due_date.data = service.default_due_date()
    alert_was_open = origin.alert is not None and origin.alert.is_open
    ok, action = run_form(form, lambda: service.create_action(
        current_user, form.source.data, form.title.data, form.analysis.data, form.description.data,
        form.owner_id.data, form.due_date.data, **args))
    if ok:
        message = f"Action d'amélioration n° {action.id} enregistrée."
        if alert_was_open:
            message += " L'alerte de l'enquête est marquée traitée."
        flash(message, "success")
        return redirect(url_for("improvement_actions.show", action_id=action.id))
    return form_page("quality/action_new.html", form, origin=origin, args=args,
                     request_url=_request_url(origin.request.id if origin.request else None))


def _page_context(action) -> dict:
    alert = db.session.get(SurveyAlert, action.survey_alert_id) if action.survey_alert_id else None
    session = service.sessions_of([action]).get(action.session_id)
    return {"action": action, "alert": alert, "session": session, "overdue": service.is_overdue(action),
            "request_url": _request_url(action.request_id)}


@bp.route("/<int:action_id>")
@staff_required
def show(action_id: int):
    action = service.get_action(action_id)
    return render_template("quality/action_show.html", **_page_context(action))


@bp.route("/<int:action_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(action_id: int):
    action = service.get_action(action_id)
    form = ActionEditForm(obj=action) if request.method == "GET" else ActionEditForm()
    form.set_owner_choices(service.owner_choices(action.owner))
    if request.method == "GET":
        form.owner_id.data = str(action.owner_id) if action.owner_id else ""
    ok, saved = run_form(form, lambda: service.update_action(action, current_user, form.data_for_service()))
    if ok:
        flash(f"Action d'amélioration n° {saved.id} enregistrée ({saved.status_label.lower()}).", "success")
        return redirect(url_for("improvement_actions.show", action_id=saved.id))
    return form_page("quality/action_edit.html", form, **_page_context(action))
