"""Where a PDF stands in our archive, found by its SHA-256, and what the public check (/verification) and
``flask signing verify`` say of a file someone holds: its signatures (pades.verify) and whether it is one we keep.

A file is "ours" when its SHA-256 is that of a signature revision (the prepared file, then one revision per
signature: signing/models.py) or of an archived document's PDF never sent for signature. pyHanko is imported only
when a file is checked (pades.py takes half a second to import).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import select

from ..core.timestamps import TimestampError, configured_roots
from ..documents.models import GeneratedDocument
from ..extensions import db
from ..files.models import StoredFile
from ..files.services import path_for
from .models import SignatureRevision

if TYPE_CHECKING:
    from .pades import Report

log = logging.getLogger(__name__)

NOT_ARCHIVED = "Ce fichier ne correspond à aucun document de nos archives."
ALTERED = ("Attention : la copie conservée dans nos archives ne correspond plus à cette empreinte SHA-256 ; "
           "signalez-le à l'organisme.")
# For the public page: the operator's message (a path on the server) goes to the log only.
UNCHECKED = ("Les signatures ne peuvent pas être vérifiées pour le moment : le certificat de l'organisme n'est pas "
             "disponible sur ce site.")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Signed:
    name: str
    role: str
    signed_at: dt.datetime | None


@dataclass(frozen=True)
class Archived:
    """An archived file: a revision of a signature request, or (``revision`` None) a document's PDF as issued."""

    document_label: str  # « Convention de formation professionnelle »
    document_number: str
    session_label: str  # « Chorus Pro » du 25/11/2026 (n° 12)
    intact: bool  # our stored copy still has this SHA-256
    revision: int | None = None  # 0 is the prepared file, then one revision per signature
    revisions: int = 0  # how many revisions the request has
    is_last: bool = True
    added_since: int = 0  # signatures added after this revision
    request_status: str = ""  # the request's status label
    signed: tuple[Signed, ...] = ()  # who had signed up to this revision, in order
    slot_labels: tuple[tuple[str, str], ...] = ()  # (signature field name, the label of the signatory's box)


@dataclass(frozen=True)
class UploadVerdict:
    report: Report
    archived: Archived | None

    @property
    def sha256(self) -> str:
        return self.report.sha256

    @property
    def in_archive(self) -> bool:
        return self.archived is not None and self.archived.intact

    @property
    def ok(self) -> bool:
        return self.report.ok and self.in_archive

    @property
    def archive_lines(self) -> list[str]:
        return describe(self.archived)

    @property
    def unsigned(self) -> list[str]:
        """The signature fields still empty, named by their signatory's box when the file is ours."""
        labels = dict(self.archived.slot_labels) if self.archived is not None else {}
        return [f"{name} ({labels[name]})" if name in labels else name for name in self.report.unsigned_fields]


def find_archived(sha256: str) -> Archived | None:
    """Where the file of this SHA-256 is in our archive; None when it is not there."""
    sha256 = (sha256 or "").strip().lower()
    if not SHA256.fullmatch(sha256):
        return None
    revision = db.session.scalar(select(SignatureRevision).where(SignatureRevision.sha256 == sha256)
                                 .order_by(SignatureRevision.request_id.desc()).limit(1))
    if revision is not None:
        return _from_revision(revision)
    document = db.session.scalar(select(GeneratedDocument).where(GeneratedDocument.pdf_sha256 == sha256)
                                 .order_by(GeneratedDocument.id.desc()).limit(1))
    return _from_document(document) if document is not None else None


def _from_revision(revision: SignatureRevision) -> Archived:
    signature_request = revision.request
    last = max(r.number for r in signature_request.revisions)
    signed = tuple(Signed(r.signatory.name, r.signatory.role_label, r.signatory.signed_at)
                   for r in signature_request.revisions if r.number <= revision.number and r.signatory is not None)
    return Archived(
        document_label=signature_request.document.label, document_number=signature_request.document.number,
        session_label=signature_request.document.session.label, intact=archived_intact(revision),
        revision=revision.number,
        revisions=len(signature_request.revisions), is_last=revision.number == last, added_since=last - revision.number,
        request_status=signature_request.status_label, signed=signed,
        slot_labels=tuple((s.field_name, s.slot_label) for s in signature_request.signatories))


def _from_document(document: GeneratedDocument) -> Archived:
    return Archived(document_label=document.label, document_number=document.number,
                    session_label=document.session.label, intact=_holds(document.pdf_file, document.pdf_sha256))


def archived_intact(revision: SignatureRevision) -> bool:
    """Whether the stored file of ``revision`` still has the SHA-256 recorded when it was signed."""
    return _holds(revision.file, revision.sha256)


def _holds(stored: StoredFile | None, sha256: str | None) -> bool:
    if stored is None or not sha256:
        return False
    try:
        with open(path_for(stored), "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
    except OSError:
        return False


def describe(archived: Archived | None) -> list[str]:
    """The French sentences saying whether a file is in our archive, and which revision of what."""
    if archived is None:
        return [NOT_ARCHIVED]
    what = f"du document « {archived.document_label} » n° {archived.document_number}, session {archived.session_label}"
    if archived.revision is None:
        lines = [f"Ce fichier est le PDF {what}, conservé dans nos archives tel qu'il a été émis."]
    else:
        lines = [f"Ce fichier est la révision {archived.revision} {what}, conservée dans nos archives.",
                 _position(archived)]
    if not archived.intact:
        lines.append(ALTERED)
    return lines


def _position(archived: Archived) -> str:
    if archived.is_last:
        return f"C'est la dernière révision (demande de signature : {archived.request_status.lower()})."
    if archived.added_since == 1:
        return "C'est une révision antérieure : 1 signature a été ajoutée depuis."
    return f"C'est une révision antérieure : {archived.added_since} signatures ont été ajoutées depuis."


def verification_roots() -> tuple[list[bytes], list[bytes] | None]:
    """The organisation's certificates and the timestamp authorities' roots, from the configuration;
    SigningError or TimestampError (French, for the operator) when they cannot be read."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    config = current_app.config
    roots = pades.trust_certificates(directory=config["SIGNING_DIR"], p12_file=config["SIGNING_P12_FILE"],
                                     p12_passphrase=config["SIGNING_P12_PASSPHRASE"])
    return roots, configured_roots()


def check_pdf(pdf: bytes) -> UploadVerdict:
    """What the public page says of an uploaded PDF: its signatures, and its place in our archive. Never raises
    on a bad file; a certificate that cannot be read is logged and reported as UNCHECKED."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    try:
        roots, tsa_roots = verification_roots()
    except (pades.SigningError, TimestampError) as exc:
        log.error("Vérification d'un PDF impossible : %s", exc.message)
        report = pades.Report(False, [], [UNCHECKED], hashlib.sha256(pdf).hexdigest())
    else:
        report = pades.verify(pdf, trust_roots=roots, tsa_roots=tsa_roots)
    return UploadVerdict(report, find_archived(report.sha256))
