"""Staff pages of the survey and evaluation results: a year, a session, a course; their CSV and XLSX exports."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ...accounts.permissions import staff_required
from ...catalogue.services import get_course
from ...core.responses import fail
from ...core.timeutil import paris_today
from ...messaging import exports
from ...sessions.services import get_session
from ..models import QUESTIONNAIRE_KINDS
from ..questionnaires.services import POSITIONING
from . import (
    charts,
    export_task,  # noqa: F401 - registers the exporter
)
from . import services as service
from .figures import Results

bp = Blueprint("results", __name__, url_prefix="/evaluations")
# The kinds the results' filter offers: every kind but positioning.
FILTER_KINDS = {kind: label for kind, label in QUESTIONNAIRE_KINDS.items() if kind != POSITIONING}


def _year(required: bool) -> int | None:
    raw = request.args.get("year", "").strip()
    if not raw:
        return paris_today().year if required else None
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        fail(400, f"Année invalide : « {raw} ».")
    return int(raw)


def _kinds() -> list[str] | None:
    kind = request.args.get("kind", "").strip()
    if not kind:
        return None
    if kind not in QUESTIONNAIRE_KINDS:
        fail(400, "Type de questionnaire inconnu.")
    return [kind]


def _charts(results: Results) -> dict:
    """{"averages": {group key: svg}, "distributions": {(group key, question key): svg}} as safe markup."""
    averages, distributions = {}, {}
    for group in results.questionnaires:
        svg = charts.averages_chart(group)
        if svg:
            averages[group.key] = Markup(svg)
        for question in group.scale_questions:
            if question.answers:
                distributions[(group.key, question.key)] = Markup(charts.distribution_chart(question))
    return {"averages": averages, "distributions": distributions}


def _page(template: str, results: Results, **context):
    return render_template(template, results=results, charts=_charts(results), kinds=FILTER_KINDS,
                           kind=request.args.get("kind", ""), **context)


def _export(fmt: str, back_url: str, **scope) -> Response:
    """Start the export task (results_exports) and show its page; bad filters refused at once."""
    args = {name: request.args.get(name, "") for name in ("year", "du", "au", "kind")}
    args.update(fmt=fmt, **{name: str(value) for name, value in scope.items()})
    return exports.export_response("evaluations", args, current_user, back_url)


def _period() -> tuple[dt.date, dt.date] | None:
    """?du=AAAA-MM-JJ&au=AAAA-MM-JJ (both or neither): a period instead of a calendar year."""
    raw = {name: request.args.get(name, "").strip() for name in ("du", "au")}
    if not any(raw.values()):
        return None
    try:
        start, end = (dt.date.fromisoformat(raw[name]) for name in ("du", "au"))
    except ValueError:
        fail(400, "Période invalide : indiquez « du » et « au » au format AAAA-MM-JJ.")
    if end < start:
        fail(400, "La fin de la période précède son début.")
    return start, end


def _selected_results() -> tuple[Results, int | None]:
    """The results of the period asked for (du, au), else of the year (this year by default)."""
    period = _period()
    if period is not None:
        return service.period_results(*period, _kinds()), None
    year = _year(required=True)
    return service.year_results(year, _kinds()), year


@bp.route("/")
@staff_required
def index():
    results, year = _selected_results()
    return _page("evaluations/results_index.html", results, year=year,
                 years=service.available_years(paris_today().year))


@bp.route("/export.<any(csv, xlsx):fmt>", methods=["POST"])
@staff_required
def export_year(fmt: str):
    """The year's (or the period's) export, made by a task; the filters are the action URL's query string."""
    return _export(fmt, url_for("results.index", **request.args))


@bp.route("/sessions/<int:session_id>")
@staff_required
def session(session_id: int):
    training_session = get_session(session_id, current_user)
    return _page("evaluations/results_session.html", service.session_results(training_session, _kinds()),
                 session=training_session)


@bp.route("/sessions/<int:session_id>/export.<any(csv, xlsx):fmt>", methods=["POST"])
@staff_required
def export_session(session_id: int, fmt: str):
    return _export(fmt, url_for("results.session", session_id=session_id, **request.args), session_id=session_id)


@bp.route("/courses/<int:course_id>")
@staff_required
def course(course_id: int):
    found = get_course(course_id)
    year = _year(required=False)
    return _page("evaluations/results_course.html", service.course_results(found, year, _kinds()), course=found,
                 year=year, years=service.available_years(paris_today().year))


@bp.route("/courses/<int:course_id>/export.<any(csv, xlsx):fmt>", methods=["POST"])
@staff_required
def export_course(course_id: int, fmt: str):
    return _export(fmt, url_for("results.course", course_id=course_id, **request.args), course_id=course_id)
