"""A short memory, in this process, of a few expensive reads: the value is kept for MEMO_SECONDS and forgotten at
once when this process commits a write to the database. Values kept must be plain data.

See docs/dashboard.md for what uses it and when it is forgotten."""
from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

from flask import current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..extensions import db

T = TypeVar("T")
DEFAULT_SECONDS = 60
_WROTE = "memo_wrote"  # Connection.info flag: this transaction wrote
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC", "MERGE ", "TRUNCA")

_lock = threading.Lock()
_generation = 0
_values: dict[tuple, tuple[int, float, object]] = {}


def _executed(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() in _WRITES:
        conn.info[_WROTE] = True


def _committed(conn) -> None:
    global _generation
    if conn.info.pop(_WROTE, False):
        with _lock:
            _generation += 1
            _values.clear()


def _rolled_back(conn) -> None:
    conn.info.pop(_WROTE, None)


def install() -> None:
    """Listen to every engine's statements and commits (idempotent)."""
    if not event.contains(Engine, "before_cursor_execute", _executed):
        event.listen(Engine, "before_cursor_execute", _executed)
        event.listen(Engine, "commit", _committed)
        event.listen(Engine, "rollback", _rolled_back)


def _writing() -> bool:
    """Whether the current request's transaction holds writes not committed yet."""
    session = db.session()
    return session.in_transaction() and bool(session.connection().info.get(_WROTE))


def remembered(name: str, day, compute: Callable[[], T]) -> T:
    """``compute()``'s value for ``name`` on ``day``, computed at most once per MEMO_SECONDS and per committed
    write. ``compute`` must return plain data."""
    seconds = int(current_app.config.get("MEMO_SECONDS", DEFAULT_SECONDS))
    if seconds <= 0 or _writing():
        return compute()
    key = (name, day, db.engine.url.render_as_string(hide_password=True))
    now = time.monotonic()
    with _lock:
        generation = _generation
        found = _values.get(key)
    if found is not None and found[0] == generation and found[1] > now:
        return found[2]  # type: ignore[return-value]
    value = compute()
    with _lock:
        if generation == _generation:  # a write committed meanwhile: the value may already be stale
            _values[key] = (generation, now + seconds, value)
    return value


def forget() -> None:
    """Forget every value (tests, commands that change the configuration)."""
    global _generation
    with _lock:
        _generation += 1
        _values.clear()
