"""Rendering Word templates, validating uploaded ones, generating and archiving documents, packs, checks.

Rendering uses docxtpl with a sandboxed Jinja environment: a template reaches only the context's data
(no attributes starting with "_", no Python internals); whatever it names that the context lacks renders
empty and is reported by ``validate_template``.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import zipfile
from collections.abc import Callable

from blinker import Namespace
from flask import current_app, render_template
from sqlalchemy import func, select

from ..accounts.models import User
from ..attendance import seals
from ..companies.models import Company
from ..core import timeutil
from ..core.errors import ConflictError, NotFoundError, ValidationError
from ..core.persistence import get_by_id
from ..core.links import external_url
from ..enrolments import contract as contract_rules
from ..messaging.bodies import html_body
from ..enrolments.models import Enrolment
from ..extensions import db
from ..files.models import StoredFile
from ..files.services import check_bytes, path_for, read_checked, store_bytes
from ..messaging.services import queue_email, topic_prefix
from ..organisation.services import get_organisation
from ..resources.dossier import contract_problems
from ..resources.models import Trainer
from ..sessions import services as session_services
from ..sessions.models import SessionStatus, TrainingSession
from . import funders, providers
from .catalogue import DOC_TYPES
from .conversion import pdf as converter
from .models import DocumentTemplate, GeneratedDocument
from .rendering import context as builders
from .rendering.engine import render, validate_template, visible_text
from .rendering.sample import sample_context

signals = Namespace()
# Sent when a new version of a document is archived (sender: the new GeneratedDocument; ``previous``: the version it
# replaces, or None): the signature requests of the replaced version are cancelled (signing/services.py).
document_issued = signals.signal("document-issued")

DEFAULTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "documents")
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
# The documents that carry a check code, which the public check page (/verification) answers for.
VERIFIABLE = ("certificate", "attendance_sheet")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --------------------------------------------------------------------------- templates


def _default_path(doc_type: str) -> str:
    return os.path.join(DEFAULTS_DIR, DOC_TYPES[doc_type].filename)


def active_template(doc_type: str) -> tuple[bytes, DocumentTemplate | None, str]:
    """(content, uploaded row or None for the default, label) of the template in use for ``doc_type``."""
    row = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.doc_type == doc_type,
                                                           DocumentTemplate.active.is_(True)))
    if row is not None:
        return path_for(row.file).read_bytes(), row, f"modèle n° {row.version}"
    with open(_default_path(doc_type), "rb") as handle:
        return handle.read(), None, "modèle par défaut"


def template_versions(doc_type: str) -> list[DocumentTemplate]:
    return list(db.session.scalars(select(DocumentTemplate).where(DocumentTemplate.doc_type == doc_type)
                                   .order_by(DocumentTemplate.version.desc())))


def _check_type(doc_type: str) -> None:
    if doc_type not in DOC_TYPES:
        raise NotFoundError("Type de document inconnu.")


def upload_template(doc_type: str, data: bytes, filename: str, actor: User, comment: str = "") -> DocumentTemplate:
    """Validate an uploaded .docx against the type's sample context; refuse it with every problem listed,
    or store it as the new active version (the previous ones are kept)."""
    _check_type(doc_type)
    if not filename.lower().endswith(".docx") or not data.startswith(b"PK\x03\x04"):
        raise ValidationError("Envoyez un document Word au format .docx.", field="file")
    check_bytes(data, filename, "template", field="file")  # size, declared sizes, XML, images: before any rendering
    problems = validate_template(doc_type, data)
    if problems:
        raise ValidationError("Le modèle est refusé :", fields={"file": problems})
    stored = store_bytes(data, filename, "template", field="file")
    version = (db.session.scalar(select(func.max(DocumentTemplate.version))
                                 .where(DocumentTemplate.doc_type == doc_type)) or 0) + 1
    for row in template_versions(doc_type):
        row.active = False
    row = DocumentTemplate(doc_type=doc_type, version=version, file=stored, active=True,
                           comment=(comment or "").strip()[:2000], uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    return row


def restore_template(doc_type: str, version: int) -> None:
    """Make an earlier version (0: the default template) the active one."""
    _check_type(doc_type)
    rows = template_versions(doc_type)
    if version != 0 and version not in {row.version for row in rows}:
        raise NotFoundError("Version de modèle introuvable.")
    for row in rows:
        row.active = row.version == version


def preview_context(doc_type: str) -> dict | None:
    """The context of a real subject for a preview (the demo's sessions, say), or None when no session
    of the database suits the type yet. Nothing is archived."""
    provider = providers.preview_provider(doc_type)
    if provider is not None:
        return provider()
    sessions = db.session.scalars(select(TrainingSession).where(TrainingSession.status != SessionStatus.CANCELLED.value)
                                  .order_by(TrainingSession.id.desc()).limit(20))
    scope = DOC_TYPES[doc_type].scope
    for session in sessions:
        enrolments = builders.attendance_or_live(session)
        if scope == "trainer":
            for trainer in session.trainers:
                if applicable(doc_type, session, trainer=trainer) is None:
                    return _context(doc_type, session, None, None, "APERÇU", "APERCU000000", trainer)
            continue
        candidates = [(None, None)] if scope == "session" else (
            [(e, None) for e in enrolments] if scope == "enrolment"
            else [(None, c) for c in {e.company or e.trainee.company for e in enrolments} - {None}])
        for enrolment, company in candidates:
            if applicable(doc_type, session, enrolment, company) is None:
                return _context(doc_type, session, enrolment, company, "APERÇU", "APERCU000000")
    return None


def sample_docx(doc_type: str, version: int | None = None) -> bytes:
    """The template rendered against the data of a real session when there is one (the demo's), else
    against the sample context (the catalogue's examples)."""
    _check_type(doc_type)
    if version is None:
        template = active_template(doc_type)[0]
    elif version == 0:
        with open(_default_path(doc_type), "rb") as handle:
            template = handle.read()
    else:
        row = next((r for r in template_versions(doc_type) if r.version == version), None)
        if row is None:
            raise NotFoundError("Version de modèle introuvable.")
        template = path_for(row.file).read_bytes()
    return render(template, preview_context(doc_type) or sample_context(doc_type)).docx


# --------------------------------------------------------------------------- generation and archive


def _subject(doc_type: str, session: TrainingSession, enrolment: Enrolment | None, company: Company | None,
             trainer: Trainer | None = None) -> str:
    scope = DOC_TYPES[doc_type].scope
    if scope == "session":
        return f"session:{session.id}"
    if scope == "enrolment":
        return f"enrolment:{enrolment.id}"
    if scope == "trainer":
        return f"trainer:{session.id}:{trainer.id}"
    return f"client:{session.id}:{company.id}"


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))  # 60 bits
        if db.session.scalar(select(GeneratedDocument.id).where(GeneratedDocument.verify_code == code)) is None:
            return code


# The documents that must state the assistance of a trainee at a distance (Code du travail D6313-3-1) when the
# session has virtual or asynchronous half-days (context.distance_context).
DISTANCE_DOCUMENTS = ("convention", "contract", "programme")


def _check_distance_shown(doc_type: str, context: dict, docx: bytes, template_label: str) -> None:
    """A session at a distance: the rendered document must show the organisation's assistance text. The default
    templates print it in their « Formation à distance » section; an uploaded template written before that section
    existed, or without it, would issue a convention missing a legal mention: refused before anything is stored.
    Compared without whitespace (the text spans runs and paragraphs)."""
    distance = context.get("distance") if doc_type in DISTANCE_DOCUMENTS else None
    if not distance:
        return
    wanted = re.sub(r"\s+", "", distance.get("assistance") or "")[:60]
    if not wanted or wanted.casefold() in re.sub(r"\s+", "", visible_text(docx)).casefold():
        return
    raise ValidationError(
        f"{DOC_TYPES[doc_type].label} : le modèle « {template_label} » n'imprime pas l'assistance technique et "
        "pédagogique à distance (article D6313-3-1 du Code du travail) alors que la session a des demi-journées à "
        "distance. Ajoutez au modèle la section « Formation à distance » (variables distance.*, voir le catalogue "
        "des variables) ou revenez au modèle par défaut.", fields={"template": [template_label]})


def _prefix(doc_type: str) -> str:
    return {"convention": "CONV", "contract": "CONT", "convocation": "CONVOC", "programme": "PROG",
            "attendance_sheet": "EMARG", "attestation": "ATT", "certificate": "CERT", "quote": "DEV",
            "internal_rules": "RI", "trainer_contract": "STT", "ft_entry": "AEF", "ft_attendance": "APF",
            "receipt": "ACQ"}[doc_type]


def _context(doc_type: str, session, enrolment, company, number: str, code: str | None, trainer=None) -> dict:
    context = _context_of(doc_type, session, enrolment, company, number, code, trainer)
    missing = (funders.missing_mentions(doc_type, context) if doc_type in funders.TYPES
               else builders.missing_mentions(doc_type, context))
    if missing:
        raise ValidationError(f"{DOC_TYPES[doc_type].label} : mentions obligatoires manquantes : "
                              + " ; ".join(missing) + ".", fields={"data": missing})
    return context


def _context_of(doc_type: str, session, enrolment, company, number: str, code: str | None, trainer=None) -> dict:
    if doc_type in funders.TYPES:
        return funders.context(doc_type, enrolment, number)
    if doc_type == "trainer_contract":
        return builders.trainer_contract(session, trainer, number)
    if doc_type == "convention":
        return builders.convention(session, company, number)
    if doc_type == "quote":
        return builders.quote(session, company, number)
    if doc_type == "programme":
        return builders.programme(session, number)
    if doc_type == "internal_rules":
        return builders.internal_rules(session, number)
    if doc_type == "attendance_sheet":
        return builders.attendance_sheet(session, number, code, external_url("verify.check", code=code))
    if doc_type == "contract":
        return builders.contract(enrolment, number)
    if doc_type == "convocation":
        return builders.convocation(enrolment, number)
    if doc_type == "attestation":
        return builders.attestation(enrolment, number)
    return builders.certificate(enrolment, number, code, external_url("verify.check", code=code))


def _started(session: TrainingSession) -> bool:
    return any(slot.starts_at <= timeutil.utcnow() for slot in session.slots)


def applicable(doc_type: str, session: TrainingSession, enrolment: Enrolment | None = None,
               company: Company | None = None, trainer: Trainer | None = None) -> str | None:
    """Why this document cannot be made now (French), or None."""
    if doc_type in funders.TYPES:
        return funders.problem(doc_type, session, enrolment)
    if doc_type == "trainer_contract":
        return _trainer_contract_problem(session, trainer)
    if doc_type == "invoice":
        return "Les factures et les avoirs sont produits à leur émission, depuis la page Facturation de la session."
    if doc_type in ("attestation", "certificate", "attendance_sheet") and not session.has_started:
        return "Ce document se produit une fois la session commencée."
    if doc_type in ("attestation", "certificate") and enrolment is not None and not enrolment.has_attended:
        return "Le stagiaire n'a pas suivi la formation (statut : " + enrolment.status_label.lower() + ")."
    if doc_type == "contract" and enrolment is not None and enrolment.company_id is not None:
        return "Le stagiaire est inscrit par une entreprise : c'est une convention qui s'applique."
    if doc_type == "contract" and enrolment is not None and _started(session) \
            and contract_rules.issued_contract(enrolment) is None:
        return ("Un contrat de formation se signe avant le début de la formation et avant tout paiement (article "
                "L6353-3 du Code du travail) : la session a commencé, il ne peut plus être émis.")
    if doc_type in ("convention", "quote") and company is None:
        return "Choisissez l'entreprise cliente."
    return None


def _trainer_contract_problem(session: TrainingSession, trainer: Trainer | None) -> str | None:
    """A subcontracting contract needs an external trainer whose record is complete (NDA included: required before
    any subcontracting contract) and who teaches half-days of the session."""
    if trainer is None:
        return "Choisissez le formateur."
    problems = contract_problems(trainer)
    if problems:
        return " ; ".join(problems) + "."
    if not builders.trainer_slots(session, trainer):
        return f"{trainer.full_name} n'intervient dans aucune demi-journée de cette session."
    return None


FIRST_ISSUE = "Première émission"
NEW_TEMPLATE = "Nouveau modèle de document"
ON_REQUEST = "Nouvelle émission demandée"
# What each generation makes anew (the document's number, date and verification code; a quote's number, date and
# validity from that date): not a change.
VOLATILE = ("today", "document.number", "verification", "quote.number", "quote.date", "quote.valid_until",
            "quote.validity")
# The French name of a context's field in a reason; a "field.part" entry names that part of the field.
CHANGE_LABELS = {
    "org": "organisme de formation", "course": "formation", "session": "session",
    "session.reference": "référence de la session", "session.dates": "dates de la session",
    "session.first_date": "dates de la session", "session.last_date": "dates de la session",
    "session.slots": "dates de la session", "session.place": "lieu de la session",
    "session.access_notes": "lieu de la session", "session.hours": "durée de la session",
    "session.trainers": "formateurs", "session.trainees_count": "nombre de stagiaires",
    "trainee": "stagiaire", "trainees": "stagiaires", "client": "entreprise cliente", "price": "prix",
    "funding": "financements", "quote": "lignes du devis", "contract": "conditions du contrat",
    "attendance": "présence", "attendance.hours": "heures réalisées", "attendance.first_date": "dates de présence",
    "attendance.last_date": "dates de présence", "attendance.modalities": "heures par modalité",
    "attendance.by_modality": "heures par modalité", "attendance.distance": "action réalisée à distance", "nature": "nature de l'action", "nature_boxes": "nature de l'action",
    "results": "résultats de l'évaluation", "retention": "conservation des pièces", "sheet": "émargement",
    "subcontractor": "sous-traitant", "mission": "mission du formateur", "mission.slots": "demi-journées du formateur",
    "mission.hours": "heures du formateur", "mission.rate": "tarif du formateur", "mission.total": "montant de la mission",
    "mission.total_value": "montant de la mission", "clauses": "clauses du contrat",
    "funder": "financement France Travail", "entry": "date d'entrée en formation", "presence": "présence",
    "presence.slots": "présence par demi-journée", "fund": "fonds des non-salariés", "receipt": "paiements reçus",
    "distance": "formation à distance", "distance.wording": "formation à distance", "distance.assistance": "assistance à distance",
    "distance.activities": "activités à distance", "distance.total": "activités à distance",
    "distance.evaluations": "évaluations",
}


def _stable(context: dict) -> dict:
    """The stored context without its VOLATILE values."""
    stable = dict(context)
    for name in VOLATILE:
        key, _, part = name.partition(".")
        if part and isinstance(stable.get(key), dict):
            stable[key] = {k: v for k, v in stable[key].items() if k != part}
        elif not part:
            stable.pop(key, None)
    return stable


def _changed_fields(before: dict, after: dict) -> list[str]:
    """French labels of the fields whose values differ between two stored contexts, in the context's order."""
    labels: list[str] = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            # a part the previous version did not have, empty now, is no change (e.g. attendance.distance added
            # for the distance half-days: "" on a room-only certificate)
            parts = [f"{key}.{p}" for p in list(new) + [p for p in old if p not in new]
                     if old.get(p) != new.get(p) and (p in old or new.get(p) not in ("", [], None))]
            if not parts:
                continue
        else:
            parts = [key]
        for part in parts:
            label = CHANGE_LABELS.get(part) or CHANGE_LABELS.get(key, "autres informations")
            if label not in labels:
                labels.append(label)
    return labels


def _issue_reason(previous: GeneratedDocument | None, stored: dict, template_sha256: str) -> str | None:
    """Why a new version is due, or None when the previous one has the same data and template."""
    if previous is None:
        return FIRST_ISSUE
    reasons = [NEW_TEMPLATE] if previous.template_sha256 != template_sha256 else []
    changed = _changed_fields(_stable(previous.context), _stable(stored))
    if changed:
        reasons.append("Données modifiées : " + ", ".join(changed))
    return " ; ".join(reasons) or None


def current_version(doc_type: str, subject: str) -> GeneratedDocument | None:
    return db.session.scalar(select(GeneratedDocument).where(
        GeneratedDocument.subject == subject, GeneratedDocument.doc_type == doc_type)
        .order_by(GeneratedDocument.version.desc()).limit(1))


def store_document_files(docx: bytes, base: str, pdf: bool = True) -> tuple[StoredFile, StoredFile | None]:
    """The DOCX stored, and its PDF copy when asked for and a converter is there."""
    docx_file = store_bytes(docx, base + ".docx", "document")
    pdf_file = None
    if pdf:
        if converter.available():
            try:
                pdf_file = store_bytes(converter.convert(docx), base + ".pdf", "document")
            except converter.PdfUnavailable:
                current_app.logger.warning("PDF conversion failed for %s", base, exc_info=True)
    db.session.flush()
    return docx_file, pdf_file


def _check_subject(doc_type: str, session: TrainingSession, enrolment: Enrolment | None,
                   company: Company | None, trainer: Trainer | None = None) -> None:
    scope = DOC_TYPES[doc_type].scope
    if scope == "enrolment" and (enrolment is None or enrolment.session_id != session.id):
        raise ValidationError("Choisissez l'inscription.")
    if scope == "client" and company is None:
        raise ValidationError("Choisissez l'entreprise cliente.")
    if scope == "trainer" and trainer is None:
        raise ValidationError("Choisissez le formateur.")
    problem = applicable(doc_type, session, enrolment, company, trainer)
    if problem:
        raise ConflictError(problem)


def generate(doc_type: str, session: TrainingSession, actor: User, *, enrolment: Enrolment | None = None,
             company: Company | None = None, trainer: Trainer | None = None, pdf: bool = True, reuse: bool = False,
             reason: str = "") -> GeneratedDocument:
    """Render the active template for this subject and archive it as a new version that records why
    (``reason``, the advisor's, is added to the changes found). With ``reuse``, return the current version
    instead when neither its data (VOLATILE values aside) nor the template changed."""
    _check_type(doc_type)
    session_services.ensure_can_manage_sessions(actor)
    _check_subject(doc_type, session, enrolment, company, trainer)
    subject = _subject(doc_type, session, enrolment, company, trainer)
    previous = current_version(doc_type, subject)
    version = (previous.version if previous else 0) + 1
    number = f"{_prefix(doc_type)}-{session.id:04d}-{subject.split(':')[-1]}-{version}"
    code = _new_code() if doc_type in VERIFIABLE else None
    if doc_type == "attendance_sheet":  # the sheet pins the register as it is now: its head is sealed first
        seals.seal(session.id, "document")
    context = _context(doc_type, session, enrolment, company, number, code, trainer)
    template, row, label = active_template(doc_type)
    template_sha256 = hashlib.sha256(template).hexdigest()
    stored = builders.to_json(context)
    found = _issue_reason(previous, stored, template_sha256)
    if found is None and reuse:
        return previous
    if doc_type == "contract" and previous is not None and _started(session):
        if found is None:  # an explicit duplicate: the contract issued before the start, as it was
            return previous
        raise ConflictError(f"Le contrat de formation a été émis avant le début de la formation (version "
                            f"{previous.version}, n° {previous.number}) : il ne peut plus être réémis avec d'autres "
                            f"données (article L6353-3 du Code du travail). Modification constatée : {found}.")
    why = " ; ".join(p for p in (found, (reason or "").strip()) if p) or ON_REQUEST
    base = f"{_prefix(doc_type).lower()}-{session.id}-{subject.split(':')[-1]}-v{version}"
    rendered = render(template, context).docx
    _check_distance_shown(doc_type, context, rendered, label)
    docx_file, pdf_file = store_document_files(rendered, base, pdf)
    document = GeneratedDocument(
        doc_type=doc_type, subject=subject, version=version, number=number, session_id=session.id,
        enrolment_id=enrolment.id if enrolment else None, company_id=company.id if company else None,
        trainer_id=trainer.id if trainer else None, template_id=row.id if row else None, template_label=label, template_sha256=template_sha256,
        context=stored, docx_file_id=docx_file.id, docx_sha256=docx_file.sha256,
        pdf_file_id=pdf_file.id if pdf_file else None, pdf_sha256=pdf_file.sha256 if pdf_file else None,
        verify_code=code, reason=why, author_id=actor.id)
    db.session.add(document)
    db.session.flush()
    document_issued.send(document, previous=previous)
    return document


def session_documents(session: TrainingSession) -> list[GeneratedDocument]:
    return list(db.session.scalars(select(GeneratedDocument).where(GeneratedDocument.session_id == session.id)
                                   .order_by(GeneratedDocument.doc_type, GeneratedDocument.subject,
                                             GeneratedDocument.version.desc())))


def current_versions(documents: list[GeneratedDocument]) -> set[int]:
    latest: dict[tuple[str, str], GeneratedDocument] = {}
    for document in documents:
        key = (document.subject, document.doc_type)
        if key not in latest or document.version > latest[key].version:
            latest[key] = document
    return {document.id for document in latest.values()}


def get_document(document_id, actor: User) -> GeneratedDocument:
    document = get_by_id(GeneratedDocument, document_id, "Document introuvable.")
    session_services.ensure_can_manage_sessions(actor)
    return document


def read_file(document: GeneratedDocument, kind: str) -> bytes:
    """The archived DOCX or PDF, checked against the SHA-256 recorded at generation."""
    stored: StoredFile | None = document.docx_file if kind == "docx" else document.pdf_file
    expected = document.docx_sha256 if kind == "docx" else document.pdf_sha256
    if stored is None:
        raise NotFoundError("Pas de PDF pour ce document (convertisseur indisponible lors de la génération).")
    return read_checked(stored, expected)


def pack_subjects(session: TrainingSession) -> list[tuple[str, Enrolment | None, Company | None]]:
    """(type, enrolment, company) of every document the session needs: the programme, the règlement intérieur, a
    convention per client company, a convocation per trainee and a contract per self-paying one, and once the
    session has started the attendance sheet, the attestations and the certificates (and France Travail's
    attestations of the trainees it funds)."""
    subjects: list[tuple[str, Enrolment | None, Company | None]] = [("programme", None, None),
                                                                     ("internal_rules", None, None)]
    enrolments = builders.attendance_or_live(session)
    companies = {e.company_id or e.trainee.company_id for e in enrolments} - {None}
    for company_id in sorted(companies):
        subjects.append(("convention", None, db.session.get(Company, company_id)))
    for enrolment in enrolments:
        subjects.append(("convocation", enrolment, None))
        if applicable("contract", session, enrolment) is None:
            subjects.append(("contract", enrolment, None))
    if applicable("attendance_sheet", session) is None:
        subjects.append(("attendance_sheet", None, None))
        for enrolment in enrolments:
            for doc_type in ("attestation", "certificate", *funders.FRANCE_TRAVAIL_TYPES):
                if applicable(doc_type, session, enrolment) is None:
                    subjects.append((doc_type, enrolment, None))
    return subjects


def generate_session_pack(session: TrainingSession, actor: User, pdf: bool = True,
                          reuse: bool = True) -> list[GeneratedDocument]:
    """Every document the session needs (pack_subjects), in one go: the current version of each one whose
    data and template did not change, a new version of the others (``reuse=False``: of every one)."""
    return [generate(doc_type, session, actor, enrolment=enrolment, company=company, pdf=pdf, reuse=reuse)
            for doc_type, enrolment, company in pack_subjects(session)]


def zip_documents(documents: list[GeneratedDocument], files: list[tuple[str, bytes]] = ()) -> bytes:
    """The documents' DOCX (and PDF) and ``files`` [(name, content)] as they are, in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
        for document in documents:
            name = f"{document.number}"
            archive.writestr(f"{name}.docx", read_file(document, "docx"))
            if document.pdf_file_id:
                archive.writestr(f"{name}.pdf", read_file(document, "pdf"))
    return buffer.getvalue()


def session_pack_zip(session: TrainingSession) -> bytes:
    """The "dossier de session": the current version of each document of the session."""
    documents = session_documents(session)
    current = current_versions(documents)
    return zip_documents([d for d in documents if d.id in current])


def funding_pack_subjects(enrolment: Enrolment) -> list[tuple[str, dict]]:
    """(type, subject) of each document of the OPCO funding pack: before the training the quote, the convention
    and the programme; after it, the certificate of completion and the attendance sheet as well. ConflictError
    when the trainee is not enrolled by a company."""
    company = enrolment.company or enrolment.trainee.company
    if company is None:
        raise ConflictError("Ce stagiaire n'est pas inscrit par une entreprise : pas de dossier OPCO.")
    subjects = [("quote", {"company": company}), ("convention", {"company": company}), ("programme", {})]
    if applicable("certificate", enrolment.session, enrolment) is None:
        subjects += [("certificate", {"enrolment": enrolment}), ("attendance_sheet", {})]
    return subjects


def funding_pack(enrolment: Enrolment, actor: User, advance: Callable[[str], None] | None = None) -> bytes:
    """The OPCO funding pack of one enrolment (funding_pack_subjects), each document reused when unchanged, as in
    a session's pack, or taken as registered (providers.pack_files: an accepted quote's own file); ``advance(label)``
    is told each document made (a task's progress)."""
    made, files = [], []
    for doc_type, subject in funding_pack_subjects(enrolment):
        own = providers.pack_files(doc_type, enrolment)
        if own:
            files.extend(own)
        else:
            made.append(generate(doc_type, enrolment.session, actor, reuse=True, **subject))
        if advance is not None:
            advance(DOC_TYPES[doc_type].label if own else made[-1].label)
    return zip_documents(made, files)


# --------------------------------------------------------------------------- public verification


def normalise_code(code: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (code or "").upper().replace("O", "0").replace("I", "1").replace("L", "1"))


def find_verifiable(code: str) -> GeneratedDocument | None:
    """The certificate or attendance sheet that carries ``code`` (dashes, case and O/I/L typos aside)."""
    code = normalise_code(code)
    if len(code) != 12:
        return None
    return db.session.scalar(select(GeneratedDocument).where(GeneratedDocument.verify_code == code,
                                                             GeneratedDocument.doc_type.in_(VERIFIABLE)))


def next_version(document: GeneratedDocument) -> GeneratedDocument | None:
    """The version that replaced ``document`` (its date and reason say when and why), or None if it is
    current. The archive is append-only: being replaced is read from the next version, never stored."""
    return db.session.scalar(select(GeneratedDocument).where(
        GeneratedDocument.subject == document.subject, GeneratedDocument.doc_type == document.doc_type,
        GeneratedDocument.version == document.version + 1))


def is_current(document: GeneratedDocument) -> bool:
    return next_version(document) is None


# --------------------------------------------------------------------------- sending


def recipients(document: GeneratedDocument) -> list[str]:
    """Who receives a document by e-mail: the trainee for their own documents (and France Travail's adviser for
    its attestations, when the funding line names one), the client company's signatory (or, failing that, its
    training contact) for conventions and quotes, the trainer for their contract."""
    if document.enrolment is not None and document.doc_type in funders.FRANCE_TRAVAIL_TYPES:
        adviser = document.context.get("funder", {}).get("adviser", "")
        return [document.enrolment.trainee.email] + ([adviser] if adviser else [])
    if document.enrolment is not None and document.doc_type in ("convocation", "contract", "attestation",
                                                                 "certificate", "receipt"):
        return [document.enrolment.trainee.email]
    if document.trainer is not None:
        return [document.trainer.email] if document.trainer.email else []
    if document.company is not None:
        contacts = sorted(document.company.contacts, key=lambda c: {"signatory": 0, "hr": 1}.get(c.role, 2))
        return [c.email for c in contacts if c.email][:1]
    return []


def send_document(document: GeneratedDocument, actor: User) -> list[str]:
    session_services.ensure_can_manage_sessions(actor)
    to = recipients(document)
    if not to:
        raise ConflictError("Aucun destinataire : ajoutez l'e-mail du signataire de l'entreprise (ou du stagiaire).")
    attachments = [(f"{document.number}.docx", DOCX_TYPE, read_file(document, "docx"))]
    if document.pdf_file_id:
        attachments.append((f"{document.number}.pdf", "application/pdf", read_file(document, "pdf")))
    text = render_template("mail/document.txt", document=document, session=document.session,
                           org=get_organisation())
    for recipient in to:
        queue_email(recipient, f"{document.label} – {document.session.title}", text, html_body(text),
                    topic=f"document_{document.doc_type}", enrolment=document.enrolment, attachments=attachments)
    return to


def _mail_topic(doc_type: str) -> str | None:
    """How the outbox names a document's e-mail (topic "document_<type>")."""
    found = DOC_TYPES.get(doc_type)
    return f"Document : {found.label}" if found else None


topic_prefix("document_", _mail_topic)
