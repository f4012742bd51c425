"""Storing uploaded files on disk (content-addressed) with a database row each."""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select

from ..core.errors import ConflictError, ValidationError
from ..extensions import db
from . import safety, staging
from .models import StoredFile


@dataclass(frozen=True)
class FileKind:
    name: str
    label: str
    # content type -> (extensions, magic prefixes)
    types: dict[str, tuple[tuple[str, ...], tuple[bytes, ...]]]
    max_bytes: int


_PNG = (b"\x89PNG\r\n\x1a\n",)
_JPEG = (b"\xff\xd8\xff",)
_PDF = (b"%PDF-",)
_ZIP = (b"PK\x03\x04",)  # docx and odt are zip files

KINDS = {
    "logo": FileKind(
        "logo",
        "logo",
        {"image/png": ((".png",), _PNG), "image/jpeg": ((".jpg", ".jpeg"), _JPEG)},
        2 * 1024 * 1024,
    ),
    "cv": FileKind(
        "cv",
        "CV",
        {
            "application/pdf": ((".pdf",), _PDF),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), _ZIP),
            "application/vnd.oasis.opendocument.text": ((".odt",), _ZIP),
        },
        5 * 1024 * 1024,
    ),
    "template": FileKind(
        "template",
        "modèle",
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), _ZIP)},
        10 * 1024 * 1024,
    ),
    "document": FileKind(
        "document",
        "document",
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), _ZIP),
            "application/pdf": ((".pdf",), _PDF),
        },
        50 * 1024 * 1024,
    ),
    # A trainer's file (diplomas, insurance, URSSAF…) and the evidence of their professional development.
    "trainer_document": FileKind(
        "trainer_document",
        "document",
        {
            "application/pdf": ((".pdf",), _PDF),
            "image/png": ((".png",), _PNG),
            "image/jpeg": ((".jpg", ".jpeg"), _JPEG),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), _ZIP),
            "application/vnd.oasis.opendocument.text": ((".odt",), _ZIP),
        },
        10 * 1024 * 1024,
    ),
    # A subcontracting trainer's invoice, as received: a PDF.
    "trainer_invoice": FileKind(
        "trainer_invoice",
        "facture",
        {"application/pdf": ((".pdf",), _PDF)},
        10 * 1024 * 1024,
    ),
    # Issued invoices and credit notes: the Word document, the Factur-X PDF and its EN 16931 CII XML.
    "invoice": FileKind(
        "invoice",
        "facture",
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), _ZIP),
            "application/pdf": ((".pdf",), _PDF),
            "application/xml": ((".xml",), (b"<?xml",)),
        },
        20 * 1024 * 1024,
    ),
    # A meeting tool's attendance report (attendance/reports/): a CSV, whatever its delimiter, or TSV / text.
    "attendance_report": FileKind(
        "attendance_report",
        "rapport de connexion",
        {"text/csv": ((".csv", ".tsv", ".txt"), (b"",))},
        4 * 1024 * 1024,
    ),
    # What a long task produced (messaging/tasks.py): a session's pack, an export, a report.
    "export": FileKind(
        "export",
        "fichier produit",
        {
            "application/zip": ((".zip",), _ZIP + (b"PK\x05\x06",)),  # an empty zip is its directory's end only
            "application/pdf": ((".pdf",), _PDF),
            "text/csv": ((".csv",), (b"",)),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ((".xlsx",), _ZIP),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), _ZIP),
        },
        1024 * 1024 * 1024,
    ),
}


def storage_root() -> Path:
    root = Path(current_app.config["FILES_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def final_path(digest: str) -> Path:
    return storage_root() / digest[:2] / digest


def path_for(stored: StoredFile) -> Path:
    """Where the file's content is: its final name, or while the transaction that stored it has not committed,
    its temporary one (files/staging.py) for the code of that transaction."""
    return staging.staged_path(db.session(), stored.sha256) or final_path(stored.sha256)


TAMPERED = "Le fichier archivé ne correspond plus à son empreinte SHA-256 : il a été altéré."


def read_checked(stored: StoredFile, expected_sha256: str | None = None) -> bytes:
    """The archived content of ``stored``, checked against the SHA-256 recorded when it was made (``expected_sha256``,
    by default the stored file's own): a changed file is a ConflictError (409), never served or sent."""
    data = path_for(stored).read_bytes()
    if hashlib.sha256(data).hexdigest() != (expected_sha256 or stored.sha256):
        raise ConflictError(TAMPERED)
    return data


def check_bytes(data: bytes, filename: str, kind: str, field: str = "file") -> str:
    """Check a file against its kind without storing it: extension, real content, size, then what it holds
    (files/safety.py: a zip's declared sizes, its XML parts, the pixels of an image). Its content type."""
    spec = KINDS[kind]
    ext = os.path.splitext(_clean_name(filename))[1].lower()
    if not data:
        raise ValidationError("Le fichier est vide.", field=field)
    if len(data) > spec.max_bytes:
        raise ValidationError(
            f"Le fichier dépasse la taille maximale ({spec.max_bytes // (1024 * 1024)} Mo).", field=field
        )
    content_type = None
    for ctype, (exts, magics) in spec.types.items():
        if ext in exts and any(data.startswith(m) for m in magics):
            content_type = ctype
            break
    if content_type is None:
        allowed = ", ".join(sorted({e for exts, _ in spec.types.values() for e in exts}))
        raise ValidationError(
            f"Format de fichier non accepté pour le {spec.label} (formats acceptés : {allowed}).", field=field
        )
    safety.check(data, content_type, spec.label, field)
    return content_type


def _clean_name(filename: str) -> str:
    return os.path.basename(filename or "").strip() or "fichier"


def store_bytes(data: bytes, filename: str, kind: str, field: str = "file") -> StoredFile:
    """Check the file against its kind (check_bytes) and store it: under a temporary name until the transaction
    commits, when it takes its final one; a rollback removes it (files/staging.py)."""
    content_type = check_bytes(data, filename, kind, field)
    name = _clean_name(filename)
    digest = hashlib.sha256(data).hexdigest()
    stored = StoredFile(original_name=name[:255], content_type=content_type, size=len(data), sha256=digest, kind=kind)
    db.session.add(stored)  # begins the transaction the file is staged in
    staging.stage(db.session(), data, digest, final_path(digest))
    return stored


def store_upload(upload, kind: str, field: str = "file") -> StoredFile:
    """Store a werkzeug FileStorage."""
    return store_bytes(upload.read(), upload.filename or "", kind, field=field)


# A content changed this recently is never removed by ``remove_contents``: a transaction storing the same bytes may
# be about to name it (files/staging.py makes it young); the hourly sweep removes it later if no row names it.
RECENT_CONTENT_SECONDS = 600


def referenced_ids(file_ids) -> set[int]:
    """The ids among ``file_ids`` that some column still names (every foreign key to ``stored_file``)."""
    ids = set(file_ids)
    found: set[int] = set()
    if not ids:
        return found
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name == StoredFile.__tablename__:
                found.update(db.session.scalars(select(key.parent).where(key.parent.in_(ids)).distinct()))
    return found


def delete_files(file_ids) -> tuple[list[str], set[int]]:
    """Delete the rows of the stored files no column names any more (flushed; the caller commits, then calls
    ``remove_contents`` with the digests). Returns (digests of the rows deleted, ids kept because still named)."""
    ids = set(file_ids)
    kept = referenced_ids(ids)
    gone = ids - kept
    if not gone:
        return [], kept
    digests = list(db.session.scalars(select(StoredFile.sha256).where(StoredFile.id.in_(gone))))
    db.session.execute(delete(StoredFile).where(StoredFile.id.in_(gone)).execution_options(synchronize_session="fetch"))
    db.session.flush()
    return digests, kept


def remove_contents(digests) -> int:
    """After the commit that deleted their rows: remove from disk each content no row names (content is shared by
    every row of the same bytes) and not changed in the last minutes. The bytes freed."""
    wanted = set(digests)
    if not wanted:
        return 0
    named = set(db.session.scalars(select(StoredFile.sha256).where(StoredFile.sha256.in_(wanted))))
    db.session.rollback()  # a read only: end it
    freed = 0
    cutoff = time.time() - RECENT_CONTENT_SECONDS
    for digest in sorted(wanted - named):
        path = final_path(digest)
        try:
            info = path.stat()
            if info.st_mtime >= cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        freed += info.st_size
    return freed
