"""The stored files of an issued invoice (Word, Factur-X PDF and XML)."""
from __future__ import annotations

from ...core.errors import NotFoundError
from ...files.models import StoredFile
from ...files.services import read_checked
from ..models import Invoice

FILE_KINDS = {"docx": ("docx_file", "Word"), "pdf": ("pdf_file", "PDF Factur-X"), "xml": ("xml_file", "XML Factur-X")}


def stored_file(invoice: Invoice, kind: str) -> StoredFile | None:
    if kind not in FILE_KINDS:
        raise NotFoundError("Format inconnu : docx, pdf ou xml.")
    return getattr(invoice, FILE_KINDS[kind][0])


def read_file(invoice: Invoice, kind: str) -> tuple[bytes, StoredFile]:
    """A file produced at issue, checked against its SHA-256."""
    stored = stored_file(invoice, kind)
    if stored is None:
        if invoice.is_draft:
            raise NotFoundError("Un brouillon n'a pas encore de fichier : il est produit à l'émission.")
        raise NotFoundError(f"Pas de fichier {FILE_KINDS[kind][1]} pour {invoice.number} (non produit à l'émission, "
                            "par exemple faute de convertisseur PDF).")
    return read_checked(stored), stored


def filename(invoice: Invoice, kind: str) -> str:
    return f"{invoice.number or f'brouillon-{invoice.id}'}.{kind}"
