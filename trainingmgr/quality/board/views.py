"""The Qualiopi board page (staff): the 32 indicators with the evidence held over a period and the gaps to fix."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from ...accounts.permissions import staff_required
from ...core.timeutil import paris_today
from ...core.responses import fail
from . import services as service

bp = Blueprint("qualiopi", __name__, url_prefix="/quality")

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
# Pages of the quality register written alongside this board: linked only once they exist.
REGISTER_ENDPOINTS = ("quality_requests.index", "improvement_actions.index")


def _date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if not DATE_FORMAT.fullmatch(raw):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        fail(400, f"Date invalide : « {shown} » (format attendu AAAA-MM-JJ).")


def _href(link: service.Link | None, **values) -> str | None:
    """The address of ``link``, or None when it is not for this user."""
    if link is None:
        return None
    if link.admin_only and not current_user.has_role("admin"):
        return None
    try:
        return url_for(link.endpoint, **{**link.values, **values})
    except BuildError:
        return None


def _checklist_href(session_id: int) -> str | None:
    return _href(service.Link("Check-list", "session_checklist.show"), session_id=session_id)


@bp.route("/qualiopi")
@staff_required
def board():
    today = paris_today()
    since, until = service.resolve_period(_date_arg("depuis"), _date_arg("jusqu"), today)
    result = service.build_board(since, until, today)
    registers = [service.Link(label, endpoint) for label, endpoint in
                 (("Registre des réclamations", REGISTER_ENDPOINTS[0]),
                  ("Actions d'amélioration", REGISTER_ENDPOINTS[1]))]
    return render_template("quality/board.html", board=result, href=_href, checklist_href=_checklist_href,
                           registers=[r for r in registers if _href(r)], statuses=service.STATUS_LABELS,
                           default_period=(since, until) == service.resolve_period(None, None, today))
