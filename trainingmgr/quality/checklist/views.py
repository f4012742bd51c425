"""The administrative checklist of a session (staff only; the rules are in services.py).

/sessions/<id>/checklist                     GET   the items: due date, state, evidence, manual ticks
/sessions/<id>/checklist/<item>/tick         POST  tick an item by hand, with a comment (required)
/sessions/<id>/checklist/<item>/untick       POST  remove a manual tick (never an automatic one)
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SubmitField, TextAreaField

from ...accounts.permissions import staff_required
from ...core.forms import Form, max_length
from ...core.timeutil import paris_today
from ...core.view_actions import form_page, run_form
from ...sessions import services as session_services
from . import services as checklist

bp = Blueprint("session_checklist", __name__)


class TickForm(Form):
    comment = TextAreaField("Commentaire", validators=[max_length(checklist.MAX_COMMENT)],
                            render_kw={"rows": 2, "maxlength": checklist.MAX_COMMENT})
    submit = SubmitField("Cocher")


class UntickForm(Form):
    submit = SubmitField("Décocher")


def _context(session) -> dict:
    today = paris_today()
    return {"session": session, "summary": checklist.checklist_summary(session, today), "today": today,
            "untick_form": UntickForm()}


@bp.route("/sessions/<int:session_id>/checklist")
@staff_required
def show(session_id: int):
    session = session_services.get_session(session_id, current_user)
    return render_template("quality/checklist.html", form=None, tick_form=TickForm(), failed=None,
                           **_context(session))


@bp.route("/sessions/<int:session_id>/checklist/<item>/tick", methods=["POST"])
@staff_required
def tick(session_id: int, item: str):
    session = session_services.get_session(session_id, current_user)
    form = TickForm()
    ok, done = run_form(form, lambda: checklist.tick_item(session, item, form.comment.data or "", current_user))
    if ok:
        flash(f"« {checklist.ITEMS_BY_KEY[done.item].label} » coché.", "success")
        return redirect(url_for("session_checklist.show", session_id=session.id))
    return form_page("quality/checklist.html", form, tick_form=form, failed=item, **_context(session))


@bp.route("/sessions/<int:session_id>/checklist/<item>/untick", methods=["POST"])
@staff_required
def untick(session_id: int, item: str):
    session = session_services.get_session(session_id, current_user)
    form = UntickForm()
    ok, _ = run_form(form, lambda: checklist.untick_item(session, item, current_user))
    if ok:
        flash(f"« {checklist.ITEMS_BY_KEY[item].label} » décoché.", "success")
        return redirect(url_for("session_checklist.show", session_id=session.id))
    return form_page("quality/checklist.html", form, failed=item, tick_form=TickForm(), **_context(session))
