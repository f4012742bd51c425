"""The « Dossier d'audit » page (staff): the period, the sessions held in it with the ones the application would
draw, and the button that starts the pack's task (quality/audit_pack.py); the task's page then offers the zip."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.errors import DomainError
from ...core.timeutil import paris_today
from ...core.view_actions import form_page, run_form
from .. import audit_pack
from ..board.services import resolve_period
from . import selection
from .forms import AuditPackForm

bp = Blueprint("audit_pack", __name__, url_prefix="/quality")


def _date_arg(name: str) -> dt.date | None:
    """A date of the address (the board's link passes its period), or None when absent or unreadable."""
    try:
        return dt.date.fromisoformat(request.args.get(name, "").strip()[:10])
    except ValueError:
        return None


def _candidates(form: AuditPackForm):
    """The sessions held in the form's period (none while it is invalid) and those the application would draw."""
    try:
        period = selection.check_period(form.since.data, form.until.data)
        size = selection.check_sample(form.sample.data)
    except DomainError:
        return None, [], set()
    held = selection.held_sessions(period)
    return period, held, {s.id for s in selection.sample(period, size, held)}


@bp.route("/audit-pack", methods=["GET", "POST"])
@staff_required
def form():
    if request.method == "POST":
        form = AuditPackForm()
    else:
        try:
            since, until = resolve_period(_date_arg("depuis"), _date_arg("jusqu"), paris_today())
        except DomainError:  # reversed or out of range: the last 12 months
            since, until = resolve_period(None, None, paris_today())
        form = AuditPackForm(data={"since": since, "until": until, "sample": selection.DEFAULT_SAMPLE})
    period, held, drawn = _candidates(form)
    form.sessions.choices = [(str(s.id), s.label) for s in held]
    ok, task = run_form(form, lambda: audit_pack.start_audit_pack(
        audit_pack.plan_pack(form.since.data, form.until.data, audit_pack.parse_ids(form.sessions.data),
                             form.sample.data),
        current_user, url_for("audit_pack.form")))
    if ok:
        return redirect(url_for("tasks.show", task_id=task.id), 303)
    return form_page("quality/audit_pack.html", form, period=period, held=held, drawn=drawn)
