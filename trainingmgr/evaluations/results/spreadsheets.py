"""The results as a table: one row per question (``export_rows``), written as CSV for French Excel or as an
XLSX workbook with the comments and the acquis."""
from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable

from ...core.spreadsheet import csv_bytes, xlsx_cell
from ..kinds import SCALE_NOTES
from .figures import Results

EXPORT_HEADERS = ["Questionnaire", "Question", "Type", "Invitations", "Répondants", "Taux de réponse (%)",
                  "Réponses", "Moyenne", "Note 1", "Note 2", "Note 3", "Note 4", "Note 5",
                  "Choix : effectif (%)", "NPS", "Promoteurs", "Passifs", "Détracteurs"]


def export_rows(results: Results) -> list[list]:
    """One row per question of each questionnaire, with the raw values (Decimal, int, str, None)."""
    rows = []
    for group in results.questionnaires:
        for question in group.questions:
            distribution = question.distribution or {}
            nps = question.nps
            rows.append([
                group.label, question.text, question.kind_label, group.invitations, group.responded,
                group.response_rate, question.answers, question.average,
                *[distribution.get(n) if question.distribution is not None else None for n in SCALE_NOTES],
                question.choices_label or None,
                nps.score if nps else None, nps.promoters if nps else None, nps.passives if nps else None,
                nps.detractors if nps else None,
            ])
    return rows


def to_csv(results: Results, counted: Callable[[list], Iterable] = iter) -> bytes:
    """The table of ``export_rows`` for French Excel: UTF-8 with BOM, ";" between cells, decimal comma.
    ``counted`` wraps the rows as they are written (an export task's progress)."""
    return csv_bytes(EXPORT_HEADERS, counted(export_rows(results)))


def to_xlsx(results: Results, counted: Callable[[list], Iterable] = iter) -> bytes:
    """A workbook: « Résultats » (the table of ``export_rows``, wrapped by ``counted``), « Commentaires »,
    « Acquis »."""
    from openpyxl import Workbook  # loaded only when an XLSX is built (75 ms), not at each start

    book = Workbook()
    ws = book.active
    ws.title = "Résultats"
    _sheet(ws, EXPORT_HEADERS, counted(export_rows(results)), [40, 50, 18] + [12] * 10 + [40, 8, 11, 9, 12])
    for row in ws.iter_rows(min_row=2):
        row[5].number_format = "0.0"
        row[7].number_format = "0.00"
        row[14].number_format = "0.0"
    _sheet(book.create_sheet("Commentaires"),
          ["Questionnaire", "Question", "Session", "Date", "Personne", "Commentaire"],
          [[g.label, c.question, f"{c.session_title} {c.session_dates}".strip(), c.date, c.name or "", c.text]
           for g in results.questionnaires for c in g.comments], [40, 40, 40, 12, 25, 80])
    _sheet(book.create_sheet("Acquis"), ["Objectif", "Évalués", "Acquis", "Partiellement acquis", "Non acquis",
                                        "Acquis (%)", "Partiellement acquis (%)", "Non acquis (%)"],
          [[a.objective, a.assessed, a.acquired, a.partial, a.not_acquired, a.percents["acquired"],
            a.percents["partial"], a.percents["not_acquired"]] for a in results.acquis], [60] + [14] * 7)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(ws, headers, rows, widths) -> None:
    from openpyxl.styles import Font  # with the workbook (to_xlsx)
    from openpyxl.utils import get_column_letter

    ws.append(headers)
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in rows:
        ws.append([xlsx_cell(v) for v in row])
    ws.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def export_filename(results: Results, suffix: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(results.title).lower()).strip("-") or "resultats"
    return f"evaluations-{slug[:60]}.{suffix}"


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
