"""The quality to-do shown on the advisor's dashboard: overdue request steps, overdue improvement actions and
overdue checklist items."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..core.memo import remembered
from ..core.timeutil import paris_today
from .actions.services import overdue_actions
from .checklist.services import overdue_items
from .complaints.services import overdue_requests


@dataclass(frozen=True)
class SessionRef:
    """What the dashboard shows of a session with late items: its id and its label."""

    id: int
    label: str


@dataclass(frozen=True)
class LateItem:
    """An overdue checklist item, as plain data (kept by core/memo.py between two visits)."""

    session: SessionRef
    key: str
    label: str
    due: dt.date


def late_checklist_items(today: dt.date) -> list[LateItem]:
    """checklist.overdue_items as plain data, kept a minute per process (core/memo.py: evaluating every item of
    the window's sessions costs more than the rest of the dashboard)."""
    def compute() -> list[LateItem]:
        return [LateItem(SessionRef(o.session.id, o.session.label), o.key, o.label, o.due)
                for o in overdue_items(today)]

    return remembered("overdue_checklist", today, compute)


def by_session(items: list[LateItem]) -> list[tuple[SessionRef, list[LateItem]]]:
    """``items`` grouped per session, sessions by id (what the dashboard lists; in Python, not in the template: a
    template's groupby over a few hundred items cost about a millisecond)."""
    groups: dict[int, tuple[SessionRef, list[LateItem]]] = {}
    for item in items:
        groups.setdefault(item.session.id, (item.session, []))[1].append(item)
    return [groups[key] for key in sorted(groups)]


def quality_todo(today: dt.date | None = None) -> dict:
    today = today or paris_today()
    late = late_checklist_items(today)
    return {
        "overdue_requests": overdue_requests(today),
        "overdue_actions": overdue_actions(today),
        "overdue_checklist": late,
        "overdue_checklist_groups": by_session(late),
    }
