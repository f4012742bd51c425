"""The index of an audit pack, as a Word document made with python-docx and converted to PDF by the documents'
converter (LibreOffice, documents/conversion/pdf.py), as every other PDF of the application.

*decision*: with no converter on the server (PDF_CONVERTER=none, LibreOffice missing, or a failed conversion) the
index is put in the archive as « index.docx », the same document in Word format, and the index itself says so on
its first page: the pack is still complete and its manifest still lists every file."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from docx import Document
from docx.shared import Pt

from ...core.formatting import count_fr, date_fr
from ...documents.conversion import pdf as converter
from .archive import stable_zip
from .chain import SessionChain
from .indicators import IndicatorSection
from .selection import Period

NO_PDF = ("Index au format Word : la conversion en PDF n'était pas disponible sur le serveur lors de la constitution "
          "du dossier ({reason}).")
ABSENT = "absent"


@dataclass
class PackIndex:
    organisation: str
    period: Period
    built_on: dt.date
    chosen_by: str  # « tirées au sort par l'application » / « choisies par le conseiller »
    held: int  # sessions held in the period
    indicators: list[IndicatorSection]
    sessions: list[SessionChain]

    @property
    def mismatches(self) -> int:
        return sum(len(s.mismatches) for s in self.sessions)


def _styled(document, style: str, text: str = ""):
    """A paragraph of ``style`` (a style id: « ListBullet », « Heading2 »). python-docx finds a style given by name
    by scanning every style of the document at each paragraph (4 ms each, seconds for a year's index): the id is
    set on the paragraph's XML instead."""
    paragraph = document.add_paragraph(text)
    paragraph._p.style = style  # python-docx's own property of the <w:p> element
    return paragraph


def _heading(document, text: str, level: int) -> None:
    _styled(document, f"Heading{level}", text)


def _bullet(document, text: str, bold: str = "") -> None:
    paragraph = _styled(document, "ListBullet")
    if bold:
        paragraph.add_run(bold).bold = True
    paragraph.add_run(text)


def _files(document, files: list[str], heading: str = "Fichiers", folder: str = "") -> None:
    """« Fichiers : » and a line per file (its path in the archive, or its name in ``folder``), or « Fichiers :
    « absent » » on one line."""
    if not files:
        document.add_paragraph().add_run(f"{heading} : « {ABSENT} »").bold = True
        return
    document.add_paragraph(f"{heading} (dossier {folder}) :" if folder else f"{heading} :")
    for path in files:
        _bullet(document, path.removeprefix(folder))


def _indicators(document, index: PackIndex) -> None:
    _heading(document, "1. Indicateurs Qualiopi", level=1)
    document.add_paragraph("Pour chaque indicateur applicable : les faits relevés par le tableau de bord Qualiopi sur "
                           "la période et les fichiers du dossier qui les montrent.")
    for section in (s for s in index.indicators if s.applicable):
        _heading(document, f"Indicateur {section.number} – {section.title}", level=2)
        document.add_paragraph(f"État : {section.status}")
        for fact in section.facts:
            _bullet(document, fact)
        for note in section.notes:
            _bullet(document, note)
        _files(document, section.files, "Fichiers de l'indicateur")
        if section.session_files:
            _files(document, section.session_files, "Dans les sessions de l'échantillon")
    _heading(document, "Indicateurs non applicables", level=2)
    for section in (s for s in index.indicators if not s.applicable):
        _bullet(document, f" {section.reason}", f"Indicateur {section.number} – {section.title} :")


def _sessions(document, index: PackIndex) -> None:
    _heading(document, "2. Sessions de l'échantillon", level=1)
    if not index.sessions:
        document.add_paragraph("Aucune session réalisée dans la période : aucune session à suivre.")
    for chain in index.sessions:
        _heading(document, f"Session {chain.position} : {chain.label}", level=2)
        document.add_paragraph(f"Dossier : {chain.folder}/")
        for step in chain.steps:
            _heading(document, f"{step.number}. {step.title}", level=3)
            for line in step.lines:
                _bullet(document, line)
            _files(document, step.files, folder=f"{chain.folder}/{step.folder}/")
        _heading(document, "Contrôle de cohérence", level=3)
        if not chain.mismatches:
            document.add_paragraph("Aucune incohérence entre les documents de la session et ses données (intitulé, "
                                   "dates, heures, lieu, stagiaires, heures signées).")
        for mismatch in chain.mismatches:
            _bullet(document, mismatch.message, f"{mismatch.field} : ")


def index_docx(index: PackIndex, pdf_note: str = "") -> bytes:
    """The index as a Word document (fixed dates inside: the same pack gives the same bytes)."""
    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    stamp = dt.datetime.combine(index.built_on, dt.time(0))
    document.core_properties.created = stamp
    document.core_properties.modified = stamp
    document.core_properties.last_modified_by = index.organisation[:60]
    document.core_properties.author = index.organisation[:60]
    document.core_properties.title = f"Dossier d'audit {index.period.label}"
    document.core_properties.revision = 1
    _styled(document, "Title", "Dossier d'audit Qualiopi")
    document.add_paragraph(f"{index.organisation} – période {index.period.label}, dossier constitué le "
                           f"{date_fr(index.built_on)}.")
    document.add_paragraph(
        f"{count_fr(len(index.sessions), 'session suivie', 'sessions suivies')} sur "
        f"{count_fr(index.held, 'session réalisée', 'sessions réalisées')} dans la période ({index.chosen_by}) ; "
        f"{count_fr(index.mismatches, 'incohérence relevée', 'incohérences relevées')}. Chaque fichier du dossier "
        "est listé avec son empreinte SHA-256 dans « manifest.csv ».")
    if pdf_note:
        document.add_paragraph(pdf_note)
    _indicators(document, index)
    _sessions(document, index)
    buffer = io.BytesIO()
    document.save(buffer)
    return stable_zip(buffer.getvalue())


def index_file(index: PackIndex) -> tuple[str, bytes, str]:
    """(name in the archive, bytes, what happened): « index.pdf » when the converter is there, else « index.docx »
    (the fallback above)."""
    reason = converter.unavailable_reason()
    if reason is None:
        try:
            return "index.pdf", converter.convert(index_docx(index)), ""
        except converter.PdfUnavailable as exc:
            reason = str(exc)
    note = NO_PDF.format(reason=reason.rstrip(". "))
    return "index.docx", index_docx(index, note), note
