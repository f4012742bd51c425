"""Database helpers shared by the services."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from ..extensions import db

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
