"""Gapless yearly numbering of invoices (F2026-0001…), credit notes (A2026-0001…) and quotes (DEV-2026-0001…).

A number is taken inside the transaction that issues the document (a quote: that creates it, draft included,
since a quote is never deleted), by incrementing the year's row of
``invoice_sequence``: the row stays locked until that transaction ends (PostgreSQL: the UPDATE's row lock;
SQLite: the database's write lock, taken at once with BEGIN IMMEDIATE by
``core.persistence.serialise_sqlite_writes``),
so simultaneous issues get consecutive numbers, and a transaction rolled back after taking a number gives it
back (the increment is rolled back with everything else): no number is ever skipped or used twice.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.persistence import serialise_sqlite_writes
from ..extensions import db
from .models import InvoiceSequence

PREFIXES = {"invoice": "F", "credit_note": "A", "quote": "DEV-"}


def format_number(kind: str, year: int, sequence: int) -> str:
    """F2026-0001, DEV-2026-0001 (at least four digits)."""
    return f"{PREFIXES[kind]}{year}-{sequence:04d}"


def next_number(kind: str, year: int) -> tuple[str, int]:
    """Take the next number of ``kind`` ("invoice", "credit_note" or "quote") for ``year``: (F2026-0001, 1).

    The caller's transaction holds the year's sequence until it commits (the number is then used) or rolls
    back (the number was never taken)."""
    if kind not in PREFIXES:
        raise ValueError(f"unknown numbering kind {kind!r}")
    serialise_sqlite_writes()  # PostgreSQL: the UPDATE below locks the year's row
    table = InvoiceSequence.__table__
    dialect = db.session.connection().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # The year's first number creates its row; a simultaneous creator waits, then finds it (no error).
    db.session.execute(insert(table).values(kind=kind, year=year, last_number=0)
                       .on_conflict_do_nothing(index_elements=["kind", "year"]))
    sequence = db.session.execute(
        update(table).where(table.c.kind == kind, table.c.year == year)
        .values(last_number=table.c.last_number + 1).returning(table.c.last_number)
    ).scalar_one()
    return format_number(kind, year, sequence), sequence


def last_number(kind: str, year: int) -> int:
    """The last number given for ``kind`` and ``year`` (0 when none)."""
    row = db.session.get(InvoiceSequence, (kind, year))
    return row.last_number if row is not None else 0
