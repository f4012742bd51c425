"""The advisor's side of electronic signatures: send a document for signature, follow who signed, cancel, send a
new link, download each signed revision."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.timeutil import paris_today
from ..core.responses import attachment, fail
from ..core.view_actions import form_page, run_action, run_form
from ..documents import services as document_services
from ..messaging.delivery import mail_is_off, sent_to
from . import services
from .forms import ActionForm, CancelForm, SendForm
from .models import REQUEST_STATUS_LABELS

bp = Blueprint("signatures", __name__)


@bp.route("/documents/<int:document_id>/signature", methods=["GET", "POST"])
@staff_required
def new(document_id: int):
    document = document_services.get_document(document_id, current_user)
    candidates = services.proposed_signatories(document)
    form = SendForm()
    form.signatories.choices = [(c.key, c.label) for c in candidates]
    if request.method == "GET":
        form.signatories.data = [c.key for c in candidates if c.default]
        form.deadline.data = paris_today() + dt.timedelta(days=current_app.config["SIGNATURE_DEADLINE_DAYS"])
    ok, made = run_form(form, lambda: services.send_for_signature(document, form.signatories.data or [],
                                                                  form.deadline.data, current_user))
    if ok:
        flash("Document envoyé pour signature : chaque signataire reçoit son lien personnel par e-mail."
              if not mail_is_off() else "Demande de signature créée : les liens personnels des signataires sont "
              "écrits dans la console, aucun e-mail n'est parti (MAIL_BACKEND=console).", "success")
        return redirect(url_for("signatures.show", request_id=made.id))
    problem = services.cannot_send(document) or services.certificate_problem()
    return form_page("signing/new.html", form, document=document, problem=problem)


@bp.route("/signatures/<int:request_id>")
@staff_required
def show(request_id: int):
    return _show(services.get_request(request_id, current_user))


def _show(signature_request, cancel_form=None, status: int = 200):
    return render_template("signing/show.html", request=signature_request, document=signature_request.document,
                           form=ActionForm(), cancel_form=cancel_form or CancelForm(), labels=REQUEST_STATUS_LABELS,
                           source_problem=signature_request.is_open and services.source_problem(signature_request)
                           ), status


@bp.route("/signatures/<int:request_id>/revisions/<int:number>.pdf")
@staff_required
def revision(request_id: int, number: int):
    signature_request = services.get_request(request_id, current_user)
    data = services.revision_pdf(signature_request, number)
    return attachment(data, f"{signature_request.document.number}-revision-{number}.pdf", "application/pdf")


@bp.route("/signatures/<int:request_id>/cancel", methods=["POST"])
@staff_required
def cancel(request_id: int):
    signature_request = services.get_request(request_id, current_user)
    form = CancelForm()
    ok, _ = run_form(form, lambda: services.cancel(signature_request, current_user, form.reason.data or ""))
    if ok:
        flash("Demande de signature annulée.", "success")
        return redirect(url_for("signatures.show", request_id=request_id))
    return _show(signature_request, cancel_form=form, status=getattr(form, "error_status", 422))


@bp.route("/signatures/<int:request_id>/signatories/<int:signatory_id>/resend", methods=["POST"])
@staff_required
def resend(request_id: int, signatory_id: int):
    signature_request = services.get_request(request_id, current_user)
    signatory = services.get_signatory(signature_request, signatory_id)
    if not ActionForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    return run_action(lambda: services.resend_link(signatory, current_user),
                      lambda: f"Nouveau lien {sent_to(f'{signatory.name} ({signatory.email})')} ; l'ancien ne "
                              "fonctionne plus.",
                      url_for("signatures.show", request_id=request_id), refused="raise")


# --------------------------------------------------------------------------- the session's documents page
# documents/ sits below signing/: its page asks these template globals instead of importing this package.


@bp.app_template_global()
def signature_requests(session_id: int) -> dict:
    """The signature requests of a session's documents, newest first, by document id."""
    return services.requests_of_session(session_id)


@bp.app_template_global()
def signable(document) -> bool:
    return document.doc_type in services.SIGNABLE and document.pdf_file_id is not None
