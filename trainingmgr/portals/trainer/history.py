"""The sessions a trainer teaches and the sessions held at a location, for their pages in the back office: the
latest first, in a fixed number of SQL statements whatever the history.

resources/ asks for them through resources/providers.py, where this module registers them with the trainer's
planned half-days (agenda.py) and the sessions a smaller room would not hold (sessions.services).
"""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...sessions.models import Slot, TrainingSession, session_trainer
from ...resources import providers
from ...resources.providers import MAX_SESSIONS
from ...resources.models import Location, Trainer
from ...sessions.services import sessions_exceeding_room
from .agenda import trainer_slots



def _latest(*where) -> list[TrainingSession]:
    first_date = select(func.min(Slot.date)).where(Slot.session_id == TrainingSession.id).scalar_subquery()
    return list(db.session.scalars(
        select(TrainingSession).where(*where)
        .options(selectinload(TrainingSession.slots), selectinload(TrainingSession.course_version))
        .order_by(first_date.desc(), TrainingSession.id.desc()).limit(MAX_SESSIONS)))


def trainer_sessions(trainer: Trainer) -> list[TrainingSession]:
    """The sessions the trainer teaches (drafts and cancelled ones included), latest first."""
    return _latest(TrainingSession.id.in_(select(session_trainer.c.session_id)
                                          .where(session_trainer.c.trainer_id == trainer.id)))


def location_sessions(location: Location) -> list[TrainingSession]:
    """The sessions held at the location, or with a half-day there, latest first."""
    return _latest(or_(TrainingSession.location_id == location.id,
                       TrainingSession.id.in_(select(Slot.session_id).where(Slot.location_id == location.id))))


providers.register("trainer_sessions", trainer_sessions)
providers.register("location_sessions", location_sessions)
providers.register("trainer_slots", trainer_slots)
providers.register("sessions_exceeding_room", sessions_exceeding_room)
