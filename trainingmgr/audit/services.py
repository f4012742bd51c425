"""Reading the audit log: the filtered, paginated list of the admin page."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..accounts.models import User
from ..core.errors import ErrorCollector
from ..core.timeutil import PARIS, UTC
from ..core.validation import MAX_ID
from ..extensions import db
from .models import OBJECT_LABELS, AuditEntry

PER_PAGE = 50


@dataclass
class AuditFilters:
    object_type: str = ""
    object_id: int | None = None
    actor_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _paris_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=PARIS).astimezone(UTC)


def clean_filters(data: dict) -> AuditFilters:
    """Check the filters of the page (French messages per field, 422)."""
    errors = ErrorCollector()
    object_type = (data.get("object_type") or "").strip()
    if object_type and object_type not in OBJECT_LABELS:
        errors.add("object_type", "Type d'objet inconnu.")
    object_id = data.get("object_id")
    if object_id is not None and not 1 <= object_id <= MAX_ID:
        errors.add("object_id", "Numéro d'objet invalide.")
    actor_id = data.get("actor_id") or None
    if actor_id is not None and (not 1 <= actor_id <= MAX_ID or db.session.get(User, actor_id) is None):
        errors.add("actor_id", "Compte inconnu.")
    date_from, date_to = data.get("date_from"), data.get("date_to")
    if date_from and date_to and date_from > date_to:
        errors.add("date_to", "La date de fin précède la date de début.")
    errors.raise_if_any()
    return AuditFilters(object_type, object_id, actor_id, date_from, date_to)


def search(filters: AuditFilters, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[AuditEntry], int]:
    """The entries matching ``filters``, newest first, and their total count."""
    conditions = []
    if filters.object_type:
        conditions.append(AuditEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        conditions.append(AuditEntry.object_id == filters.object_id)
    if filters.actor_id is not None:
        conditions.append(AuditEntry.actor_id == filters.actor_id)
    if filters.date_from:
        conditions.append(AuditEntry.at >= _paris_midnight_utc(filters.date_from))
    if filters.date_to:
        conditions.append(AuditEntry.at < _paris_midnight_utc(filters.date_to + dt.timedelta(days=1)))
    total = db.session.scalar(select(func.count(AuditEntry.id)).where(*conditions)) or 0
    entries = db.session.scalars(select(AuditEntry).where(*conditions)
                                 .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)).all()
    return list(entries), total


def entries_for(object_type: str, object_id: int) -> list[AuditEntry]:
    """The history of one object, oldest first."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == object_type,
                                                             AuditEntry.object_id == object_id)
                                   .order_by(AuditEntry.id)))


def actor_choices() -> list[tuple[int, str]]:
    return [(u.id, f"{u.name or u.email} ({u.role_label})")
            for u in db.session.scalars(select(User).order_by(User.name, User.email))]
