"""The enrolments' workflow: one step per status reached (TRANSITIONS), applied by services._set_status.

A seat is taken from a new or reopened enrolment (requested, cancelled) or from the waiting list; a pending
enrolment is confirmed by the prerequisite decision; a live one may be cancelled; once the session has started a
confirmed one is assessed (completed, abandoned, no-show), and an assessment may be corrected."""
from __future__ import annotations

from ..core.workflow import Transition
from .models import ADMITTING_DECISIONS, EXPECTED, LIVE, EnrolmentStatus

(_REQUESTED, _PENDING, _CONFIRMED, _WAITLISTED, _CANCELLED, _NO_SHOW, _COMPLETED,
 _ABANDONED) = (status.value for status in EnrolmentStatus)
_ASSESSABLE = EXPECTED

TRANSITIONS: dict[str, Transition] = {
    _PENDING: Transition("Attendre la décision sur les prérequis", (_REQUESTED, _CANCELLED, _WAITLISTED), _PENDING),
    _CONFIRMED: Transition("Confirmer", (_REQUESTED, _CANCELLED, _WAITLISTED, _PENDING), _CONFIRMED),
    _WAITLISTED: Transition("Mettre en liste d'attente", (_REQUESTED, _CANCELLED), _WAITLISTED),
    _CANCELLED: Transition("Annuler", LIVE, _CANCELLED),
    _NO_SHOW: Transition("Absent", _ASSESSABLE, _NO_SHOW),
    _COMPLETED: Transition("Formation suivie", _ASSESSABLE, _COMPLETED),
    _ABANDONED: Transition("Abandon", _ASSESSABLE, _ABANDONED),
}


def cannot_cancel(enrolment, step: Transition) -> str:
    return f"Une inscription « {enrolment.status_label.lower()} » ne peut pas être annulée."


def cannot_mark(enrolment, step: Transition) -> str:
    return f"Une inscription « {enrolment.status_label.lower()} » ne peut pas passer à « {step.target} »."


def needs_prerequisite_decision(enrolment) -> bool:
    """A course with prerequisites confirms nobody before the advisor's positive decision."""
    version = enrolment.session.course_version
    return not version.prerequisites_none and enrolment.positioning_decision not in ADMITTING_DECISIONS
