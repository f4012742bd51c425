"""The acquis grid of a session, for its trainers and the staff.

/sessions/<id>/acquis   GET: trainees × objectives with the current judgements (who and when on hover);
                        POST: the whole grid at once, all or nothing (any invalid cell: 422, nothing saved).
"""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SubmitField

from ...accounts.permissions import any_role_required
from ...core.errors import ValidationError
from ...core.formatting import count_fr
from ...core.forms import Form
from ...core.responses import fail
from ...extensions import db
from ...sessions import services as session_services
from ..models import ACQUIS_LEVELS
from . import services as acquis

bp = Blueprint("acquis", __name__)

CELL_FIELD = re.compile(r"^(level|comment)-([^-]{1,20})-([^-]{1,20})$")
MAX_CELLS = 5000


class AcquisForm(Form):
    """The grid's CSRF token; the cells are read from the request (``level-<enrolment>-<objective>``)."""

    submit = SubmitField("Enregistrer les évaluations")


def _session(session_id: int):
    session = session_services.get_session(session_id, current_user)
    acquis.ensure_can_record(current_user, session)
    return session


def posted_cells() -> list[acquis.Cell]:
    """The grid's cells as posted (``level-<enrolment>-<objective>``, ``comment-…``); 413 past MAX_CELLS."""
    cells: dict[tuple[str, str], acquis.Cell] = {}
    for name, value in request.form.items():
        match = CELL_FIELD.match(name)
        if match is None:
            continue
        kind, enrolment_id, objective_id = match.groups()
        cell = cells.setdefault((enrolment_id, objective_id), acquis.Cell(enrolment_id, objective_id))
        if kind == "level":
            cell.level = value
        else:
            cell.comment = value
        if len(cells) > MAX_CELLS:
            fail(413, "La grille envoyée est trop grande.")
    return list(cells.values())


def _page(session, form: AcquisForm, status: int = 200, errors: dict | None = None, posted: dict | None = None):
    return render_template(
        "evaluations/acquis.html", session=session, grid=acquis.grid(session), form=form,
        levels=[(level, ACQUIS_LEVELS[level]) for level in acquis.LEVEL_ORDER], open=acquis.is_open(session),
        errors=errors or {}, posted=posted, max_comment=acquis.MAX_COMMENT,
        action=url_for("acquis.save", session_id=session.id), back=url_for("sessions.show", session_id=session.id),
    ), status


@bp.route("/sessions/<int:session_id>/acquis")
@any_role_required
def show(session_id: int):
    session = _session(session_id)
    return _page(session, AcquisForm())


@bp.route("/sessions/<int:session_id>/acquis", methods=["POST"])
@any_role_required
def save(session_id: int):
    session = _session(session_id)
    form = AcquisForm()
    if not form.validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    try:
        changed = acquis.record_many(session, posted_cells(), current_user)
    except ValidationError as exc:
        # 403 (a trainee of another session) and 409 (session not started…) go to the error page instead.
        db.session.rollback()
        form.form_errors = [message for messages in exc.fields.values() for message in messages] or [exc.message]
        return _page(session, form, exc.status_code, errors=exc.fields, posted=request.form.to_dict())
    db.session.commit()
    flash(f"{count_fr(changed, 'évaluation enregistrée')}." if changed else "Aucune modification.",
          "success" if changed else "info")
    return redirect(url_for("acquis.show", session_id=session.id))
