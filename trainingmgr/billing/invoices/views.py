"""Staff screens of invoices and credit notes: the list (/billing/), a session's invoicing (what remains to
invoice, its invoices, « Préparer les factures »), an invoice's page (draft: edit, lines, issue; issued: files,
credit note, payments panel), downloads."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ...accounts.permissions import staff_required
from ...companies.services import list_companies
from ...core.errors import DomainError
from ...core.formatting import count_fr
from ...core.paging import page_arg
from ...core.responses import attachment, fail
from ...core.view_actions import form_page, run_action, run_form
from ...enrolments.models import Enrolment
from ...extensions import db
from ...sessions.services import get_session
from ...trainees.models import Trainee
from ..models import INVOICE_KINDS, INVOICE_STATUSES, InvoiceKind
from ..payments import services as payments
from ..payments import transfer
from ..payments.views import panel_context
from . import drafts
from .credit_notes import credit_invoice
from .drafts import NOT_EDITABLE, create_draft, delete_draft, get_line, update_draft, update_line
from .files import FILE_KINDS, filename, read_file, stored_file
from .forms import ActionForm, CreditForm, DraftForm, LineForm, NewDraftForm
from .issue import funder_mention, issue_invoice, render_docx
from .payers import PUBLIC_PAYERS
from .planning import plan_invoices, propose_invoices
from .queries import (
    credit_notes_of,
    get_invoice,
    invoice_list,
    invoice_years,
    remaining_to_credit,
    session_invoices,
    session_of,
    sessions_of,
)

bp = Blueprint("billing", __name__)


MIME = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf": "application/pdf", "xml": "application/xml"}


def _checked_button() -> None:
    if not ActionForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")


# --------------------------------------------------------------------------- lists


def _filters() -> dict:
    status = request.args.get("status", "").strip()
    if status and status not in INVOICE_STATUSES:
        fail(400, "Statut inconnu : brouillon ou émise.")
    kind = request.args.get("kind", "").strip()
    if kind and kind not in INVOICE_KINDS:
        fail(400, "Type inconnu : facture ou avoir.")
    year = request.args.get("year", "").strip()
    if year and not (year.isdigit() and 2000 <= int(year) <= 2100):
        fail(400, "Année invalide : quatre chiffres entre 2000 et 2100.")
    return {"status": status or None, "kind": kind or None, "year": int(year) if year else None}


@bp.route("/billing/")
@staff_required
def index():
    filters = _filters()
    listing, totals = invoice_list(page_arg(), **filters)
    invoices = listing.rows
    return render_template("billing/index.html", invoices=invoices, listing=listing,
                           pager_args={key: value for key, value in filters.items() if value},
                           sessions=sessions_of(invoices),
                           balances=payments.balances([i for i in invoices if i.is_issued]),
                           filters=filters, years=invoice_years(), statuses=INVOICE_STATUSES,
                           kinds=INVOICE_KINDS, totals=totals)


def _session_page(session, status: int = 200, new_form: NewDraftForm | None = None):
    invoices = session_invoices(session)
    if new_form is None:
        new_form = NewDraftForm(formdata=None)
    trainees = db.session.scalars(select(Trainee).join(Enrolment).where(Enrolment.session_id == session.id)
                                  .order_by(Trainee.last_name, Trainee.first_name))
    new_form.set_choices(list_companies(), trainees)
    return render_template("billing/session.html", session=session, plan=plan_invoices(session),
                           invoices=invoices, balances=payments.balances([i for i in invoices if i.is_issued]),
                           can_propose=session.is_held,
                           can_issue=session.has_ended, new_form=new_form), status


@bp.route("/sessions/<int:session_id>/billing")
@staff_required
def session(session_id: int):
    return _session_page(get_session(session_id, current_user))


@bp.route("/sessions/<int:session_id>/billing/propose", methods=["POST"])
@staff_required
def propose(session_id: int):
    _checked_button()
    training = get_session(session_id, current_user)
    return run_action(lambda: propose_invoices(training, current_user), _proposal_message,
                      url_for("billing.session", session_id=training.id), refused="raise",
                      category=lambda proposal: "success" if proposal.created or proposal.completed else "info")


def _proposal_message(proposal) -> str:
    parts = []
    if proposal.created:
        parts.append(count_fr(len(proposal.created), "brouillon créé"))
    if proposal.completed:
        parts.append(count_fr(len(proposal.completed), "brouillon complété"))
    return (" et ".join(parts) + ".") if parts else "Rien de nouveau à facturer pour cette session."


@bp.route("/sessions/<int:session_id>/billing/new", methods=["POST"])
@staff_required
def new_draft(session_id: int):
    training = get_session(session_id, current_user)
    form = NewDraftForm()
    form.set_choices([], [])
    ok, invoice = run_form(form, lambda: create_draft(training, form.data_for_service(), current_user))
    if ok:
        flash("Brouillon créé : ajoutez ses lignes.", "success")
        return redirect(url_for("billing.show", invoice_id=invoice.id))
    db.session.expire_all()
    return _session_page(get_session(session_id, current_user), getattr(form, "error_status", 422), form)


# --------------------------------------------------------------------------- one invoice


def _invoice(invoice_id: int):
    return get_invoice(invoice_id, current_user)


def _show_page(invoice, status: int = 200, credit_form: CreditForm | None = None,
               issue_error: DomainError | None = None):
    credited_by = credit_notes_of(invoice) if invoice.kind == InvoiceKind.INVOICE.value else []
    context = {
        "invoice": invoice, "session": session_of(invoice), "credit_notes": credited_by,
        "remaining": remaining_to_credit(invoice) if invoice.kind == InvoiceKind.INVOICE.value and invoice.is_issued
        else None,
        "balance": payments.balances([invoice])[invoice.id] if invoice.is_issued else None,
        "credit_form": credit_form or CreditForm(formdata=None),
        "issue_error": issue_error, "files": {kind: stored_file(invoice, kind) for kind in FILE_KINDS},
        "funder": funder_mention(invoice), "chorus": invoice.payer_kind in PUBLIC_PAYERS,
    }
    panel = panel_context(invoice) if invoice.is_issued else {}
    panel.update(transfer.page_panel(invoice, context["balance"]))
    return render_template("billing/show.html", **{**context, **panel}), status


@bp.route("/billing/<int:invoice_id>")
@staff_required
def show(invoice_id: int):
    return _show_page(_invoice(invoice_id))


@bp.route("/billing/<int:invoice_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(invoice_id: int):
    invoice = _invoice(invoice_id)
    if not invoice.is_draft:
        fail(409, NOT_EDITABLE)
    form = (DraftForm(obj=invoice) if request.method == "GET" else DraftForm()).for_payer(invoice.payer_kind)
    ok, _ = run_form(form, lambda: update_draft(invoice, form.data_for_service(), current_user))
    if ok:
        flash("Brouillon enregistré.", "success")
        return redirect(url_for("billing.show", invoice_id=invoice.id))
    return form_page("billing/edit.html", form, invoice=invoice, session=session_of(invoice))


@bp.route("/billing/<int:invoice_id>/lines/new", methods=["GET", "POST"])
@staff_required
def add_line(invoice_id: int):
    invoice = _invoice(invoice_id)
    if not invoice.is_draft:
        fail(409, NOT_EDITABLE)
    form = LineForm()
    ok, _ = run_form(form, lambda: drafts.add_line(invoice, form.data_for_service(), current_user))
    if ok:
        flash("Ligne ajoutée.", "success")
        return redirect(url_for("billing.show", invoice_id=invoice.id))
    return form_page("billing/line.html", form, invoice=invoice, line=None)


@bp.route("/billing/<int:invoice_id>/lines/<int:line_id>", methods=["GET", "POST"])
@staff_required
def edit_line(invoice_id: int, line_id: int):
    invoice = _invoice(invoice_id)
    line = get_line(invoice, line_id)
    if not invoice.is_draft:
        fail(409, NOT_EDITABLE)
    form = LineForm(data={"description": line.description, "quantity": line.quantity, "unit": line.unit,
                          "unit_price": line.unit_price_excl_vat}) if request.method == "GET" else LineForm()
    ok, _ = run_form(form, lambda: update_line(invoice, line.id, form.data_for_service(), current_user))
    if ok:
        flash("Ligne enregistrée.", "success")
        return redirect(url_for("billing.show", invoice_id=invoice.id))
    return form_page("billing/line.html", form, invoice=invoice, line=line)


@bp.route("/billing/<int:invoice_id>/lines/<int:line_id>/delete", methods=["POST"])
@staff_required
def delete_line(invoice_id: int, line_id: int):
    _checked_button()
    invoice = _invoice(invoice_id)
    return run_action(lambda: drafts.delete_line(invoice, line_id, current_user), "Ligne supprimée.",
                      url_for("billing.show", invoice_id=invoice.id), refused="raise")


@bp.route("/billing/<int:invoice_id>/delete", methods=["POST"])
@staff_required
def delete(invoice_id: int):
    _checked_button()
    invoice = _invoice(invoice_id)
    back = url_for("billing.session", session_id=invoice.session_id) if invoice.session_id else url_for("billing.index")
    return run_action(lambda: delete_draft(invoice, current_user), "Brouillon supprimé.", back, refused="raise")


@bp.route("/billing/<int:invoice_id>/issue", methods=["POST"])
@staff_required
def issue(invoice_id: int):
    _checked_button()
    invoice = _invoice(invoice_id)
    return run_action(lambda: issue_invoice(invoice, current_user), lambda: f"Facture n° {invoice.number} émise.",
                      url_for("billing.show", invoice_id=invoice.id),
                      refused=lambda exc: _show_page(_invoice(invoice_id), exc.status_code, issue_error=exc))


@bp.route("/billing/<int:invoice_id>/credit-note", methods=["POST"])
@staff_required
def credit(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = CreditForm()
    if not form.validate() and form.csrf_token.errors:  # nothing is attempted without the token
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    ok, note = run_form(form, lambda: credit_invoice(invoice, current_user, form.amount.data, form.reason.data))
    if ok:
        flash(f"Avoir n° {note.number} émis sur la facture n° {invoice.number}.", "success")
        return redirect(url_for("billing.show", invoice_id=note.id))
    db.session.expire_all()
    return _show_page(_invoice(invoice_id), getattr(form, "error_status", 422) if form.errors else 400,
                      credit_form=form)


@bp.route("/billing/<int:invoice_id>/preview.docx")
@staff_required
def preview(invoice_id: int):
    """A draft as it would print (nothing is stored, no number is taken)."""
    invoice = _invoice(invoice_id)
    if not invoice.is_draft:
        return redirect(url_for("billing.download", invoice_id=invoice.id, kind="docx"))
    return attachment(render_docx(invoice), f"apercu-brouillon-{invoice.id}.docx", MIME["docx"])


@bp.route("/billing/<int:invoice_id>/<any(docx, pdf, xml):kind>")
@staff_required
def download(invoice_id: int, kind: str):
    invoice = _invoice(invoice_id)
    data, _ = read_file(invoice, kind)
    return attachment(data, filename(invoice, kind), MIME[kind])
