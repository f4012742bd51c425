"""What the trainee's personal page shows of attendance: each slot, its state and the link to sign it."""
from __future__ import annotations

from ..enrolments.models import Enrolment
from .models import CellStatus
from . import services
from .mails import signing_url


def attendance_for_trainee(enrolment: Enrolment) -> list[dict] | None:
    """[{slot, cell, url}] for an enrolment expected in the room of a session that takes place, else None."""
    if not enrolment.is_expected or not enrolment.session.is_held:
        return None
    row = services.session_grid(enrolment.session).row(enrolment.id)
    if row is None:
        return None
    return [{"slot": cell.slot, "cell": cell,
             "url": signing_url(enrolment, cell.slot) if cell.status == CellStatus.PENDING.value else None}
            for cell in row.cells]
