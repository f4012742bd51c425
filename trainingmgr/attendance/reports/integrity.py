"""The imported attendance reports of a session, checked with its chain (chain.verify_chain, ``flask attendance
verify``): each stored file must still hash to the SHA-256 recorded at its import, and every report must have its
« report » record in the chain (made at its import, whoever the report matched), and every connection record (whose
payload holds that SHA-256) must name a report of the session. Editing or replacing a stored report
afterwards thus makes the register read as altered, the report named.

At the end of the register's retention the purge erases each report's file (privacy/services.erase_reports): the row
keeps its SHA-256 and ``erased_at``, the check then says « effacé » and no longer reads a file. An erased report
holds only if its « report » record was erased too (the purge erases both at once): a file deleted by hand, or a row
marked erased before its register was, still reads as altered."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...core.formatting import date_fr
from ...extensions import db
from ...files.services import path_for
from ..models import AttendanceRecord, AttendanceReport


@dataclass
class ReportCheck:
    report: AttendanceReport
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def erased(self) -> bool:
        return is_erased(self.report)

    @property
    def label(self) -> str:
        if not self.ok:
            return "altéré"
        return f"effacé le {date_fr(self.report.erased_at)} (fin de conservation)" if self.erased else "intègre"


def is_erased(report: AttendanceReport) -> bool:
    """The report's file was erased at the end of retention (its digest kept)."""
    return report.file_id is None and report.erased_at is not None


def file_name(report: AttendanceReport) -> str:
    """The imported file's name, or what became of it."""
    if report.file is not None:
        return report.file.original_name
    return "fichier effacé en fin de conservation" if report.erased_at is not None else "fichier introuvable"


def report_label(report: AttendanceReport) -> str:
    """« le rapport de connexion n° 3 (teams.csv, 03/03/2031 matin) »"""
    slot = report.slot
    return (f"le rapport de connexion n° {report.id} ({file_name(report)}, {date_fr(slot.date)} "
            f"{slot.half_day_label.lower()})")


def session_reports(session_id: int) -> list[AttendanceReport]:
    return list(db.session.scalars(
        select(AttendanceReport).where(AttendanceReport.session_id == session_id)
        .options(selectinload(AttendanceReport.file), selectinload(AttendanceReport.slot))
        .order_by(AttendanceReport.id).execution_options(populate_existing=True)))


def _file_problem(report: AttendanceReport, records: list[AttendanceRecord]) -> str:
    if report.file_id is None:
        if report.erased_at is None:
            return f"le fichier archivé de {report_label(report)} est introuvable"
        anchor = next((r for r in records if r.kind == "report" and r.file_sha256 == report.sha256), None)
        if anchor is not None and anchor.erased_at is None:
            return (f"{report_label(report)} est dit effacé le {date_fr(report.erased_at)} alors que le registre "
                    "d'émargement ne l'est pas : son fichier a été supprimé hors de la purge RGPD")
        return ""  # erased with its register; a missing anchor is reported below
    try:
        data = path_for(report.file).read_bytes()
    except OSError:
        return f"le fichier archivé de {report_label(report)} est introuvable"
    if hashlib.sha256(data).hexdigest() != report.sha256:
        return (f"{report_label(report)} ne correspond plus à son empreinte SHA-256 : le fichier archivé a été "
                "modifié après l'import")
    return ""


def check_reports(session_id: int, records: list[AttendanceRecord]) -> tuple[list[ReportCheck], tuple | None]:
    """Each report of the session checked against its stored file and its record in the chain, and the first
    problem as (record or None, problem) — a connection record naming no report of the session is one — or None
    when all hold."""
    checks = [ReportCheck(report, _file_problem(report, records)) for report in session_reports(session_id)]
    broken = next((check for check in checks if not check.ok), None)
    if broken is not None:
        return checks, (None, broken.problem)
    known = {check.report.sha256 for check in checks}
    anchored = {record.file_sha256 for record in records if record.kind == "report"}
    for check in checks:
        if check.report.sha256 not in anchored:
            check.problem = (f"{report_label(check.report)} n'a pas d'enregistrement dans le registre "
                             "d'émargement : son empreinte a été modifiée, ou le rapport ajouté hors de l'import")
            return checks, (None, check.problem)
    for record in records:
        if record.kind == "connection" and record.file_sha256 not in known:
            problem = (f"la connexion cite un rapport (empreinte {(record.file_sha256 or '')[:12]}…) qui n'est pas "
                       "un rapport importé pour cette session")
            return checks, (record, problem)
    return checks, None
