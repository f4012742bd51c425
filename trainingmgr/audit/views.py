"""The audit page /admin/audit: who created, changed or cancelled what, with the before/after values.

Read by admins and advisors: the advisors run the day-to-day work and show the trail to a Qualiopi
auditor or an OPCO; nothing can be changed from this page. Trainers (403) do not see it."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..accounts.permissions import staff_required
from ..core.errors import ValidationError
from ..core.forms import choices
from ..core.paging import page_arg
from . import display, services
from .forms import AuditFilterForm
from .models import ACTION_LABELS

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.route("/")
@staff_required
def index():
    form = AuditFilterForm(formdata=request.args)
    form.actor_id.choices = choices(((str(i), label) for i, label in services.actor_choices()), blank="Tous")
    page = page_arg()
    entries, total, status = [], 0, 200
    parsed = form.validate()
    data = form.data_for_service()
    raw_actor = (data.get("actor_id") or "").strip()
    data["actor_id"] = int(raw_actor) if raw_actor.isdigit() and len(raw_actor) <= 10 else None
    if raw_actor and data["actor_id"] is None:
        form.actor_id.errors = list(form.actor_id.errors) + ["Compte inconnu."]
        parsed = False
    try:
        filters = services.clean_filters(data)
    except ValidationError as exc:
        form.apply_errors(exc, keep_existing=True)
        filters = None
    if parsed and filters is not None:
        entries, total = services.search(filters, page)
    else:
        status = 422
    pages = max(1, -(-total // services.PER_PAGE))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/index.html", form=form, entries=display.present(entries), total=total, page=page,
                           pages=pages, args=args, actions=ACTION_LABELS), status
