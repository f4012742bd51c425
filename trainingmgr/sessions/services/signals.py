"""The signals a session sends. Other packages react to them without the sessions knowing them: the enrolments
promote their waiting list when seats open and tell every enrolled person when a session is cancelled."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
seats_changed = _signals.signal("seats-changed")  # sender: the session; kwargs: actor
session_cancelled = _signals.signal("session-cancelled")  # sender: the session; kwargs: actor, reason
session_confirmed = _signals.signal("session-confirmed")  # sender: the session; kwargs: actor
session_completed = _signals.signal("session-completed")  # sender: the session; kwargs: actor
# Sent before a slot's date or times change or the slot is removed; a receiver refuses by raising.
slot_changing = _signals.signal("slot-changing")  # sender: the slot
