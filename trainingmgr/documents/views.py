"""Document screens: a session's documents, downloads and packs (advisor); templates and their variables
(admin); the public check /verification: a code of a certificate or an attendance sheet, or an uploaded signed PDF."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ..accounts.permissions import admin_required, staff_required
from ..attendance import seals
from ..companies.models import Company
from ..core import sealkeys
from ..core.errors import DomainError
from ..core.persistence import get_by_id
from ..core.responses import attachment, fail
from ..core.view_actions import run_action
from ..enrolments.services import get_enrolment
from ..extensions import db, limiter
from ..resources.models import Trainer
from ..sessions.services import get_session
from ..signing import archive
from . import funders, services
from .catalogue import DOC_TYPES, variables_of
from .conversion import pdf
from .forms import ActionForm, UploadForm, VerifyUploadForm
from .packs.session_pack import start_session_pack
from .rendering.context import attendance_or_live

bp = Blueprint("documents", __name__)
verify_bp = Blueprint("verify", __name__)

MIME = {"docx": services.DOCX_TYPE, "pdf": "application/pdf", "zip": "application/zip"}


def checked_form() -> None:
    if not ActionForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")


@bp.route("/sessions/<int:session_id>/documents")
@staff_required
def session_documents(session_id: int):
    session = get_session(session_id, current_user)
    documents = services.session_documents(session)
    enrolments = attendance_or_live(session)
    companies = sorted({e.company or e.trainee.company for e in enrolments} - {None}, key=lambda c: c.name)
    return render_template("documents/session.html", session=session, documents=documents,
                           current=services.current_versions(documents), enrolments=enrolments, companies=companies,
                           trainers=session.trainers, funders=funders.funders_of(enrolments),
                           doc_types=DOC_TYPES, applicable=services.applicable,
                           pdf_available=pdf.available())


@bp.route("/sessions/<int:session_id>/documents/generate", methods=["POST"])
@staff_required
def generate(session_id: int):
    checked_form()
    session = get_session(session_id, current_user)
    doc_type = request.form.get("doc_type", "")
    if doc_type not in DOC_TYPES:
        fail(400, "Type de document inconnu.")
    enrolment = company = trainer = None
    if request.form.get("enrolment_id"):
        enrolment = get_enrolment(request.form["enrolment_id"], current_user)
    if request.form.get("company_id"):
        company = get_by_id(Company, request.form["company_id"], "Entreprise introuvable.")
    if request.form.get("trainer_id"):
        trainer = get_by_id(Trainer, request.form["trainer_id"], "Formateur introuvable.")
    return run_action(
        lambda: services.generate(doc_type, session, current_user, enrolment=enrolment, company=company,
                                  trainer=trainer),
        lambda document: f"{document.label} n° {document.number} {DOC_TYPES[doc_type].agree('généré')} "
                         f"(version {document.version}).",
        url_for("documents.session_documents", session_id=session.id), refused="raise")


@bp.route("/sessions/<int:session_id>/documents/pack", methods=["POST"])
@staff_required
def session_pack(session_id: int):
    checked_form()
    session = get_session(session_id, current_user)
    back = url_for("documents.session_documents", session_id=session.id)
    return run_action(lambda: start_session_pack(session, current_user, back), None,
                      lambda task: url_for("tasks.show", task_id=task.id), refused="raise", status=303)


@bp.route("/documents/<int:document_id>.<kind>")
@staff_required
def download(document_id: int, kind: str):
    if kind not in ("docx", "pdf"):
        fail(404, "Format inconnu.")
    document = services.get_document(document_id, current_user)
    return attachment(services.read_file(document, kind), f"{document.number}.{kind}", MIME[kind])


@bp.route("/documents/<int:document_id>/send", methods=["POST"])
@staff_required
def send(document_id: int):
    checked_form()
    document = services.get_document(document_id, current_user)
    return run_action(
        lambda: services.send_document(document, current_user),
        lambda to: f"{document.label} {DOC_TYPES[document.doc_type].agree('mis')} en envoi pour {', '.join(to)}.",
        lambda: url_for("documents.session_documents", session_id=document.session_id), refused="raise")


# --------------------------------------------------------------------------- templates (admin)


@bp.route("/admin/templates")
@admin_required
def templates():
    active = {code: services.active_template(code)[2] for code in DOC_TYPES}
    return render_template("documents/templates.html", doc_types=DOC_TYPES, active=active)


@bp.route("/admin/templates/<doc_type>", methods=["GET", "POST"])
@admin_required
def template_type(doc_type: str):
    if doc_type not in DOC_TYPES:
        fail(404, "Type de document inconnu.")
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise services.ValidationError("Choisissez un fichier .docx.", field="file")
            row = services.upload_template(doc_type, upload.read(), upload.filename, current_user,
                                           form.comment.data or "")
        except DomainError as exc:
            db.session.rollback()
            form.apply_errors(exc)
            status = 422
        else:
            db.session.commit()
            flash(f"Modèle n° {row.version} validé et activé.", "success")
            return redirect(url_for("documents.template_type", doc_type=doc_type))
    elif request.method == "POST":
        status = 400
    _, row, active = services.active_template(doc_type)
    return render_template("documents/template_type.html", doc_type=DOC_TYPES[doc_type], form=form,
                           versions=services.template_versions(doc_type), active=active,
                           default_active=row is None), status


@bp.route("/admin/templates/<doc_type>/restore/<int:version>", methods=["POST"])
@admin_required
def restore(doc_type: str, version: int):
    checked_form()
    return run_action(lambda: services.restore_template(doc_type, version),
                      "Modèle par défaut rétabli." if version == 0 else f"Modèle n° {version} rétabli.",
                      url_for("documents.template_type", doc_type=doc_type), refused="raise")


@bp.route("/admin/templates/<doc_type>/preview")
@admin_required
def preview(doc_type: str):
    version = request.args.get("version")
    data = services.sample_docx(doc_type, int(version) if version and version.isdigit() else None)
    return attachment(data, f"apercu-{doc_type}.docx", MIME["docx"])


@bp.route("/admin/templates/<doc_type>/default.docx")
@admin_required
def default_template(doc_type: str):
    if doc_type not in DOC_TYPES:
        fail(404, "Type de document inconnu.")
    with open(services._default_path(doc_type), "rb") as handle:
        return attachment(handle.read(), DOC_TYPES[doc_type].filename, MIME["docx"])


@bp.route("/admin/templates/<doc_type>/variables")
@staff_required
def variables(doc_type: str):
    if doc_type not in DOC_TYPES:
        fail(404, "Type de document inconnu.")
    return render_template("documents/variables.html", doc_type=DOC_TYPES[doc_type], variables=variables_of(doc_type))


# --------------------------------------------------------------------------- public check

MAX_VERIFY_UPLOAD = 20 * 1024 * 1024
MULTIPART_MARGIN = 64 * 1024  # the multipart envelope and the CSRF token around the file
TOO_LARGE = f"Le fichier dépasse {MAX_VERIFY_UPLOAD // (1024 * 1024)} Mo : il ne peut pas être vérifié ici."


def _verify_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "30 per minute")


@verify_bp.route("/verification", methods=["GET"])
@verify_bp.route("/verification/<code>")
@limiter.limit(_verify_limit)
def check(code: str | None = None):
    code = code or request.args.get("code", "")
    document = services.find_verifiable(code) if code else None
    status = 200 if document is not None or not code else 404
    summary = sheet = None
    if document is not None and document.doc_type == "certificate":
        summary = _certificate_summary(document)
    elif document is not None:
        sheet = _sheet_summary(document)
    return _verify_page(VerifyUploadForm(), status, code=code, summary=summary, sheet=sheet)


@verify_bp.route("/verification", methods=["POST"])
@limiter.limit(_verify_limit)
def upload():
    """A signed PDF checked: its signatures, and whether it is a file of our archive. The CSRF token is checked
    before (CSRFProtect: 400)."""
    form = VerifyUploadForm()
    pdf, problem, status = _uploaded_pdf(form.file.data)
    if problem:
        return _verify_page(form, status, upload_error=problem)
    return _verify_page(form, 200, verdict=archive.check_pdf(pdf))


@verify_bp.url_value_preprocessor
def _upload_cap(endpoint: str | None, values: dict | None) -> None:
    """The upload has its own cap, above MAX_CONTENT_LENGTH: set here, before any before_request hook reads the
    body (this is the only hook of the blueprint that runs before the application's)."""
    if endpoint == "verify.upload":
        request.max_content_length = MAX_VERIFY_UPLOAD + MULTIPART_MARGIN


@verify_bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(error):
    return _verify_page(VerifyUploadForm(formdata=None), 413, upload_error=TOO_LARGE)  # the body stays unread


def _uploaded_pdf(upload) -> tuple[bytes, str, int]:
    """The uploaded PDF, or why it is refused (French) and the status to answer."""
    if not isinstance(upload, FileStorage) or not upload.filename:
        return b"", "Choisissez le fichier PDF à vérifier.", 422
    pdf = upload.read(MAX_VERIFY_UPLOAD + 1)
    if len(pdf) > MAX_VERIFY_UPLOAD:
        return b"", TOO_LARGE, 413
    if not pdf:
        return b"", "Le fichier envoyé est vide.", 422
    if b"%PDF-" not in pdf[:1024]:  # where the PDF standard allows the header
        return b"", "Ce fichier n'est pas un PDF : seuls les documents PDF signés peuvent être vérifiés ici.", 422
    return pdf, "", 200


def _verify_page(form: VerifyUploadForm, status: int, *, code: str = "", summary: dict | None = None,
                 sheet: dict | None = None, verdict: archive.UploadVerdict | None = None, upload_error: str = ""):
    return render_template("documents/verify.html", form=form, code=code, summary=summary, sheet=sheet,
                           verdict=verdict, upload_error=upload_error, keys=_public_keys()), status


@verify_bp.route("/verification/<code>/scellement.json")
@limiter.limit(_verify_limit)
def seal_proof(code: str):
    """What verifies an attendance sheet's seal offline: the signed message, the signature, the public key and
    the timestamp token."""
    document = services.find_verifiable(code)
    pinned = _pinned(document) if document is not None and document.doc_type == "attendance_sheet" else None
    if pinned is None or pinned.seal is None:
        fail(404, "Aucun scellement ne correspond à ce code.")
    return jsonify(seals.proof(pinned.seal))


def _pinned(document):
    seal = document.context.get("sheet", {}).get("seal", {})
    return seals.pinned_state(document.session_id, seal.get("length") or 0, seal.get("head") or "")


def _certificate_summary(document) -> dict:
    """What the check page confirms of a certificate, from its stored context: with remote hours, the hours per
    modality and « Action réalisée (en partie) à distance » (absent from a certificate issued before issue 27)."""
    context = document.context
    attended = context["attendance"]
    trainee = document.enrolment.trainee
    replacement = services.next_version(document)
    return {
        "initials": f"{trainee.first_name[:1]}. {trainee.last_name[:1]}.",
        "course": context["course"]["title"], "first_date": attended["first_date"],
        "last_date": attended["last_date"], "hours": attended["hours"],
        "modalities": attended.get("modalities") or [], "distance": attended.get("distance", ""),
        "organisation": context["org"]["name"], "nda": context["org"]["nda"],
        "issued": document.created_at, "current": replacement is None, "number": document.number,
        "replaced_on": replacement.created_at if replacement else None,
        "replaced_reason": replacement.reason if replacement else "",
    }


def _sheet_summary(document) -> dict:
    context = document.context
    sealed = context.get("sheet", {}).get("seal", {})
    replacement = services.next_version(document)
    return {
        "organisation": context["org"]["name"], "nda": context["org"]["nda"], "course": context["course"]["title"],
        "session": context["session"]["reference"], "dates": context["session"]["dates"],
        "number": document.number, "issued": document.created_at, "current": replacement is None,
        "sealed": sealed, "pinned": _pinned(document) if sealed.get("length") else None,
    }


def _public_keys() -> list:
    try:
        return sealkeys.load_keyring()
    except sealkeys.KeyringError:
        current_app.logger.error("Trousseau des clés de scellement illisible", exc_info=True)
        return []
