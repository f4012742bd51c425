"""The files of an audit pack before they are zipped: each under a unique path of the archive, with the section of
the index it belongs to; the zip itself (fixed member dates, so that the same data gives the same bytes) and its
manifest, whose SHA-256 are computed from the very bytes written into the archive."""
from __future__ import annotations

import hashlib
import io
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from ...core.spreadsheet import csv_bytes

# Every member's date in the zip: the same pack data gives the same archive bytes (the page and the CLI agree).
MEMBER_DATE = (1980, 1, 1, 0, 0, 0)
MANIFEST = "manifest.csv"
MANIFEST_HEADERS = ("Fichier", "SHA-256", "Octets", "Rubrique")


def slug(text: str, limit: int = 60) -> str:
    """« Marchés publics : DUME » → « marches-publics-dume »: a file name part readable on every system."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:limit].strip("-") or "fichier"


@dataclass
class PackFile:
    path: str
    data: bytes
    section: str  # « Session n° 12 – Convocations », « Indicateur 23 »

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class PackArchive:
    """The files gathered so far, by path (a name taken twice gets « -2 », « -3 »…)."""

    files: dict[str, PackFile] = field(default_factory=dict)

    def add(self, path: str, data: bytes, section: str) -> str:
        """Add ``data`` at ``path`` (made unique); the path it got."""
        base, ext = posixpath.splitext(path)
        candidate, n = path, 1
        while candidate in self.files:
            n += 1
            candidate = f"{base}-{n}{ext}"
        self.files[candidate] = PackFile(candidate, bytes(data), section)
        return candidate

    def zip(self) -> tuple[bytes, list[tuple[str, str, int, str]]]:
        """The zip (the files in path order, then manifest.csv) and the manifest's rows (path, SHA-256, size,
        section), each hash taken from the bytes written into the archive."""
        buffer = io.BytesIO()
        rows = []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(self.files):
                item = self.files[path]
                archive.writestr(zipfile.ZipInfo(path, MEMBER_DATE), item.data, zipfile.ZIP_DEFLATED)
                rows.append((path, item.sha256, len(item.data), item.section))
            manifest = csv_bytes(MANIFEST_HEADERS, rows)
            archive.writestr(zipfile.ZipInfo(MANIFEST, MEMBER_DATE), manifest, zipfile.ZIP_DEFLATED)
        return buffer.getvalue(), rows


def stable_zip(data: bytes) -> bytes:
    """An OOXML file (a zip: python-docx stamps its members with the time of saving) rewritten with fixed member
    dates, so that the same content gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, MEMBER_DATE), source.read(info.filename),
                            zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
