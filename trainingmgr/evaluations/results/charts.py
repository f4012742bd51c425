"""The results' charts: SVG made here with pygal, without its JavaScript, inlined in the results pages."""
from __future__ import annotations

import re
from decimal import Decimal

import pygal
from pygal.style import Style

from ...core.formatting import number_fr
from ..kinds import SCALE_NOTES
from .figures import QuestionnaireResult, QuestionResult

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
CHART_COLOURS = ("#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545")


def _french(value) -> str:
    if value is None:
        return ""
    return number_fr(Decimal(str(value)))


def _chart_style():
    return Style(background="transparent", plot_background="transparent", colors=CHART_COLOURS,
                 font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
                 label_font_size=12, major_label_font_size=12, value_font_size=12, title_font_size=14,
                 foreground="#212529", foreground_strong="#212529", foreground_subtle="#6c757d")


def _svg(chart) -> str:
    """The chart's SVG without its script (pygal's tooltips need JavaScript) nor comments, ready to inline."""
    svg = chart.render(is_unicode=True)
    return _COMMENT.sub("", _SCRIPT.sub("", svg)).strip()


def _shorten(text: str, size: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def distribution_chart(question: QuestionResult) -> str:
    """Bars of the number of answers per note (1 to 5) of a scale question."""
    chart = pygal.Bar(js=[], disable_xml_declaration=True, style=_chart_style(), show_legend=False, width=420,
                      height=240, print_values=True, print_values_position="top", value_formatter=_french, x_title="Note",
                      y_title="Réponses", margin=8, explicit_size=False,
                      no_data_text="Aucune réponse")
    chart.x_labels = [str(n) for n in SCALE_NOTES]
    counts = question.distribution or {}
    values = [counts.get(n, 0) for n in SCALE_NOTES]
    top = max(values + [1])
    step = -(-top // 5)  # whole numbers of answers on the axis, five marks at most
    chart.y_labels = list(range(0, top + step, step))
    chart.range = (0, chart.y_labels[-1])
    chart.add("Réponses", values)
    return _svg(chart)


def averages_chart(group: QuestionnaireResult) -> str | None:
    """Horizontal bars of the average of each scale question (0 to 5); None without any answer."""
    scale = [q for q in group.scale_questions if q.answers]
    if not scale:
        return None
    chart = pygal.HorizontalBar(js=[], disable_xml_declaration=True, style=_chart_style(), show_legend=False,
                                width=720, height=70 + 38 * len(scale), print_values=True,
                                value_formatter=_french, range=(0, 5), include_x_axis=True, margin=8,
                                explicit_size=False, truncate_label=-1, title=None, y_labels_major_every=None)
    # pygal draws the first label at the bottom: reversed, the chart reads in the questionnaire's order.
    ordered = list(reversed(scale))
    chart.x_labels = [_shorten(q.text) for q in ordered]
    chart.add("Moyenne sur 5", [float(q.average) for q in ordered])
    return _svg(chart)


