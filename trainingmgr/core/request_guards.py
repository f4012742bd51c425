"""Checks on every request before any work: ids in URLs that name no row, NUL characters in the input."""
from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

from .responses import fail
from .validation import MAX_ID

NUL_MESSAGE = "La requête contient un caractère nul, qui n'est pas accepté."


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs holds database ids: a number beyond MAX_ID becomes 0, which names no row, so
    the page answers 404 instead of sending an out-of-range integer to the database."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def reject_nul_characters():
    """No text field may hold a NUL character (PostgreSQL refuses them): answer 400 before any work."""
    if _holds_nul(request.path) or _holds_nul(list(request.args.items(multi=True))):
        fail(400, NUL_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH"):
        if request.is_json:
            if _holds_nul(request.get_json(silent=True)):
                fail(400, NUL_MESSAGE)
        elif _holds_nul(list(request.form.items(multi=True))):
            fail(400, NUL_MESSAGE)
