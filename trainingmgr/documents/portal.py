"""The documents a trainee downloads from their personal page: the current version of their own ones."""
from __future__ import annotations

from sqlalchemy import select

from ..core.errors import NotFoundError
from ..enrolments.models import Enrolment
from ..extensions import db
from .models import GeneratedDocument

TRAINEE_TYPES = ("convocation", "contract", "attestation", "certificate")


def trainee_documents(enrolment: Enrolment) -> list[GeneratedDocument]:
    from .services import current_versions

    documents = list(db.session.scalars(select(GeneratedDocument).where(
        GeneratedDocument.enrolment_id == enrolment.id, GeneratedDocument.doc_type.in_(TRAINEE_TYPES))))
    current = current_versions(documents)
    return sorted((d for d in documents if d.id in current), key=lambda d: TRAINEE_TYPES.index(d.doc_type))


def trainee_document(enrolment: Enrolment, document_id: int, kind: str) -> tuple[bytes, str, str]:
    """(content, file name, type) of one of the trainee's current documents; 404 for anybody else's."""
    from .services import DOCX_TYPE, read_file

    document = next((d for d in trainee_documents(enrolment) if d.id == document_id), None)
    if document is None or kind not in ("docx", "pdf") or (kind == "pdf" and not document.pdf_file_id):
        raise NotFoundError("Document introuvable.")
    return read_file(document, kind), f"{document.number}.{kind}", DOCX_TYPE if kind == "docx" else "application/pdf"
