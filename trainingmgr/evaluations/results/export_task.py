"""The survey results' CSV and XLSX exports (a year or a period, a session, a course), made by an export task
(messaging/exports.py): ``flask exports run evaluations --param fmt=csv --param year=2031 --out r.csv``."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ...catalogue.services import get_course
from ...core.errors import ValidationError
from ...core.timeutil import paris_today
from ...core.validation import id_or_none
from ...messaging import exports
from ...sessions.services import get_session
from . import services as service
from . import spreadsheets

FORMATS = {"csv": (exports.CSV, spreadsheets.to_csv), "xlsx": (exports.XLSX, spreadsheets.to_xlsx)}


def _year(raw: str, required: bool) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return paris_today().year if required else None
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise ValidationError(f"Année invalide : « {raw} ».", field="year")
    return int(raw)


def _period(args: Mapping[str, str]) -> tuple[str, str] | None:
    raw = {name: (args.get(name) or "").strip() for name in ("du", "au")}
    if not any(raw.values()):
        return None
    try:
        start, end = (dt.date.fromisoformat(raw[name]) for name in ("du", "au"))
    except ValueError:
        raise ValidationError("Période invalide : indiquez « du » et « au » au format AAAA-MM-JJ.") from None
    if end < start:
        raise ValidationError("La fin de la période précède son début.")
    return start.isoformat(), end.isoformat()


def _id(args: Mapping[str, str], name: str, what: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    value = id_or_none(raw)
    if value is None:
        raise ValidationError(f"{what} inconnue : « {raw} ».", field=name)
    return value


def parse(args: Mapping[str, str], actor) -> dict:
    """fmt (csv, xlsx), kind; then session_id, or course_id (and year), or a period (du, au), or a year."""
    fmt = (args.get("fmt") or "").strip()
    if fmt not in FORMATS:
        raise ValidationError("Format d'export inconnu : choisissez csv ou xlsx.", field="fmt")
    kind = (args.get("kind") or "").strip() or None
    service.check_kinds([kind] if kind else None)
    params: dict = {"fmt": fmt, "kind": kind}
    session_id, course_id = _id(args, "session_id", "Session"), _id(args, "course_id", "Formation")
    if session_id is not None:
        params["session_id"] = get_session(session_id, actor).id  # 404, or 403 for a trainer not teaching it
    elif course_id is not None:
        params.update(course_id=get_course(course_id).id, year=_year(args.get("year", ""), required=False))
    elif (period := _period(args)) is not None:
        params["period"] = list(period)
    else:
        params["year"] = _year(args.get("year", ""), required=True)
    return params


def results_of(params: dict, actor) -> service.Results:
    kinds = [params["kind"]] if params.get("kind") else None
    if params.get("session_id"):
        return service.session_results(get_session(params["session_id"], actor), kinds)
    if params.get("course_id"):
        return service.course_results(get_course(params["course_id"]), params.get("year"), kinds)
    if params.get("period"):
        start, end = (dt.date.fromisoformat(day) for day in params["period"])
        return service.period_results(start, end, kinds)
    return service.year_results(params["year"], kinds)


def label(params: dict) -> str:
    if params.get("session_id"):
        scope = "d'une session"
    elif params.get("course_id"):
        scope = "d'une formation"
    elif params.get("period"):
        scope = "d'une période"
    else:
        scope = f"de l'année {params['year']}"
    return f"Export des résultats des évaluations {scope} ({params['fmt'].upper()})"


@exports.exporter("evaluations", label, parse)
def build(params: dict, actor, rows) -> exports.Built:
    results = results_of(params, actor)
    content_type, write = FORMATS[params["fmt"]]
    return exports.Built(write(results, rows), spreadsheets.export_filename(results, params["fmt"]), content_type)
