"""How a view runs a service call: a form page (``run_form``, ``form_page``) and a one-button action
(``run_action``): validate, call the service, commit, or roll back and show the refusal."""
from __future__ import annotations

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


def run_action(action, success, redirect_to: str, *, refused=None):
    """Run the one-button service call ``action``: commit, flash ``success`` (text, or a function called after the
    action) and redirect to ``redirect_to``. A refusal is rolled back and answered by ``refused(error)``, or by
    default flashed before the same redirect."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        if refused is not None:
            return refused(exc)
        flash(exc.message, "danger")
        return redirect(redirect_to)
    db.session.commit()
    flash(success() if callable(success) else success, "success")
    return redirect(redirect_to)
