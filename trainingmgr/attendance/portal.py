"""What the trainee's personal page shows of attendance: each slot, its state and the link to sign it."""
from __future__ import annotations

from ..enrolments.models import Enrolment
from ..sessions.models import SlotModality
from . import services
from .mails import signing_url
from .models import CellStatus, WindowState


def attendance_for_trainee(enrolment: Enrolment) -> list[dict] | None:
    """[{slot, cell, url}] for an enrolment expected in the room of a session that takes place, else None."""
    if not enrolment.is_expected or not enrolment.session.is_held:
        return None
    row = services.session_grid(enrolment.session).row(enrolment.id)
    if row is None:
        return None
    return [{"slot": cell.slot, "cell": cell,
             "url": signing_url(enrolment, cell.slot) if _link_due(cell) else None}
            for cell in row.cells]


def _link_due(cell) -> bool:
    """Whether the page offers the signing link: a half-day to sign; the second signature of a virtual one; an
    asynchronous activity while its time may be declared (its quiz, once declared)."""
    if cell.status == CellStatus.PENDING.value:
        return True
    slot = cell.slot
    if slot.modality == SlotModality.VIRTUAL.value:
        return (cell.signature is not None and cell.check is None
                and services.window_state(slot) == WindowState.OPEN.value)
    if slot.modality == SlotModality.ASYNC.value:
        return services.declaration_state(slot) == WindowState.OPEN.value
    return False
