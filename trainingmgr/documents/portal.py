"""The documents a trainee receives and downloads from their personal page: their own ones (convocation,
contract, attestation, certificate, a funder's attestations and receipt) and their session's programme and
règlement intérieur, current version."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from ..accounts.models import User
from ..core.errors import NotFoundError
from ..enrolments.models import Enrolment
from ..extensions import db
from . import services
from .conversion import pdf
from .models import GeneratedDocument

# (France Travail's attestations and the facture acquittée: the trainee hands them to their funder)
ENROLMENT_TYPES = ("convocation", "contract", "attestation", "certificate", "ft_entry", "ft_attendance",
                   "receipt")
SESSION_TYPES = ("programme", "internal_rules")
TRAINEE_TYPES = ("convocation", "programme", "internal_rules", "contract", "attestation", "certificate",
                 "ft_entry", "ft_attendance", "receipt")
# What the convocation e-mail carries, in this order (besides the session's calendar file).
CONVOCATION_PACK = ("convocation", "programme", "internal_rules")
PDF_TYPE = "application/pdf"


def trainee_documents(enrolment: Enrolment) -> list[GeneratedDocument]:
    documents = list(db.session.scalars(select(GeneratedDocument).where(or_(
        and_(GeneratedDocument.enrolment_id == enrolment.id, GeneratedDocument.doc_type.in_(ENROLMENT_TYPES)),
        and_(GeneratedDocument.session_id == enrolment.session_id, GeneratedDocument.enrolment_id.is_(None),
             GeneratedDocument.company_id.is_(None), GeneratedDocument.doc_type.in_(SESSION_TYPES))))))
    current = services.current_versions(documents)
    return sorted((d for d in documents if d.id in current), key=lambda d: TRAINEE_TYPES.index(d.doc_type))


def trainee_document(enrolment: Enrolment, document_id: int, kind: str) -> tuple[bytes, str, str]:
    """(content, file name, type) of one of the trainee's current documents; 404 for anybody else's."""
    document = next((d for d in trainee_documents(enrolment) if d.id == document_id), None)
    if document is None or kind not in ("docx", "pdf") or (kind == "pdf" and not document.pdf_file_id):
        raise NotFoundError("Document introuvable.")
    content_type = services.DOCX_TYPE if kind == "docx" else PDF_TYPE
    return services.read_file(document, kind), f"{document.number}.{kind}", content_type


def convocation_pack(enrolment: Enrolment, actor: User) -> list[GeneratedDocument]:
    """The documents the convocation e-mail carries: the trainee's convocation, the session's programme and its
    règlement intérieur (which each trainee must have before the session). Each is the current
    version when neither its data nor its template changed (and it has its PDF copy when a converter is there),
    else a new version, made on ``actor``'s behalf."""
    return [current_document(doc_type, enrolment.session, actor,
                             enrolment=enrolment if doc_type in ENROLMENT_TYPES else None)
            for doc_type in CONVOCATION_PACK]


def current_document(doc_type: str, session, actor: User, *, enrolment: Enrolment | None = None) -> GeneratedDocument:
    """The current version of a document about to be sent (``enrolment``: for a trainee's own one), made anew on
    ``actor``'s behalf when its data or template changed, or when it has no PDF copy and a converter is there."""
    document = services.generate(doc_type, session, actor, enrolment=enrolment, reuse=True)
    if document.pdf_file_id is None and pdf.available():  # made without a converter: a version with its PDF
        document = services.generate(doc_type, session, actor, enrolment=enrolment)
    return document


def as_attachment(document: GeneratedDocument) -> tuple[str, str, bytes]:
    """(file name, type, content) of a document sent by e-mail: its PDF copy when there is one, else the DOCX."""
    if document.pdf_file_id:
        return f"{document.number}.pdf", PDF_TYPE, services.read_file(document, "pdf")
    return f"{document.number}.docx", services.DOCX_TYPE, services.read_file(document, "docx")
