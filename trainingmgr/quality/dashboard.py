"""The quality to-do shown on the advisor's dashboard: overdue request steps, overdue improvement actions and
overdue checklist items."""
from __future__ import annotations

import datetime as dt

from ..core.timeutil import paris_today


def quality_todo(today: dt.date | None = None) -> dict:
    from .actions import overdue_actions
    from .checklist import overdue_items
    from .requests import overdue_requests

    today = today or paris_today()
    return {
        "overdue_requests": overdue_requests(today),
        "overdue_actions": overdue_actions(today),
        "overdue_checklist": overdue_items(today),
    }
