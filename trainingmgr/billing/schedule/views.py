"""Staff pages of a contrat de formation's payment schedule (blueprint "billing_schedule"):

/enrolments/<id>/schedule                        the calls (status, invoice, why one waits), edit and save them
/enrolments/<id>/schedule/<call_id>/send         POST: send one call now (invoice issued and e-mailed)
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.errors import DomainError
from ...core.responses import fail
from ...core.view_actions import run_form
from ...enrolments import contract
from ...enrolments import services as enrolment_services
from ...extensions import db
from ...messaging.delivery import sent_word
from . import services as schedule
from .forms import ScheduleForm, SendCallForm

bp = Blueprint("billing_schedule", __name__)
BLANK_ROWS = 2


def _rows(enrolment, proposed: bool) -> list[dict]:
    """The form's rows: the calls not sent yet, or the proposal (asked for, or nothing planned), then blank rows."""
    calls = schedule.calls_of(enrolment)
    rows = [{"due_on": c.due_on, "amount": c.amount} for c in calls if c.is_planned]
    if proposed or not calls:
        try:
            rows = [{"due_on": c.due_on, "amount": c.amount} for c in schedule.propose(enrolment)]
        except DomainError:
            rows = []
    return rows + [{"due_on": None, "amount": None}] * BLANK_ROWS


def _page(enrolment, form: ScheduleForm, send_form: SendCallForm | None = None, status: int = 200):
    try:
        share, refusal = schedule.trainee_share(enrolment)[0], None
        schedule.propose(enrolment)  # the same checks as saving: a contract, signed, a live enrolment
    except DomainError as exc:
        share, refusal = None, exc.message
    calls = schedule.calls_of(enrolment)
    return render_template(
        "billing/schedule.html", enrolment=enrolment, session=enrolment.session, trainee=enrolment.trainee,
        form=form, send_form=send_form or SendCallForm(formdata=None), calls=calls, share=share, refusal=refusal,
        waiting=schedule.refusals(calls), address=schedule.known_address(enrolment),
        total=sum((c.amount for c in calls if not c.is_cancelled), Decimal(0)),
        withdrawal_ends=contract.withdrawal_ends(enrolment),
        next_call=next((c for c in calls if c.is_planned), None)), status


@bp.route("/enrolments/<int:enrolment_id>/schedule", methods=["GET", "POST"])
@staff_required
def edit(enrolment_id: int):
    enrolment = enrolment_services.get_enrolment(enrolment_id, current_user)
    form = ScheduleForm() if request.method == "POST" else ScheduleForm(
        data={"calls": _rows(enrolment, bool(request.args.get("proposer")))})
    ok, _ = run_form(form, lambda: schedule.save(enrolment, form.data_for_service()["calls"], current_user))
    if ok:
        flash("Échéancier enregistré : chaque échéance sera envoyée au stagiaire à sa date.", "success")
        return redirect(url_for("billing_schedule.edit", enrolment_id=enrolment.id))
    if form.errors:
        db.session.expire_all()
    return _page(enrolment_services.get_enrolment(enrolment_id, current_user), form,
                 status=getattr(form, "error_status", 422) if form.errors else 200)


@bp.route("/enrolments/<int:enrolment_id>/schedule/<int:call_id>/send", methods=["POST"])
@staff_required
def send(enrolment_id: int, call_id: int):
    enrolment = enrolment_services.get_enrolment(enrolment_id, current_user)
    call = schedule.get_call(enrolment, call_id)
    form = SendCallForm()
    if not form.validate() and form.csrf_token.errors:  # nothing is attempted without the token
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    ok, invoice = run_form(form, lambda: schedule.send_call(call, current_user, address=form.data_for_service()))
    if ok:
        flash(f"Échéance {sent_word('f')} : facture n° {invoice.number} émise et adressée au stagiaire "
              f"({invoice.buyer_email}) avec son QR code de virement.", "success")
        return redirect(url_for("billing_schedule.edit", enrolment_id=enrolment.id))
    db.session.expire_all()
    enrolment = enrolment_services.get_enrolment(enrolment_id, current_user)
    return _page(enrolment, ScheduleForm(data={"calls": _rows(enrolment, False)}), form,
                 getattr(form, "error_status", 422) if form.errors else 400)
