"""The current request's path as it may be logged: its route rule, never a personal link's token."""
from __future__ import annotations

from flask import request

# Path segments longer than this are left out of the log of an unmatched request.
_MAX_SEGMENT = 24


def masked_path(path: str) -> str:
    """``path`` with every long segment (where a token would be) replaced by "…"."""
    parts = [part if len(part) <= _MAX_SEGMENT else "…" for part in path.split("/")]
    return "/".join(parts)[:200] or "/"


def loggable_path() -> str:
    """The current request's route rule, or its path with the long segments masked: never a token."""
    return request.url_rule.rule if request.url_rule is not None else masked_path(request.path)
