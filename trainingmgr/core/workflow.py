"""Workflows as tables of steps: sessions, courses, enrolments, invoices and quality requests (complaints).

A step (``Transition``) names its sources, its target and its label, and may carry the checks it needs and the
signal it sends. ``apply_transition`` looks the step up, refuses an illegal one with ConflictError (409), runs its
checks (ValidationError, 422), sets the status and sends the signal. See docs/workflows.md.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConflictError, ValidationError

UNKNOWN_STEP = "Étape inconnue : rechargez la page et choisissez l'une des étapes proposées."


@dataclass(frozen=True)
class Transition:
    label: str  # the button
    sources: tuple[str, ...]  # the statuses it leaves from
    target: str  # the status reached
    # check(obj, **context) -> French problems; any refuses the step with a ValidationError (a check may raise).
    checks: tuple[Callable[..., list[str]], ...] = field(default=(), kw_only=True)
    # Sent once the status is set: signal.send(obj, actor=actor, **signal_kwargs).
    signal: Any = field(default=None, kw_only=True)
    # A further condition for the step to be legal from its sources (an illegal step answers 409).
    when: Callable[[Any], bool] | None = field(default=None, kw_only=True)

    def is_legal(self, obj) -> bool:
        return obj.status in self.sources and (self.when is None or self.when(obj))


def allowed_steps(table: Mapping[str, Transition], obj) -> list[str]:
    """The names of the steps ``obj`` may take now, in the table's order."""
    return [name for name, step in table.items() if step.is_legal(obj)]


def _default_refusal(obj, step: Transition) -> str:
    return f"Impossible de « {step.label.lower()} » depuis le statut « {obj.status_label.lower()} »."


def legal_step(table: Mapping[str, Transition], name: str, obj, *,
               refusal: Callable[[Any, Transition], str] = _default_refusal, unknown: str = UNKNOWN_STEP,
               field_name: str | None = None) -> Transition:
    """The step ``name`` of ``table``; ValidationError when there is none, ConflictError when ``obj`` may not take
    it now (``refusal(obj, step)`` says why, in French)."""
    step = table.get(name)
    if step is None:
        raise ValidationError(unknown, field=field_name)
    if not step.is_legal(obj):
        raise ConflictError(refusal(obj, step), field=field_name)
    return step


def apply_transition(obj, table: Mapping[str, Transition], name: str, actor=None, *,
                     refusal: Callable[[Any, Transition], str] = _default_refusal, unknown: str = UNKNOWN_STEP,
                     field_name: str | None = None, context: Mapping[str, Any] | None = None,
                     record: Callable[[Any, str, Transition], None] | None = None,
                     signal_kwargs: Mapping[str, Any] | None = None) -> Transition:
    """Move ``obj`` along the step ``name``: refuse it (legal_step), run its checks with ``context``, set the
    status, ``record(obj, previous_status, step)``, send the step's signal. The caller locks and flushes."""
    step = legal_step(table, name, obj, refusal=refusal, unknown=unknown, field_name=field_name)
    problems = [problem for check in step.checks for problem in check(obj, **(context or {}))]
    if problems:
        raise ValidationError(" ".join(problems), field=field_name)
    previous = obj.status
    obj.status = step.target
    if record is not None:
        record(obj, previous, step)
    if step.signal is not None:
        step.signal.send(obj, actor=actor, **(signal_kwargs or {}))
    return step
