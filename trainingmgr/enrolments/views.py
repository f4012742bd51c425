"""Advisor screens: enrol, handle public requests, decide on prerequisites, cancel, fund."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..companies.services import search_companies
from ..core.links import external_url
from ..core.responses import fail
from ..core.view_actions import form_page, run_action, run_form
from ..evaluations.questionnaires.services import positioning_summary
from ..extensions import db
from ..sessions.services import get_session
from ..trainees.services import search_trainees
from . import contract, services
from .convocations import convocation_states
from .forms import AcceptForm, CancelForm, ContractSignatureForm, DecisionForm, EnrolForm, FundingForm, OutcomeForm
from .funders import FUNDERS
from .links import trainee_token
from .models import (
    AGREEMENT_KINDS,
    ENROLMENT_STATUS_LABELS,
    FUNDING_KINDS,
    OPCO_STATUSES,
    PUBLIC_FUNDER_CATEGORIES,
    FundingLine,
)

bp = Blueprint("enrolments", __name__)
# The states a file on the funding board can be in (an agreed one leaves the board).
BOARD_STATUSES = {k: v for k, v in OPCO_STATUSES.items() if k != "agreed"}


@bp.route("/sessions/<int:session_id>/enrolments/new", methods=["GET", "POST"])
@staff_required
def new(session_id: int):
    session = get_session(session_id, current_user)
    form = EnrolForm()
    ok, enrolment = run_form(form, lambda: services.enrol_from_data(session, form.enrol_data(), current_user))
    if ok:
        flash(f"{enrolment.trainee.full_name} : {enrolment.status_label.lower()}.", "success")
        return redirect(url_for("sessions.show", session_id=session.id))
    if form.trainee_search.errors:  # a search: its matches to choose from (the page works without JavaScript)
        form.offer(search_trainees(form.trainee_search.data))
    if form.company_search.errors and not form.company_id.data:  # likewise for the company
        form.offer_companies(search_companies(form.company_search.data))
    return form_page("enrolments/new.html", form, session=session)


def _positioning(enrolment):
    return positioning_summary(enrolment)


@bp.route("/enrolments/<int:enrolment_id>")
@staff_required
def show(enrolment_id: int):
    return _render_show(services.get_enrolment(enrolment_id, current_user))


def _render_show(enrolment, status: int = 200, **forms):
    accept_form = forms.get("accept_form") or AcceptForm(data={
        "company_name": enrolment.requested_company_name, "company_siret": enrolment.requested_company_siret})
    decision_form = forms.get("decision_form") or DecisionForm(data={
        "decision": enrolment.positioning_decision or "admitted", "comment": enrolment.positioning_comment})
    return render_template(
        "enrolments/show.html", enrolment=enrolment, session=enrolment.session, trainee=enrolment.trainee,
        accept_form=accept_form, decision_form=decision_form,
        cancel_form=forms.get("cancel_form") or CancelForm(), outcome_form=forms.get("outcome_form") or OutcomeForm(),
        contract_form=forms.get("contract_form") or ContractSignatureForm(data={
            "signed_on": enrolment.contract_signed_on}),
        contract=contract.issued_contract(enrolment) if contract.is_individual(enrolment) else None,
        withdrawal_ends=contract.withdrawal_ends(enrolment),
        summary=_positioning(enrolment), difference=services.funding_difference(enrolment),
        funding_warnings=services.funding_warnings(enrolment), funders=FUNDERS,
        public_funder_categories=PUBLIC_FUNDER_CATEGORIES,
        needs_decision=services.needs_prerequisite_decision(enrolment),
        personal_url=external_url("trainee.home", token=trainee_token(enrolment)),
        live=enrolment.is_live,
        status_labels=ENROLMENT_STATUS_LABELS, convocation=next(iter(convocation_states([enrolment])), None),
    ), status


def _action(enrolment_id: int, form_name: str, form, action, success: str):
    """A POST on the enrolment page: back to it on success; the page again with the errors otherwise."""
    enrolment = services.get_enrolment(enrolment_id, current_user)
    ok, _ = run_form(form, lambda: action(enrolment))
    if ok:
        flash(success, "success")
        return redirect(url_for("enrolments.show", enrolment_id=enrolment.id))
    db.session.expire_all()
    enrolment = services.get_enrolment(enrolment_id, current_user)
    return _render_show(enrolment, getattr(form, "error_status", 422) if form.errors else 400, **{form_name: form})


@bp.route("/enrolments/<int:enrolment_id>/accept", methods=["POST"])
@staff_required
def accept(enrolment_id: int):
    form = AcceptForm()
    return _action(enrolment_id, "accept_form", form, lambda e: services.accept_request(
        e, current_user, {"name": form.company_name.data, "siret": form.company_siret.data}),
        "Demande validée.")


@bp.route("/enrolments/<int:enrolment_id>/decision", methods=["POST"])
@staff_required
def decision(enrolment_id: int):
    form = DecisionForm()
    return _action(enrolment_id, "decision_form", form,
                   lambda e: services.record_decision(e, form.decision.data, form.comment.data, current_user),
                   "Décision enregistrée.")


@bp.route("/enrolments/<int:enrolment_id>/contract", methods=["POST"])
@staff_required
def contract_signature(enrolment_id: int):
    form = ContractSignatureForm()
    return _action(enrolment_id, "contract_form", form,
                   lambda e: contract.record_signature(e, form.signed_on.data, current_user),
                   "Date de signature du contrat enregistrée : le délai de rétractation court.")


@bp.route("/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@staff_required
def cancel(enrolment_id: int):
    form = CancelForm()
    return _action(enrolment_id, "cancel_form", form,
                   lambda e: services.cancel(e, current_user, form.reason.data), "Inscription annulée.")


@bp.route("/enrolments/<int:enrolment_id>/outcome", methods=["POST"])
@staff_required
def outcome(enrolment_id: int):
    form = OutcomeForm()
    return _action(enrolment_id, "outcome_form", form,
                   lambda e: services.mark_outcome(e, form.status.data, current_user), "Bilan enregistré.")


def _funding_line(enrolment, line_id: int | None) -> FundingLine | None:
    if line_id is None:
        return None
    line = db.session.get(FundingLine, line_id)
    if line is None or line.enrolment_id != enrolment.id:
        fail(404, "Financement introuvable.")
    return line


@bp.route("/enrolments/<int:enrolment_id>/funding/new", methods=["GET", "POST"])
@bp.route("/enrolments/<int:enrolment_id>/funding/<int:line_id>", methods=["GET", "POST"])
@staff_required
def funding(enrolment_id: int, line_id: int | None = None):
    enrolment = services.get_enrolment(enrolment_id, current_user)
    line = _funding_line(enrolment, line_id)
    if request.method == "POST":
        form = FundingForm()
    elif line is not None:
        form = FundingForm.of_line(line)
    else:  # a new line proposes what is still to cover, and the employer's OPCO
        company = enrolment.company
        form = FundingForm(data={"amount": services.funding_difference(enrolment),
                                 "kind": "opco" if company is not None and company.opco else "company",
                                 "opco_name": company.opco if company is not None else "",
                                 "opco_status": "to_request"})
    ok, _ = run_form(form, lambda: services.save_funding_line(enrolment, line, form.data_for_service(), current_user))
    if ok:
        flash("Financement enregistré.", "success")
        return redirect(url_for("enrolments.show", enrolment_id=enrolment.id))
    return form_page("enrolments/funding.html", form, enrolment=enrolment, line=line, funders=FUNDERS)


@bp.route("/enrolments/<int:enrolment_id>/funding/<int:line_id>/delete", methods=["POST"])
@staff_required
def funding_delete(enrolment_id: int, line_id: int):
    enrolment = services.get_enrolment(enrolment_id, current_user)
    line = _funding_line(enrolment, line_id)  # the CSRF token was checked before the view
    return run_action(lambda: services.delete_funding_line(line, current_user), "Financement retiré.",
                      url_for("enrolments.show", enrolment_id=enrolment.id))


@bp.route("/funding")
@staff_required
def board():
    kind = request.args.get("kind", "").strip()
    if kind and kind not in AGREEMENT_KINDS:
        fail(400, "Financeur inconnu : OPCO, fonds des non-salariés, France Travail ou financeur public.")
    status = request.args.get("status", "").strip()
    if status and status not in BOARD_STATUSES:
        fail(400, "État inconnu : à demander, demandée ou refusée.")
    lines = services.funding_board(kind=kind or None, status=status or None)
    return render_template("enrolments/board.html", lines=lines, kind=kind, status=status, statuses=BOARD_STATUSES,
                           kinds={k: FUNDING_KINDS[k] for k in AGREEMENT_KINDS}, funders=FUNDERS,
                           total=sum(((line.requested_amount or line.amount) for line in lines), Decimal("0.00")))


@bp.route("/enrolments/requests")
@staff_required
def requests():
    return render_template("enrolments/requests.html", enrolments=services.pending_requests())


@bp.route("/enrolments/prerequisites")
@staff_required
def prerequisites():
    return render_template("enrolments/prerequisites.html", enrolments=services.awaiting_prerequisite_decision())

