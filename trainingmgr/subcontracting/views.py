"""A trainer's file (advisor): the documents, the professional-development log, and for a subcontractor the
missions with their contract and the invoices received."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.timeutil import paris_today
from ..core.responses import fail
from ..core.view_actions import run_action, run_form
from ..resources import dossier
from ..resources.models import Trainer
from ..sessions.services import get_session
from . import services
from .forms import DevelopmentForm, RemoveForm, TrainerDocumentForm, TrainerInvoiceForm

bp = Blueprint("subcontracting", __name__)


def _invoice_form(session_id: int, formdata=True) -> TrainerInvoiceForm:
    prefix = f"s{session_id}"
    return TrainerInvoiceForm(prefix=prefix) if formdata else TrainerInvoiceForm(prefix=prefix, formdata=None)


def _page(trainer: Trainer, failed=None, **forms):
    """The file's page; ``failed``: the form refused, shown again with its errors (422, or 409 for a conflict)."""
    missions = services.trainer_missions(trainer)
    invoice_forms = {row.session.id: _invoice_form(row.session.id, formdata=False) for row in missions}
    refused = forms.pop("invoice_forms", {})
    # A refusal for a session the trainer does not teach has no form on the page: its messages go on top.
    stray = [m for session_id, form in refused.items() if session_id not in invoice_forms
             for m in list(form.form_errors or []) + [e for errors in form.errors.values() for e in errors
                                                      if isinstance(e, str)]]
    invoice_forms.update(refused)
    status = getattr(failed, "error_status", 422) if failed is not None and failed.errors else 200
    return render_template(
        "subcontracting/trainer_file.html", trainer=trainer, documents=dossier.trainer_documents(trainer),
        development=dossier.development_log(trainer), missions=missions, invoice_forms=invoice_forms,
        document_form=forms.get("document_form") or TrainerDocumentForm(formdata=None),
        development_form=forms.get("development_form") or DevelopmentForm(formdata=None),
        today=paris_today(), warnings=services.invoice_warnings, stray=stray,
        contract_problems=dossier.contract_problems(trainer)), status


def _back(trainer: Trainer, anchor: str):
    return redirect(_back_url(trainer, anchor))


def _back_url(trainer: Trainer, anchor: str) -> str:
    return url_for("subcontracting.trainer_file", trainer_id=trainer.id) + f"#{anchor}"


@bp.route("/trainers/<int:trainer_id>/file")
@staff_required
def trainer_file(trainer_id: int):
    return _page(dossier.get_trainer(trainer_id))


@bp.route("/trainers/<int:trainer_id>/file/documents", methods=["POST"])
@staff_required
def add_document(trainer_id: int):
    trainer = dossier.get_trainer(trainer_id)
    form = TrainerDocumentForm()
    ok, _ = run_form(form, lambda: dossier.add_document(trainer, form.data_for_service(), form.file.data,
                                                        current_user))
    if ok:
        flash("Document déposé dans le dossier du formateur.", "success")
        return _back(trainer, "documents")
    return _page(trainer, form, document_form=form)


@bp.route("/trainers/<int:trainer_id>/file/documents/<int:trainer_document_id>/delete", methods=["POST"])
@staff_required
def remove_document(trainer_id: int, trainer_document_id: int):
    trainer = dossier.get_trainer(trainer_id)
    _checked()
    return run_action(lambda: dossier.remove_document(trainer, trainer_document_id), "Document retiré du dossier.",
                      _back_url(trainer, "documents"), refused="raise")


@bp.route("/trainers/<int:trainer_id>/file/development", methods=["POST"])
@staff_required
def add_development(trainer_id: int):
    trainer = dossier.get_trainer(trainer_id)
    form = DevelopmentForm()
    ok, _ = run_form(form, lambda: dossier.add_development(trainer, form.data_for_service(), form.evidence.data,
                                                           current_user))
    if ok:
        flash("Action ajoutée au journal de développement des compétences.", "success")
        return _back(trainer, "developpement")
    return _page(trainer, form, development_form=form)


@bp.route("/trainers/<int:trainer_id>/file/development/<int:development_id>/delete", methods=["POST"])
@staff_required
def remove_development(trainer_id: int, development_id: int):
    trainer = dossier.get_trainer(trainer_id)
    _checked()
    return run_action(lambda: dossier.remove_development(trainer, development_id), "Entrée retirée du journal.",
                      _back_url(trainer, "developpement"), refused="raise")


@bp.route("/trainers/<int:trainer_id>/sessions/<int:session_id>/invoices", methods=["POST"])
@staff_required
def record_invoice(trainer_id: int, session_id: int):
    trainer = dossier.get_trainer(trainer_id)
    session = get_session(session_id, current_user)
    form = _invoice_form(session.id)
    ok, result = run_form(form, lambda: services.record_invoice(trainer, session, form.data_for_service(),
                                                                form.file.data, current_user))
    if ok:
        invoice, warnings = result
        flash(f"Facture n° {invoice.number} enregistrée.", "success")
        for warning in warnings:
            flash(warning, "warning")
        return _back(trainer, f"session-{session.id}")
    return _page(trainer, form, invoice_forms={session.id: form})


def _checked() -> None:
    if not RemoveForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
