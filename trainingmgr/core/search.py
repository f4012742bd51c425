"""The lists' searches: a column holds a text, case aside, at the cost of one LIKE per row."""
from __future__ import annotations

from sqlalchemy import func

from ..extensions import db


def holds(column, text: str):
    """SQL condition: ``column`` holds ``text`` whatever the case ("%" and "_" looked for as they are).

    SQLite's LIKE already ignores the case of ASCII letters, exactly as far as its lower() folds them (neither
    folds É into é): the bare LIKE gives the same answers as lower(column) LIKE, three times cheaper on every row
    a search has to read. PostgreSQL: lower(column) LIKE, which reads a table faster than ILIKE does."""
    if db.engine.dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return func.lower(column).contains(text.lower(), autoescape=True)
