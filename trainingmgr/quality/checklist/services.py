"""The checklist of sessions: every item evaluated in one loop, the dashboard's overdue items, manual ticks.

See docs/checklist.md.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...accounts.models import User
from ...catalogue.models import Course
from ...core.errors import ConflictError, NotFoundError, ValidationError
from ...core.formatting import date_fr
from ...core.timeutil import paris_today
from ...extensions import db
from ...sessions import services as session_services
from ...sessions.models import SessionStatus, Slot, TrainingSession
from ..models import DONE_ITEMS, ChecklistTick, ItemState
from .evidence import Evidence, load_evidence, session_options
from .items import ITEMS, ITEMS_BY_KEY, Item, ItemStatus, due_rule, offsets

log = logging.getLogger("trainingmgr.quality")

MAX_COMMENT = 2000


@dataclass
class Summary:
    items: list[ItemStatus]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def overdue(self) -> list[ItemStatus]:
        return [status for status in self.items if status.state == ItemState.OVERDUE.value]

    @property
    def done(self) -> int:
        return sum(self.counts.get(state, 0) for state in DONE_ITEMS)

    @property
    def applicable(self) -> int:
        return len(self.items) - self.counts.get(ItemState.NA.value, 0)


@dataclass
class OverdueItem:
    session: TrainingSession
    key: str
    label: str
    due: dt.date


# --------------------------------------------------------------------------- evaluating


def _evaluate(session: TrainingSession, found: Evidence, today: dt.date) -> list[ItemStatus]:
    """Each item of ``session``, in ITEMS order: its due date, then its check, then its state."""
    item_offsets = offsets(session)
    first, last = session.first_date, session.last_date
    enrolments = found.enrolments.get(session.id, [])
    ticks = found.ticks.get(session.id, {})
    results = []
    for item in ITEMS:
        anchor, days = item_offsets[item.key]
        base = first if anchor == "start" else last
        status = ItemStatus(item, base + dt.timedelta(days=days) if base else None, due_rule(days, anchor),
                            tick=ticks.get(item.key))
        results.append(status)
        if session.is_cancelled:
            status.state, status.evidence = ItemState.NA.value, "Session annulée."
            continue
        _settle(status, item.check(status, session, enrolments, found), session, today)
    return results


def _settle(status: ItemStatus, reason: str | None, session: TrainingSession, today: dt.date) -> None:
    """The state of an item its check did not find done: not applicable (``reason``), manual, overdue or pending."""
    if status.state == ItemState.DONE.value:
        return
    if reason is not None:
        status.state, status.evidence, status.link = ItemState.NA.value, reason, None
        status.done_count = status.total = None
        return
    if status.tick is not None:
        status.state = ItemState.MANUAL.value
    elif (status.due is not None and today > status.due
          and session.status != SessionStatus.DRAFT.value):
        status.state = ItemState.OVERDUE.value


# --------------------------------------------------------------------------- reading


def _compute(sessions: list[TrainingSession], today: dt.date) -> dict[int, list[ItemStatus]]:
    found = load_evidence(sessions)
    return {session.id: _evaluate(session, found, today) for session in sessions}


def session_checklists(sessions, today: dt.date | None = None) -> dict[int, list[ItemStatus]]:
    """Every item of each session (in ITEMS order), keyed by session id, in a bounded number of queries
    (the sessions are read again with their slots and course, so any session objects will do)."""
    today = today or paris_today()
    ids = sorted({session.id for session in sessions})
    if not ids:
        return {}
    loaded = list(db.session.scalars(select(TrainingSession).where(TrainingSession.id.in_(ids))
                                     .options(*session_options())))
    return _compute(loaded, today)


def session_checklist(session: TrainingSession, today: dt.date | None = None) -> list[ItemStatus]:
    return session_checklists([session], today).get(session.id, [])


def checklist_summary(session: TrainingSession, today: dt.date | None = None) -> Summary:
    items = session_checklist(session, today)
    counts: dict[str, int] = {}
    for status in items:
        counts[status.state] = counts.get(status.state, 0) + 1
    return Summary(items, counts)


def dashboard_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The dates between which a session's slots put it on the dashboard's overdue list."""
    config = current_app.config
    longest_cold = db.session.scalar(select(func.max(Course.cold_survey_days))) or 0
    past = max(int(config["CHECKLIST_DASHBOARD_PAST_DAYS"]), int(config["SURVEY_COLD_DAYS"]) + 30, longest_cold + 30)
    return today - dt.timedelta(days=past), today + dt.timedelta(days=int(config["CHECKLIST_DASHBOARD_AHEAD_DAYS"]))


def overdue_items(today: dt.date) -> list[OverdueItem]:
    """The overdue items of the sessions (neither cancelled nor draft) that have a slot within the dashboard
    window, oldest due date first. A fixed number of queries whatever the number of sessions."""
    start, end = dashboard_window(today)
    within = (select(Slot.session_id).group_by(Slot.session_id)
              .having(func.max(Slot.date) >= start, func.min(Slot.date) <= end))
    sessions = list(db.session.scalars(
        select(TrainingSession).where(
            TrainingSession.id.in_(within),
            TrainingSession.status.not_in((SessionStatus.CANCELLED.value, SessionStatus.DRAFT.value)))
        .options(*session_options())))
    if not sessions:
        return []
    by_id = {session.id: session for session in sessions}
    order = {item.key: n for n, item in enumerate(ITEMS)}
    found = [OverdueItem(by_id[session_id], status.key, status.label, status.due)
             for session_id, items in _compute(sessions, today).items()
             for status in items if status.state == ItemState.OVERDUE.value]
    found.sort(key=lambda o: (o.due, o.session.id, order[o.key]))
    return found


# --------------------------------------------------------------------------- manual ticks


def _item(key: str) -> Item:
    item = ITEMS_BY_KEY.get(str(key or ""))
    if item is None:
        raise NotFoundError("Point de contrôle inconnu.")
    return item


def _status_of(session: TrainingSession, item: Item) -> ItemStatus:
    return next(s for s in session_checklist(session) if s.key == item.key)


def tick_item(session: TrainingSession, key: str, comment: str, actor: User) -> ChecklistTick:
    """Tick an item by hand, with a comment (required: where the evidence is, who checked it)."""
    session_services.ensure_can_manage_sessions(actor)
    item = _item(key)
    comment = str(comment or "").strip()
    if len(comment) < 3:
        raise ValidationError("Indiquez un commentaire : où se trouve la pièce, ou ce qui a été vérifié.",
                              field="comment")
    if len(comment) > MAX_COMMENT:
        raise ValidationError("Le commentaire ne doit pas dépasser 2 000 caractères.", field="comment")
    if session.is_cancelled:
        raise ConflictError("La session est annulée : sa check-list ne s'applique plus.")
    status = _status_of(session, item)
    if status.tick is not None:
        author = status.tick.author.name or status.tick.author.email if status.tick.author else "quelqu'un"
        raise ConflictError(f"« {item.label} » est déjà coché (par {author} le {date_fr(status.tick.created_at)}).")
    if status.state == ItemState.DONE.value:
        raise ConflictError(f"« {item.label} » est déjà coché d'après les données ({status.evidence}) : "
                            "rien à cocher à la main.")
    if status.state == ItemState.NA.value:
        raise ConflictError(f"« {item.label} » ne s'applique pas à cette session : {status.evidence}")
    tick = ChecklistTick(session_id=session.id, item=item.key, comment=comment, author_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(tick)
    except IntegrityError:
        raise ConflictError(f"« {item.label} » vient d'être coché par quelqu'un d'autre.") from None
    return tick


def untick_item(session: TrainingSession, key: str, actor: User) -> None:
    """Remove a manual tick. An item the data proves cannot be un-ticked."""
    session_services.ensure_can_manage_sessions(actor)
    item = _item(key)
    status = _status_of(session, item)
    if status.state == ItemState.DONE.value:
        raise ConflictError(f"« {item.label} » est coché d'après les données ({status.evidence}) : "
                            "il ne peut pas être décoché.")
    if status.tick is None:
        raise ConflictError(f"« {item.label} » n'est pas coché à la main : rien à décocher.")
    tick = status.tick
    log.info("Checklist: %s un-ticked on session %s by user %s (ticked by %s on %s: %r)", item.key, session.id,
             actor.id, tick.author_id, tick.created_at.isoformat(), tick.comment[:200])
    db.session.delete(tick)
    db.session.flush()
