"""The register of complaints, difficulties, hazards and mediation requests (Qualiopi 31), for advisors and admins.

/quality/requests/                      the register (filters by status and kind), with its CSV export
/quality/requests/new                   record a request received by phone, e-mail, mail or in person
/quality/requests/<id>                  one request: its fields, its timeline, the forms of the next steps
/quality/requests/<id>/transition       POST: one step of the workflow
/quality/requests/<id>/note             POST: an internal note
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.paging import page_arg
from ...core.responses import fail
from ...core.view_actions import form_page, run_form
from ...extensions import db
from ...messaging import exports
from .. import exports as quality_exports  # noqa: F401 - registers the exporters
from . import services as service
from ..models import REQUEST_KINDS, REQUEST_STATUSES
from .forms import NoteForm, RecordRequestForm, TransitionForm

bp = Blueprint("quality_requests", __name__, url_prefix="/quality/requests")

STATUS_FILTERS = {"open": "En cours", "overdue": "En retard", **REQUEST_STATUSES}


def _filters() -> tuple[str, str]:
    status = request.args.get("status", "open")
    kind = request.args.get("kind", "")
    if status and status not in STATUS_FILTERS:
        fail(400, "Statut inconnu : choisissez-en un dans la liste.")
    if kind and kind not in REQUEST_KINDS:
        fail(400, "Nature de demande inconnue : choisissez-en une dans la liste.")
    return status, kind


@bp.route("/")
@staff_required
def index():
    status, kind = _filters()
    today = service.today_in_paris()
    listing = service.request_page(page_arg(), status=status or None, kind=kind or None, today=today)
    return render_template("quality/requests.html", rows=listing.rows, listing=listing, status=status, kind=kind,
                           today=today,
                           statuses=STATUS_FILTERS, kinds=REQUEST_KINDS, service=service)


@bp.route("/export.csv", methods=["POST"])
@staff_required
def export():
    """The register's export, made by a task (quality/exports.py); the filters are the action URL's query."""
    status, kind = _filters()
    return exports.export_response("quality_requests", {"status": status, "kind": kind}, current_user,
                                   url_for("quality_requests.index", **request.args))


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    form = RecordRequestForm()
    form.set_sessions(service.staff_session_choices(), blank="— aucune —")
    ok, created = run_form(form, lambda: service.record_request(form.service_data(), current_user))
    if ok:
        flash(f"Demande {created.reference} enregistrée.", "success")
        return redirect(url_for("quality_requests.show", request_id=created.id))
    return form_page("quality/request_new.html", form)


@bp.route("/<int:request_id>")
@staff_required
def show(request_id: int):
    return _render_show(service.load_for_page(request_id))


def _render_show(req, status: int = 200, transition_form=None, note_form=None):
    return render_template(
        "quality/request_show.html", req=req, session=service.related_session(req),
        actions=[(name, service.TRANSITIONS[name]) for name in service.allowed_actions(req)],
        transition_form=transition_form, failed_action=transition_form.action.data if transition_form else None,
        blank_form=TransitionForm(formdata=None), note_form=note_form or NoteForm(formdata=None),
        event_labels=service.EVENT_LABELS, overdue=service.overdue_steps(req, service.today_in_paris()),
        late=service.answered_late(req), follow_url=service.follow_url(req) if not req.anonymised_at else None,
    ), status


def _after_post(request_id: int, form, form_name: str, action, success: str):
    """A POST on the request's page: back to it on success; the page again with the errors otherwise."""
    req = service.get_request(request_id)
    ok, _ = run_form(form, lambda: action(req))
    if ok:
        flash(success, "success")
        return redirect(url_for("quality_requests.show", request_id=request_id))
    db.session.expire_all()
    status = getattr(form, "error_status", 422) if form.errors else 400
    return _render_show(service.load_for_page(request_id), status, **{form_name: form})


@bp.route("/<int:request_id>/transition", methods=["POST"])
@staff_required
def transition(request_id: int):
    form = TransitionForm()
    step = service.TRANSITIONS.get(form.action.data or "")
    return _after_post(request_id, form, "transition_form",
                       lambda req: service.transition(req, form.action.data or "", form.service_data(), current_user),
                       f"Étape enregistrée : {step.label.lower()}." if step else "")


@bp.route("/<int:request_id>/note", methods=["POST"])
@staff_required
def note(request_id: int):
    form = NoteForm()
    return _after_post(request_id, form, "note_form",
                       lambda req: service.add_note(req, form.note.data, current_user), "Note ajoutée.")
