"""The quality registers' exports made by an export task (messaging/exports.py): the improvement actions (CSV,
XLSX) and the complaints register (CSV), with the filters of their pages.

``flask exports run improvement_actions --param fmt=xlsx --param status=done --out actions.xlsx``;
``flask exports run quality_requests --param status= --out registre.csv`` (every request; « open » by default)."""
from __future__ import annotations

from collections.abc import Mapping

from ..core.errors import ValidationError
from ..messaging import exports
from .actions import services as actions
from .complaints import services as complaints
from .models import ACTION_SOURCES, ACTION_STATUSES, OPEN_FILTER, OVERDUE_FILTER, REQUEST_KINDS, REQUEST_STATUSES

ACTION_FORMATS = {"csv": (exports.CSV, actions.to_csv), "xlsx": (exports.XLSX, actions.to_xlsx)}
REQUEST_STATUS_FILTERS = (OPEN_FILTER, OVERDUE_FILTER, *REQUEST_STATUSES)


def _arg(args: Mapping[str, str], name: str, default: str = "") -> str:
    value = args.get(name)
    return default if value is None else str(value).strip()


def parse_actions(args: Mapping[str, str], actor) -> dict:
    """fmt (csv, xlsx), status, source, overdue (1): the register page's filters."""
    fmt, status, source = _arg(args, "fmt"), _arg(args, "status"), _arg(args, "source")
    if fmt not in ACTION_FORMATS:
        raise ValidationError("Format d'export inconnu : choisissez csv ou xlsx.", field="fmt")
    if status and status not in ACTION_STATUSES:
        raise ValidationError("Statut d'action inconnu : choisissez prévue, en cours, réalisée ou abandonnée.",
                              field="status")
    if source and source not in ACTION_SOURCES:
        raise ValidationError("Origine d'action inconnue.", field="source")
    return {"fmt": fmt, "status": status or None, "source": source or None, "overdue": _arg(args, "overdue") == "1"}


@exports.exporter("improvement_actions", lambda p: f"Export des actions d'amélioration ({p['fmt'].upper()})",
                  parse_actions)
def build_actions(params: dict, actor, rows) -> exports.Built:
    found = actions.list_actions(status=params["status"], source=params["source"], overdue=params["overdue"])
    content_type, write = ACTION_FORMATS[params["fmt"]]
    register = actions.Register(found, actions.sessions_of(found))
    return exports.Built(write(register, rows), actions.export_filename(params["fmt"]), content_type)


def parse_requests(args: Mapping[str, str], actor) -> dict:
    """status (« open » when absent, empty for every request, « overdue », or a status) and kind."""
    status, kind = _arg(args, "status", "open"), _arg(args, "kind")
    if status and status not in REQUEST_STATUS_FILTERS:
        raise ValidationError("Statut inconnu : choisissez-en un dans la liste.", field="status")
    if kind and kind not in REQUEST_KINDS:
        raise ValidationError("Nature de demande inconnue : choisissez-en une dans la liste.", field="kind")
    return {"status": status or None, "kind": kind or None}


@exports.exporter("quality_requests", lambda p: "Export du registre des réclamations (CSV)", parse_requests)
def build_requests(params: dict, actor, rows) -> exports.Built:
    today = complaints.today_in_paris()
    found = complaints.list_requests(status=params["status"], kind=params["kind"], today=today)
    return exports.Built(complaints.export_csv(found, today, rows), f"registre-reclamations-{today}.csv", exports.CSV)
