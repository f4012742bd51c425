"""The buttons of a session's documents page that start an enrolment's funding pack. They join the documents
blueprint (endpoints documents.funding_pack and documents.fund_pack), which create_app registers after importing
this module."""
from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..documents.views import bp, checked_form
from ..enrolments.services import get_enrolment
from ..extensions import db
from . import tasks


@bp.route("/enrolments/<int:enrolment_id>/funding-pack", methods=["POST"])
@staff_required
def funding_pack(enrolment_id: int):
    checked_form()
    enrolment = get_enrolment(enrolment_id, current_user)
    return _task_page(tasks.start_funding_pack(enrolment, current_user, back_url=_documents_url(enrolment)))


@bp.route("/enrolments/<int:enrolment_id>/fund-pack", methods=["POST"])
@staff_required
def fund_pack(enrolment_id: int):
    """The refund pack of a fund of the self-employed (FIF PL…), made by a task: 409 at once while an invoice is not
    fully paid."""
    checked_form()
    enrolment = get_enrolment(enrolment_id, current_user)
    return _task_page(tasks.start_fund_pack(enrolment, current_user, back_url=_documents_url(enrolment)))


def _documents_url(enrolment) -> str:
    return url_for("documents.session_documents", session_id=enrolment.session_id)


def _task_page(task):
    """Commit the task just started and follow it on its page."""
    db.session.commit()
    return redirect(url_for("tasks.show", task_id=task.id), 303)
