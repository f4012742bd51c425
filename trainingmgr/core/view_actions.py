"""How a view runs a service call: a form page (``run_form``, ``form_page``) and a one-button action
(``run_action``): validate, call the service, commit, or roll back and show the refusal."""
from __future__ import annotations

import inspect

from flask import flash, redirect, render_template

from ..extensions import db
from .errors import DomainError


def run_form(form, action):
    """Validate ``form`` and run the service call ``action``; commit only if both accept the input.

    The service runs even when a field failed to parse, so that the user sees every problem at once
    (its messages are added to the fields WTForms did not already flag); its work is then rolled back.
    Returns ``(True, result)`` once committed, or ``(False, None)`` with the errors on the form.
    """
    if not form.is_submitted():
        return False, None
    parsed = form.validate()
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        form.apply_errors(exc, keep_existing=not parsed)
        return False, None
    if not parsed:
        db.session.rollback()
        return False, None
    db.session.commit()
    return True, result


def form_page(template: str, form, **context):
    """Render a page holding ``form``: 200, or the refusal's status (422, or 409 for a conflict)."""
    status = getattr(form, "error_status", 422) if form.errors else 200
    return render_template(template, form=form, **context), status


def run_action(action, success, redirect_to: str, *, refused=None, category="success", status: int = 302,
               commit: bool = True):
    """Run the one-button service call ``action``: commit, flash ``success`` as ``category`` and redirect to
    ``redirect_to`` with ``status`` (303 towards a task's page). Each of these three is a value or a function
    called once the action is done, given the action's result if it takes an argument; a ``success`` of None
    flashes nothing. ``commit=False`` for an action that commits its own steps.

    A refusal is rolled back and answered by ``refused(error)``; ``refused="raise"`` leaves it to the error page
    (its 409 or 422 page); by default it is flashed before the redirect."""
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        if refused == "raise":
            raise
        if refused is not None:
            return refused(exc)
        flash(exc.message, "danger")
        return redirect(_once_done(redirect_to, None), status)
    if commit:
        db.session.commit()
    message = _once_done(success, result)
    if message is not None:
        flash(message, _once_done(category, result))
    return redirect(_once_done(redirect_to, result), status)


def _once_done(value, result):
    """``value``, or what the function ``value`` answers now, given ``result`` if it takes an argument."""
    if not callable(value):
        return value
    return value(result) if inspect.signature(value).parameters else value()
