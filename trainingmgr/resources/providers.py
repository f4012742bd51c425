"""What the resources' pages and rules ask of the sessions, answered by a higher package that registers the answer
at import (portals/trainer/history.py; create_app imports it): resources never import sessions.

- "trainer_sessions" (trainer) and "location_sessions" (location): the sessions they had, latest first;
- "trainer_slots" (trainer, first, last): the half-days the trainer is planned on in that period;
- "sessions_exceeding_room" (location, capacity): the sessions there that a smaller room would not hold.
"""
from __future__ import annotations

from collections.abc import Callable

MAX_SESSIONS = 50  # the sessions a trainer's or location's page lists: the latest ones; the sessions list has the others

_providers: dict[str, Callable[..., list]] = {}


def register(name: str, provider: Callable[..., list]) -> None:
    """Let ``provider`` answer the question ``name`` (one of the module's list)."""
    _providers[name] = provider


def ask(name: str, *args) -> list:
    """The registered answer; LookupError when its package was not imported (create_app does)."""
    try:
        provider = _providers[name]
    except KeyError:
        raise LookupError(f"nothing answers {name!r}: create the app first") from None
    return provider(*args)
