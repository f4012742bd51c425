"""The enrolment's history: one EnrolmentEvent per thing that happened to it (status steps, decisions, e-mails)."""
from __future__ import annotations

from ..accounts.models import User
from .models import Enrolment, EnrolmentEvent


def record_event(enrolment: Enrolment, kind: str, actor: User | None, message: str = "", *,
                 from_status: str | None = None, to_status: str | None = None, actor_label: str = "") -> None:
    enrolment.events.append(EnrolmentEvent(
        kind=kind, actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (actor.name or actor.email if actor is not None else "système"),
        from_status=from_status, to_status=to_status, message=message,
    ))
