"""The needs analysis of a session (the rules are in needs/services.py).

/evaluations/sessions/<id>/needs        GET   the companies concerned, whom it went to, their answers (staff, and
                                              the session's trainer)
/evaluations/sessions/<id>/needs/send   POST  send it to the companies not reached yet (staff)
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user

from ...accounts.permissions import any_role_required, staff_required
from ...core.forms import Form
from ...core.view_actions import form_page, run_form
from ...messaging.delivery import sent_to
from ...sessions import services as session_services
from . import services as needs

bp = Blueprint("needs", __name__, url_prefix="/evaluations/sessions")


class SendNeedsForm(Form):
    """A button (CSRF only)."""


def _page(session, form):
    return form_page("evaluations/needs.html", form, session=session, items=needs.session_needs(session),
                     can_send=current_user.is_staff and needs.can_send(session))


@bp.route("/<int:session_id>/needs")
@any_role_required
def show(session_id: int):
    return _page(session_services.get_session(session_id, current_user), SendNeedsForm(formdata=None))


@bp.route("/<int:session_id>/needs/send", methods=["POST"])
@staff_required
def send(session_id: int):
    session = session_services.get_session(session_id, current_user)
    form = SendNeedsForm()
    ok, sent = run_form(form, lambda: needs.send_needs_analysis(session, current_user))
    if not ok:
        return _page(session, form)
    if sent.invitations:
        flash("Analyse des besoins " + sent_to(", ".join(i.recipient_name for i in sent.invitations), "f") + ".",
              "success")
    if sent.without_contact:
        flash("Sans contact RH ni signataire, rien n'est parti pour : " + ", ".join(sent.without_contact) + ".",
              "warning")
    if not sent.invitations and not sent.without_contact:
        flash("Toutes les entreprises de la session l'ont déjà reçue.", "info")
    return redirect(url_for("needs.show", session_id=session.id))
