"""CSV and XLSX exports for French spreadsheets: UTF-8 with BOM, ";" between cells, decimal commas, dates
25/11/2026, and no cell a spreadsheet would take for a formula."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Iterable, Sequence

from .formatting import date_fr
from .timeutil import PARIS


def safe_text(value: str) -> str:
    """A cell that a spreadsheet would take for a formula is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return date_fr(value)
    if isinstance(value, str):
        return safe_text(value)
    return str(value)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_cell(value):
    return safe_text(value) if isinstance(value, str) else value
