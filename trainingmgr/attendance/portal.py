"""What the trainee's personal page shows of attendance: each slot, its state and the link to sign it."""
from __future__ import annotations

from ..enrolments.models import Enrolment
from . import services
from .mails import signing_url


def attendance_for_trainee(enrolment: Enrolment) -> list[dict] | None:
    """[{slot, cell, url}] for an enrolment expected in the room of a session that takes place, else None."""
    if enrolment.status not in services.EXPECTED or enrolment.session.status not in (
            "confirmed", "in_progress", "completed", "closed"):
        return None
    row = services.session_grid(enrolment.session).row(enrolment.id)
    if row is None:
        return None
    return [{"slot": cell.slot, "cell": cell,
             "url": signing_url(enrolment, cell.slot) if cell.status == "pending" else None}
            for cell in row.cells]
