"""Database helpers shared by the services."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .errors import NotFoundError
from .validation import id_or_none

T = TypeVar("T")


def insert_or_find(obj: T, find: Callable[[], T | None]) -> T:
    """Insert ``obj``, or return the row another transaction inserted with the same unique key meanwhile.

    Looking a row up then inserting it races with a simultaneous request doing the same (PostgreSQL lets
    both look, then refuses the second insert): the insert runs in a savepoint, and on a unique-key
    violation the row that won is read back instead of failing the whole request.
    """
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found
    return obj


def lock_row(model, pk: int) -> None:
    """Serialise, until the transaction ends, whatever works on that row.

    PostgreSQL: the row is locked (SELECT … FOR UPDATE). SQLite: the transaction becomes a write
    transaction at once (BEGIN IMMEDIATE), which SQLite grants to one connection at a time; if this
    transaction has already written, it holds that lock already. A row this transaction has locked already (here, or
    by a statement that said so: ``mark_row_locked``) costs no statement.
    """
    if serialise_sqlite_writes() or (model.__table__.name, pk) in _rows_locked():
        return
    db.session.connection().execute(_lock_statement(model.__table__), {"pk": pk})
    mark_row_locked(model, pk)


def mark_row_locked(model, pk: int) -> None:
    """Say that the statement just run locked ``model``'s row ``pk`` (SELECT … FOR UPDATE OF its table, beside the
    rows it loads): ``lock_row`` of that row then costs no statement until this transaction (or savepoint) ends."""
    _rows_locked().add((model.__table__.name, pk))


_LOCKS = "row_locks"  # session.info key: (the transaction or savepoint that took them, {(table name, pk)})


def _rows_locked() -> set:
    """The rows locked in the current transaction or savepoint. Kept per savepoint: a lock taken in a savepoint
    rolled back is released; one taken before it is asked for again inside it (granted at once)."""
    session = db.session()
    current = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_LOCKS)
    if held is None or held[0] is not current:
        held = session.info[_LOCKS] = (current, set())
    return held[1]


@functools.cache
def _lock_statement(table):
    """SELECT id … FOR UPDATE of ``table``'s row ``pk``: built once per table (Core, no ORM overhead)."""
    return select(table.c.id).where(table.c.id == bindparam("pk")).with_for_update()


def serialise_sqlite_writes() -> bool:
    """On SQLite, make the current transaction a write transaction now (BEGIN IMMEDIATE), unless it already is;
    SQLite grants that to one connection at a time. Whether the database is SQLite (other databases need their
    own lock: a row lock, an advisory lock)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return False
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def get_by_id(model: type[T], pk, message: str) -> T:
    """The row of ``model`` with this id, or NotFoundError(``message``) — also for ids no row can have."""
    number = id_or_none(pk)
    row = None if number is None else db.session.get(model, number)
    if row is None:
        raise NotFoundError(message)
    return row
