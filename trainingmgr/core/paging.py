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
from .responses import fail

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


def paginate(query: Select, page: int, per_page: int = PER_PAGE, *, key=None, searched: bool = False) -> Page:
    """``query`` (ordered, with its loader options) cut to ``page``; a page past the end is empty, not an error.

    With ``key`` (the primary key column of the rows), the page's keys are chosen first, then their rows loaded
    (one statement more): a database that sorts whole rows (SQLite's temporary B-tree, when no index gives the
    order) then sorts narrow ones, and a page of wide rows (an invoice's JSON) costs the same deep in the history.
    With ``searched`` (a search no index serves: LIKE '%…%'), the total is counted with the rows (a window count),
    so that the table is read once, not twice; a page past the end, which has no row to carry it, counts apart."""
    cut = query.limit(per_page).offset((page - 1) * per_page)
    if searched and key is None:
        found = db.session.execute(cut.add_columns(func.count().over())).all()
        if found:
            return Page([row[0] for row in found], found[0][-1], page, per_page)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if key is None:
        rows = list(db.session.scalars(cut))
    else:
        keys = list(db.session.scalars(cut.with_only_columns(key, maintain_column_froms=True)))
        rows = list(db.session.scalars(query.where(key.in_(keys)))) if keys else []
    return Page(rows, total, page, per_page)
