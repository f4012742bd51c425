"""The buttons of a session's documents page that start an enrolment's funding pack. They join the documents
blueprint (endpoints documents.funding_pack and documents.fund_pack), which create_app registers after importing
this module."""
from __future__ import annotations

from flask import url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.view_actions import run_action
from ..documents.views import bp, checked_form
from ..enrolments.services import get_enrolment
from . import tasks


@bp.route("/enrolments/<int:enrolment_id>/funding-pack", methods=["POST"])
@staff_required
def funding_pack(enrolment_id: int):
    """The OPCO funding pack, made by a task: 409 at once when the enrolment has no company."""
    checked_form()
    enrolment = get_enrolment(enrolment_id, current_user)
    back = _documents_url(enrolment)
    return run_action(lambda: tasks.start_funding_pack(enrolment, current_user, back_url=back), None, _task_url,
                      refused="raise", status=303)


@bp.route("/enrolments/<int:enrolment_id>/fund-pack", methods=["POST"])
@staff_required
def fund_pack(enrolment_id: int):
    """The refund pack of a fund of the self-employed (FIF PL…), made by a task: 409 at once while an invoice is not
    fully paid."""
    checked_form()
    enrolment = get_enrolment(enrolment_id, current_user)
    back = _documents_url(enrolment)
    return run_action(lambda: tasks.start_fund_pack(enrolment, current_user, back_url=back), None, _task_url,
                      refused="raise", status=303)


def _documents_url(enrolment) -> str:
    return url_for("documents.session_documents", session_id=enrolment.session_id)


def _task_url(task) -> str:
    """The page that follows the task just started."""
    return url_for("tasks.show", task_id=task.id)
