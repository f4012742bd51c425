"""The quality to-do shown on the advisor's dashboard: overdue request steps, overdue improvement actions and
overdue checklist items."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..core.memo import remembered
from ..core.timeutil import paris_today


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
    from .checklist import overdue_items

    def compute() -> list[LateItem]:
        return [LateItem(SessionRef(o.session.id, o.session.label), o.key, o.label, o.due)
                for o in overdue_items(today)]

    return remembered("overdue_checklist", today, compute)


def quality_todo(today: dt.date | None = None) -> dict:
    from .actions import overdue_actions
    from .requests import overdue_requests

    today = today or paris_today()
    return {
        "overdue_requests": overdue_requests(today),
        "overdue_actions": overdue_actions(today),
        "overdue_checklist": late_checklist_items(today),
    }
