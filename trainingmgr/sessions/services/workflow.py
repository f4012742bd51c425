"""The sessions' workflow: one step per status reached (TRANSITIONS), applied by change_status, and the
automatic moves of advance_sessions."""
from __future__ import annotations

import datetime as dt
from functools import partial

from sqlalchemy import select

from ...accounts.models import User
from ...catalogue.models import CourseStatus
from ...core import workflow
from ...core.errors import ValidationError
from ...core.formatting import date_fr, hours_fr
from ...core.timeutil import PARIS, utcnow
from ...core.validation import clean_text
from ...core.workflow import Transition
from ...extensions import db
from ..ical import event_status
from ..models import SESSION_STATUS_LABELS, STATUS_ACTIONS, SessionStatus, TrainingSession
from .access import ensure_can_manage_sessions, session_load_options
from .alerts import (
    hours_gap, intra_without_client, needs_place, remote_assistance_missing, slots_without_trainer, unpriced,
)
from .seats import seats_taken
from .signals import session_cancelled, session_completed, session_confirmed
from .slots import first_and_last


def confirmation_problems(session: TrainingSession) -> list[str]:
    """What keeps the session from being confirmed (or from staying confirmed when it changes)."""
    problems = []
    gap = hours_gap(session)
    if not session.slots:
        problems.append("Aucun créneau n'est planifié.")
    elif gap is not None:
        problems.append(f"La durée planifiée ({hours_fr(gap[0])}) doit être égale à celle de la "
                        f"formation ({hours_fr(gap[1])}).")
    if not session.trainers or slots_without_trainer(session):
        problems.append("Chaque créneau doit avoir un formateur.")
    if needs_place(session) and (
        session.location is None or any(slot.location is None and not slot.is_remote for slot in session.slots)
    ):
        problems.append("Chaque créneau doit avoir un lieu.")
    if any(slot.modality == "virtual" and not slot.meeting_link for slot in session.slots):
        problems.append("Chaque classe virtuelle doit avoir un lien de réunion.")
    if remote_assistance_missing(session):  # the programme sent with the convocations must state it (D6313-3-1)
        problems.append("Renseignez l'assistance technique et pédagogique à distance dans les paramètres de "
                        "l'organisme (article D6313-3-1 du Code du travail).")
    problems.extend(_price_problems(session))
    return problems


def _price_problems(session: TrainingSession) -> list[str]:
    if session.format == "intra":
        if intra_without_client(session):
            return ["Une session intra doit avoir une entreprise cliente."]
        if unpriced(session):
            return ["Indiquez le prix de la session intra."]
    elif session.price_per_trainee is None:
        return ["Indiquez le prix par stagiaire."]
    return []


def _can_open(session: TrainingSession, **_) -> list[str]:
    problems = []
    if session.course.status != CourseStatus.PUBLISHED.value:
        problems.append("La formation doit d'abord être publiée au catalogue.")
    if not session.slots:
        problems.append("Planifiez au moins un créneau.")
    return problems + _price_problems(session)


def _can_confirm(session: TrainingSession, **_) -> list[str]:
    return confirmation_problems(session)


def _has_started(session: TrainingSession, *, now: dt.datetime, **_) -> list[str]:
    first = first_and_last(session)[0] if session.slots else None
    if first is not None and now < first.starts_at:
        return [f"La session ne peut démarrer avant son premier créneau ({date_fr(first.date)})."]
    return []


def _has_ended(session: TrainingSession, *, now: dt.datetime, **_) -> list[str]:
    last = first_and_last(session)[1] if session.slots else None
    if last is not None and now < last.ends_at:
        return [f"La session ne peut être terminée avant la fin de son dernier créneau ({date_fr(last.date)})."]
    return []


def _nobody_enrolled(session: TrainingSession, **_) -> list[str]:
    if seats_taken([session.id])[session.id]:
        return ["Des stagiaires sont inscrits : annulez la session plutôt que de la repasser en brouillon."]
    return []


def _reason_given(session: TrainingSession, *, reason: str, **_) -> list[str]:
    if len(reason) < 3:
        raise ValidationError("Indiquez le motif de l'annulation.", field="cancel_reason")
    return []


def _intra_or_open(session: TrainingSession) -> bool:
    """Only an intra session, whose trainees come from its client, may be confirmed straight from draft."""
    return session.status != SessionStatus.DRAFT.value or session.format == "intra"


_DRAFT, _OPEN, _CONFIRMED, _IN_PROGRESS, _COMPLETED, _CLOSED, _CANCELLED = (s.value for s in SessionStatus)
# One step per status reached, named after it, in SESSION_STATUS_LABELS' order (the buttons of the session page).
TRANSITIONS: dict[str, Transition] = {
    _DRAFT: Transition(STATUS_ACTIONS[_DRAFT], (_OPEN,), _DRAFT, checks=(_nobody_enrolled,)),
    _OPEN: Transition(STATUS_ACTIONS[_OPEN], (_DRAFT,), _OPEN, checks=(_can_open,)),
    _CONFIRMED: Transition(STATUS_ACTIONS[_CONFIRMED], (_DRAFT, _OPEN), _CONFIRMED, checks=(_can_confirm,),
                           when=_intra_or_open, signal=session_confirmed),
    _IN_PROGRESS: Transition(STATUS_ACTIONS[_IN_PROGRESS], (_CONFIRMED,), _IN_PROGRESS, checks=(_has_started,)),
    _COMPLETED: Transition(STATUS_ACTIONS[_COMPLETED], (_IN_PROGRESS,), _COMPLETED, checks=(_has_ended,),
                           signal=session_completed),
    _CLOSED: Transition(STATUS_ACTIONS[_CLOSED], (_COMPLETED,), _CLOSED),
    _CANCELLED: Transition(STATUS_ACTIONS[_CANCELLED], (_DRAFT, _OPEN, _CONFIRMED, _IN_PROGRESS), _CANCELLED,
                           checks=(_reason_given,), signal=session_cancelled),
}


def allowed_transitions(session: TrainingSession) -> list[str]:
    """The statuses this session may move to, in workflow order."""
    return workflow.allowed_steps(TRANSITIONS, session)


def _refusal(session: TrainingSession, step: Transition) -> str:
    if session.status == SessionStatus.DRAFT.value and step.target == SessionStatus.CONFIRMED.value:
        return ("Une session inter-entreprises ouvre d'abord ses inscriptions : passez-la en « inscriptions "
                "ouvertes » avant de la confirmer.")
    return (f"Une session « {session.status_label.lower()} » ne peut pas passer à "
            f"« {SESSION_STATUS_LABELS[step.target].lower()} ».")


def _record(shown_as: str, reason: str, session: TrainingSession, previous: str, step: Transition) -> None:
    """Date the change, keep a cancellation's reason; a session newly confirmed or cancelled makes calendars take
    its events' new STATUS (``shown_as``: before the change)."""
    session.status_changed_at = utcnow()
    if step.target == SessionStatus.CANCELLED.value:
        session.cancel_reason = reason
        session.cancelled_at = utcnow()
    if event_status(session) != shown_as:
        for slot in session.slots:
            slot.sequence += 1


def change_status(session: TrainingSession, new_status: str, actor: User | None = None, reason: str = "",
                  now: dt.datetime | None = None) -> None:
    """Move ``session`` to ``new_status`` (TRANSITIONS): 409 when the step is not allowed, 422 when it is not ready."""
    ensure_can_manage_sessions(actor)
    if new_status not in SESSION_STATUS_LABELS:
        raise ValidationError("Statut inconnu.", field="status")
    if new_status == session.status:
        return
    reason = clean_text(reason)
    cancelling = new_status == SessionStatus.CANCELLED.value
    workflow.apply_transition(session, TRANSITIONS, new_status, actor, refusal=_refusal, field_name="status",
                              context={"now": (now or utcnow()).astimezone(PARIS), "reason": reason},
                              record=partial(_record, event_status(session), reason),
                              signal_kwargs={"reason": reason} if cancelling else None)


def advance_sessions(now: dt.datetime | None = None) -> list[tuple[TrainingSession, str]]:
    """Move confirmed sessions whose first slot has started to "in progress", and those whose last
    slot has ended to "completed". Returns what changed."""
    now = now or utcnow()
    changed = []
    query = select(TrainingSession).where(
        TrainingSession.status.in_((SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value))
    ).options(*session_load_options())
    for session in db.session.scalars(query):
        if not session.slots:
            continue
        first, last = first_and_last(session)
        if session.status == SessionStatus.CONFIRMED.value and now >= first.starts_at:
            workflow.apply_transition(session, TRANSITIONS, SessionStatus.IN_PROGRESS.value, context={"now": now},
                                      record=partial(_record, event_status(session), ""))
            changed.append((session, session.status))
        if session.status == SessionStatus.IN_PROGRESS.value and now >= last.ends_at:
            workflow.apply_transition(session, TRANSITIONS, SessionStatus.COMPLETED.value, context={"now": now},
                                      record=partial(_record, event_status(session), ""))
            changed.append((session, session.status))
    return changed
