"""Lists shown a page at a time: the ``page`` argument of a list's URL, and one page of a query with its total.

A page costs two SQL statements (the count, then the rows), whatever the table holds; what the rows show of
their relations is loaded by the caller's query options (selectinload), never one row at a time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, func, select

from ..extensions import db
from .web import fail

PER_PAGE = 50
MAX_PAGE = 100_000


def page_arg() -> int:
    """The ``page`` argument of the request (1 when absent); anything else than 1…MAX_PAGE is a 400 in French."""
    raw = request.args.get("page", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        fail(400, f"Numéro de page invalide : « {raw[:20]} ».")
    return int(raw)


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the total of the whole selection, and where it stands."""

    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def paginate(query: Select, page: int, per_page: int = PER_PAGE) -> Page:
    """``query`` (ordered, with its loader options) cut to ``page``; a page past the end is empty, not an error."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, total, page, per_page)
