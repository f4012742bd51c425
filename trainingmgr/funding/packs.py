"""The refund pack of a fund of the self-employed (FIF PL, AGEFICE, FAFCEA…), for a trainee who paid the training
and claims the refund: one zip « Dossier de remboursement <fonds> – <stagiaire>.zip » holding the receipted invoice
(each issued invoice to the trainee or the fund, and the facture acquittée stating its payments), the certificat de
réalisation and the programme, and index.txt naming each file with its SHA-256.

Each file is the PDF when there is one, else the Word document. The documents are generated when missing or when
their data changed, as in a session's pack (services.generate with ``reuse``). The pack is refused (409) while an
invoice is not fully paid, and before the certificate can be made (the training done).
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from slugify import slugify

from ..accounts.models import User
from ..billing.invoices.files import read_file
from ..billing.models import Invoice
from ..core.errors import ConflictError
from ..core.formatting import date_fr, datetime_fr, money_fr
from ..core.timeutil import utcnow
from ..documents import services
from ..documents.conversion import pdf
from ..documents.funders import fund_line, fund_name
from ..documents.models import GeneratedDocument
from ..enrolments.models import Enrolment
from ..sessions import services as session_services
from . import receipt

INDEX = "index.txt"


@dataclass(frozen=True)
class Piece:
    name: str  # the file's name in the zip
    description: str  # what it is, in French
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Pack:
    filename: str
    data: bytes


DOCUMENTS = ("receipt", "certificate", "programme")


def ensure_fund_pack_ready(enrolment: Enrolment, actor: User) -> int:
    """The number of pieces of the fund's refund pack; ConflictError, in French, when the enrolment has no fund
    line, an invoice is missing or not fully paid, or the training is not done yet."""
    session = enrolment.session
    session_services.ensure_can_manage_sessions(actor)
    why = receipt.receipt_problem(enrolment)
    if why:
        raise ConflictError(why)
    why = services.applicable("certificate", session, enrolment)
    if why:
        raise ConflictError(f"Le certificat de réalisation ne peut pas encore être produit : {why}")
    return len(receipt.fund_invoices(enrolment)) + len(DOCUMENTS)


def fund_pack(enrolment: Enrolment, actor: User, advance: Callable[[str], None] | None = None) -> Pack:
    """The fund's refund pack of ``enrolment`` (see the module's docstring; refused as ensure_fund_pack_ready
    says); ``advance(description)`` is told each piece added (a task's progress)."""
    ensure_fund_pack_ready(enrolment, actor)
    pieces = []
    for invoice, _ in receipt.fund_invoices(enrolment):
        pieces.append(_invoice_piece(invoice))
        if advance is not None:
            advance(pieces[-1].description)
    for doc_type in DOCUMENTS:
        subject = enrolment if doc_type != "programme" else None
        pieces.append(_document_piece(_current(doc_type, enrolment, actor, subject)))
        if advance is not None:
            advance(pieces[-1].description)
    pieces = [Piece(f"{n}-{piece.name}", piece.description, piece.data) for n, piece in enumerate(pieces, 1)]
    line = fund_line(enrolment)
    fund = fund_name(line)
    title = f"Dossier de remboursement {fund} – {enrolment.trainee.full_name}"
    return Pack(f"{title}.zip", _zip(pieces, _index(title, enrolment, line, pieces)))


def _current(doc_type: str, enrolment: Enrolment, actor: User, subject: Enrolment | None) -> GeneratedDocument:
    """The current version when its data and template did not change (with its PDF copy when a converter is
    there), else a new one."""
    document = services.generate(doc_type, enrolment.session, actor, enrolment=subject, reuse=True)
    if document.pdf_file_id is None and pdf.available():
        document = services.generate(doc_type, enrolment.session, actor, enrolment=subject)
    return document


def _invoice_piece(invoice: Invoice) -> Piece:
    kind = "pdf" if invoice.pdf_file_id else "docx"
    data, _ = read_file(invoice, kind)
    return Piece(f"facture-{invoice.number}.{kind}", f"facture n° {invoice.number} du {date_fr(invoice.issue_date)}, "
                 f"{money_fr(invoice.total_incl_vat)} TTC, à {invoice.buyer_name}", data)


def _document_piece(document: GeneratedDocument) -> Piece:
    kind = "pdf" if document.pdf_file_id else "docx"
    label = document.label[:1].lower() + document.label[1:]
    return Piece(f"{slugify(document.label)}-{document.number}.{kind}",
                 f"{label} n° {document.number} (version {document.version})", services.read_file(document, kind))


def _index(title: str, enrolment: Enrolment, line, pieces: list[Piece]) -> str:
    session = enrolment.session
    file_number = f", dossier n° {line.opco_file_number}" if line.opco_file_number else ""
    member = f", adhérent n° {line.opco_member_number}" if line.opco_member_number else ""
    lines = [
        title,
        f"Formation : {session.title}, {session.dates_label}",
        f"Fonds : {fund_name(line)}{file_number}{member}",
        f"Dossier constitué le {datetime_fr(utcnow())}",
        "",
        "Pièces :",
        *[f"- {piece.name} : {piece.description}" for piece in pieces],
        "",
        "Empreintes SHA-256 (vérifiables avec « sha256sum -c index.txt ») :",
        *[f"{piece.sha256}  {piece.name}" for piece in pieces],
    ]
    return "\n".join(lines) + "\n"


def _zip(pieces: list[Piece], index: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for piece in pieces:
            archive.writestr(piece.name, piece.data)
        archive.writestr(INDEX, index.encode("utf-8"))
    return buffer.getvalue()
