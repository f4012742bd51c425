"""Kiosk mode: the staff member's device handed to the trainees, who sign in turn.

Entering it locks the device (a lock kept in the login's Flask session, see views.py): until the staff member
types their password again, only the kiosk's own pages answer (the list of trainees, each one's signing page,
the hot survey offered after the last half-day, the page to leave) and every other page leads back to the list.
The signatures taken on it are labelled with the device's holder: the logged-in user who entered the mode.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..accounts import services as account_services
from ..accounts.models import User
from ..core.errors import ConflictError, ValidationError
from ..sessions.models import Slot
from . import services
from .models import WindowState

# The pages a locked device may show: the kiosk's own, the hot survey offered after the last half-day and the
# static files. Everything else, logging out included, leads back to the kiosk's list.
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
KIOSK_ENDPOINTS = frozenset({"attendance.kiosk", "attendance.kiosk_sign", "attendance.kiosk_unlock",
                             "surveys.answer"}) | STATIC_ENDPOINTS
WRONG_PASSWORD = "Mot de passe incorrect : l'appareil reste en mode borne."


@dataclass(frozen=True)
class Lock:
    """A locked device: the slot whose trainees sign on it, and the staff member it belongs to."""

    slot_id: int
    user_id: int

    def as_dict(self) -> dict:
        return {"slot": self.slot_id, "user": self.user_id}

    @classmethod
    def from_dict(cls, value) -> Lock | None:
        if not isinstance(value, dict):
            return None
        slot_id, user_id = value.get("slot"), value.get("user")
        if not isinstance(slot_id, int) or not isinstance(user_id, int):
            return None
        return cls(slot_id, user_id)


def enter(slot: Slot, actor: User) -> Lock:
    """Lock ``actor``'s device on ``slot``'s kiosk; refused once the sheet can no longer be signed."""
    if services.countersignature(slot) is not None:
        raise ConflictError("La feuille de ce créneau est signée par le formateur : elle est close, il n'y a plus "
                            "rien à faire signer.")
    if services.window_state(slot) == WindowState.CLOSED.value:
        raise ConflictError("L'émargement de ce créneau est clos : il n'y a plus rien à faire signer.")
    return Lock(slot.id, actor.id)


def leave(lock: Lock, actor: User, password: str) -> None:
    """Unlock the device: only with the password of the staff member who locked it."""
    if actor.id != lock.user_id or not account_services.password_matches(actor, password):
        raise ValidationError(WRONG_PASSWORD, field="password")

