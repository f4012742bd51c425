"""Scheduling rules for sessions and their half-day slots, one module per job. Every rule raises a French
ValidationError (422) or ConflictError (409); views and the API only translate input and output.

This package's public names, imported here only (no logic): ``from ..sessions import services as session_services``.
"""
from .access import (
    can_manage_sessions, can_view_session, ensure_can_manage_sessions, get_session, get_slot, session_load_options,
    visible_sessions_query,
)
from .alerts import date_warnings, holiday_name, session_warnings
from .planning import create_session, duplicate_session, rebase_to_current_version, update_session
from .queries import (
    AT_RISK_DAYS, PERIOD_EDGES, api_session_page, at_risk_condition, dashboard_sessions, get_public_session,
    list_sessions, period_condition, session_page, sessions_exceeding_room, slots_between, still_to_deliver,
    upcoming_public_sessions,
)
from .seats import lock_session_seats, seats_left, seats_taken
from .signals import seats_changed, session_cancelled, session_completed, session_confirmed, slot_changing
from .slots import add_slot, default_modality, delete_slot, pattern_slots, slot_quizzes, update_slot
from .statuses import EDITABLE_STATUSES
from .workflow import advance_sessions, allowed_transitions, change_status

__all__ = [
    "add_slot", "advance_sessions", "allowed_transitions", "api_session_page", "at_risk_condition",
    "AT_RISK_DAYS", "can_manage_sessions", "can_view_session", "change_status", "create_session",
    "dashboard_sessions", "date_warnings", "default_modality", "delete_slot", "duplicate_session",
    "EDITABLE_STATUSES",
    "ensure_can_manage_sessions", "get_public_session", "get_session", "get_slot", "holiday_name",
    "list_sessions", "lock_session_seats", "pattern_slots", "period_condition", "PERIOD_EDGES",
    "rebase_to_current_version", "seats_changed", "seats_left", "seats_taken",
    "session_cancelled", "session_completed", "session_confirmed", "session_load_options", "session_page",
    "session_warnings", "sessions_exceeding_room", "slot_changing", "slot_quizzes", "slots_between", "still_to_deliver",
    "upcoming_public_sessions", "update_session", "update_slot", "visible_sessions_query",
]
