"""Named sets of session statuses used by the rules of this package (shared sets: sessions/models.py)."""
from __future__ import annotations

from ..models import SessionStatus

# Statuses in which slots and settings may still change.
EDITABLE_STATUSES = (SessionStatus.DRAFT.value, SessionStatus.OPEN.value, SessionStatus.CONFIRMED.value)
# Sessions listed by the public API.
API_PUBLIC_STATUSES = (SessionStatus.OPEN.value, SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value)
# Sessions still to deliver: shown on the dashboard.
UPCOMING_STATUSES = (SessionStatus.DRAFT.value, SessionStatus.OPEN.value, SessionStatus.CONFIRMED.value,
                     SessionStatus.IN_PROGRESS.value)
