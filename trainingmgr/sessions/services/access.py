"""Loading sessions and slots with what their pages need, and who may see or change them."""
from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased, selectinload

from ...accounts.models import User
from ...accounts.permissions import ensure_staff_or_system, is_staff_or_system
from ...catalogue.models import Course
from ...core.errors import ErrorCollector, NotFoundError, PermissionDenied
from ...core.persistence import get_by_id
from ...core.validation import id_or_none
from ...extensions import db
from ...resources.models import Trainer
from ..models import Slot, TrainingSession, session_trainer


def session_load_options():
    return (
        selectinload(TrainingSession.slots).selectinload(Slot.trainer),
        selectinload(TrainingSession.slots).selectinload(Slot.location),
        selectinload(TrainingSession.trainers),
        selectinload(TrainingSession.location),
        selectinload(TrainingSession.course_version),
        selectinload(TrainingSession.course).selectinload(Course.current_version),
        selectinload(TrainingSession.client_company),
    )


def taught_by(user: User):
    """SQL condition: the session is taught by the trainer linked to ``user``."""
    trainer_ids = select(Trainer.id).where(Trainer.user_id == user.id)
    # An alias, so that the subquery does not correlate with a query that already selects Slot
    # (the calendar): it would otherwise lose its FROM clause.
    taught = aliased(Slot)
    return or_(
        exists().where(and_(session_trainer.c.session_id == TrainingSession.id,
                            session_trainer.c.trainer_id.in_(trainer_ids))),
        exists().where(and_(taught.session_id == TrainingSession.id, taught.trainer_id.in_(trainer_ids))),
    )


def visible_sessions_query(actor: User):
    query = select(TrainingSession).options(*session_load_options())
    if not actor.is_staff:
        query = query.where(taught_by(actor))
    return query


def can_view_session(actor: User, session: TrainingSession) -> bool:
    if actor.is_staff:
        return True
    trainer_user_ids = {t.user_id for t in session.trainers} | {s.trainer.user_id for s in session.slots if s.trainer}
    return actor.id in trainer_user_ids


def get_session(session_id: int, actor: User | None = None) -> TrainingSession:
    """Load a session; with ``actor``, refuse it to a trainer who does not teach it."""
    session_id = id_or_none(session_id)
    session = None if session_id is None else db.session.scalar(
        select(TrainingSession).where(TrainingSession.id == session_id).options(*session_load_options())
    )
    if session is None:
        raise NotFoundError("Session introuvable.")
    if actor is not None and not can_view_session(actor, session):
        raise PermissionDenied("Vous n'intervenez pas sur cette session.")
    return session


def can_manage_sessions(actor: User | None) -> bool:
    """Only the advisor (and the admin) plan sessions, whichever session; trainers only read theirs. No actor is
    the application itself (CLI, worker)."""
    return is_staff_or_system(actor)


def ensure_can_manage_sessions(actor: User | None) -> None:
    """Refuse a trainer any change to a session or to what hangs off it (slots, documents, attendance…)."""
    ensure_staff_or_system(actor, "Seul le conseiller formation peut modifier une session.")


def load_choice(model, value, field_name: str, errors: ErrorCollector, label: str):
    """The ``model`` row a form field names by id (or the row itself); None when empty, an error when unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    number = id_or_none(value)
    obj = None if number is None else db.session.get(model, number)
    if obj is None:
        errors.add(field_name, f"{label} introuvable.")
    return obj


def get_slot(slot_id: int, actor: User | None = None) -> Slot:
    slot = get_by_id(Slot, slot_id, "Créneau introuvable.")
    if actor is not None and not can_view_session(actor, slot.session):
        raise PermissionDenied("Vous n'intervenez pas sur cette session.")
    return slot

