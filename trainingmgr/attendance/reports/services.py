"""Importing a meeting tool's attendance report for a virtual half-day (the rules: docs/distance.md).

``import_report`` reads the file (formats.py), stores it (files/services.py, content-addressed) with its SHA-256,
matches its people to the session's expected trainees by e-mail and appends one "connection" record per trainee
found to the session's chain: minutes connected within the slot, first connection and last disconnection, and the
file's SHA-256, so that ``flask attendance verify`` fails if the stored file is edited afterwards (integrity.py).
A second report for the same half-day (a second meeting) adds its own records; the same file twice is refused.
Callers commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from ...accounts.models import User
from ...core.errors import ConflictError
from ...core.formatting import count_fr, date_fr, datetime_fr
from ...core.persistence import get_by_id, lock_row
from ...core.timeutil import PARIS, utcnow
from ...enrolments.models import Enrolment
from ...extensions import db
from ...files import services as file_services
from ...sessions.models import HELD, Slot, SlotModality, TrainingSession
from .. import services as attendance
from ..models import PRESENT_CELLS, AttendanceRecord, AttendanceReport
from . import formats

FILE_KIND = "attendance_report"


def importable_problem(slot: Slot, now: dt.datetime | None = None) -> str:
    """Why no report can be imported for ``slot`` now ("" when one can): a virtual half-day of a held session,
    once it has started."""
    if slot.modality != SlotModality.VIRTUAL.value:
        return (f"Le créneau du {attendance.slot_label(slot)} n'est pas une classe virtuelle : un rapport de "
                "connexion ne s'importe que pour une demi-journée à distance en classe virtuelle.")
    if slot.session.status not in HELD:
        return "La session n'a pas lieu (ni confirmée, ni en cours, ni terminée) : rien à importer."
    if (now or utcnow()) < slot.starts_at:
        return f"Le créneau du {attendance.slot_label(slot)} n'a pas encore commencé."
    return ""


def import_report(slot: Slot, data: bytes, filename: str, actor: User | None, mapping: dict[str, str] | None = None,
                  now: dt.datetime | None = None) -> AttendanceReport:
    """Import the report ``data`` for the virtual half-day ``slot``: ConflictError (409) when the slot cannot take
    one or when this file was imported for it already, ValidationError (422) for a file that cannot be read (its
    line and column named), formats.NeedsMapping when its tool is not recognised and no ``mapping`` (column ->
    role) is given. No ``actor``: the command line (``flask attendance import-report``)."""
    attendance.session_services.ensure_can_manage_sessions(actor)
    now = now or utcnow()
    problem = importable_problem(slot, now)
    if problem:
        raise ConflictError(problem)
    file_services.check_bytes(data, filename, FILE_KIND)
    parsed = formats.read_report(data, slot.date, mapping)
    lock_row(TrainingSession, slot.session_id)  # one import at a time per session: the duplicate check holds
    digest = hashlib.sha256(data).hexdigest()
    _refuse_duplicate(slot, digest)
    matched, unmatched = match_attendees(parsed.attendees(), attendance.expected_enrolments(slot.session))
    report = AttendanceReport(session_id=slot.session_id, slot_id=slot.id, sha256=digest, source=parsed.source,
                              file=file_services.store_bytes(data, filename, FILE_KIND),
                              mapping=parsed.mapping, rows_count=len(parsed.rows), author_id=_id(actor),
                              unmatched=[{"name": a.name, "email": a.email, "minutes": _minutes(a, slot)}
                                         for a in unmatched], created_at=now)
    db.session.add(report)
    db.session.flush()
    attendance._append(
        slot, "report", unique_key=f"report:{report.id}", now=now, author_id=_id(actor), method="report",
        file_sha256=digest, reason=f"{filename[:200]} : {count_fr(len(parsed.rows), 'ligne')}, "
                                   f"{count_fr(len(matched), 'stagiaire reconnu', 'stagiaires reconnus')}")
    for enrolment, attendee in matched:
        _append_connection(slot, report, enrolment, attendee, actor, now)
    return report


def _id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


def _refuse_duplicate(slot: Slot, digest: str) -> None:
    earlier = db.session.scalar(select(AttendanceReport).where(AttendanceReport.slot_id == slot.id,
                                                               AttendanceReport.sha256 == digest).limit(1))
    if earlier is not None:
        raise ConflictError(f"Ce fichier a déjà été importé pour ce créneau le {datetime_fr(earlier.created_at)} "
                            f"(rapport n° {earlier.id}) : un second rapport doit être celui d'une autre réunion.")


def match_attendees(attendees: list[formats.Attendee], enrolments: list[Enrolment]):
    """([(enrolment, attendee)], [attendees matching no one]): by the trainee's e-mail, case and spaces ignored."""
    by_email: dict[str, Enrolment] = {}
    for enrolment in enrolments:
        by_email.setdefault(formats.normalise_email(enrolment.trainee.email), enrolment)
    matched, unmatched = [], []
    for attendee in attendees:
        enrolment = by_email.get(attendee.email) if attendee.email else None
        if enrolment is None:
            unmatched.append(attendee)
        else:
            matched.append((enrolment, attendee))
    return matched, unmatched


def _minutes(attendee: formats.Attendee, slot: Slot) -> int:
    return attendee.minutes(slot.starts_at, slot.ends_at)


def _wall_clock(moment: dt.datetime | None) -> dt.time | None:
    return moment.astimezone(PARIS).time().replace(microsecond=0) if moment is not None else None


def _append_connection(slot: Slot, report: AttendanceReport, enrolment: Enrolment, attendee: formats.Attendee,
                       actor: User | None, now: dt.datetime) -> AttendanceRecord:
    return attendance._append(
        slot, "connection", unique_key=f"conn:{report.id}:{enrolment.id}", now=now, enrolment_id=enrolment.id,
        author_id=_id(actor), method="report", minutes=_minutes(attendee, slot),
        arrived_at=_wall_clock(attendee.first_join), left_at=_wall_clock(attendee.last_leave),
        file_sha256=report.sha256, signer_name=(attendee.name or attendee.email)[:250])


# --------------------------------------------------------------------------- reading


def get_report(report_id, actor: User | None = None) -> AttendanceReport:
    report = get_by_id(AttendanceReport, report_id, "Rapport de connexion introuvable.")
    attendance.get_slot(report.slot_id, actor)  # refuses a session the actor may not see
    return report


def slot_reports(slot: Slot) -> list[AttendanceReport]:
    return list(db.session.scalars(select(AttendanceReport).where(AttendanceReport.slot_id == slot.id)
                                   .order_by(AttendanceReport.id)))


@dataclass
class ResultLine:
    """An expected trainee against one report: their connection (None: not in the report) and their cell."""

    enrolment: Enrolment
    connection: AttendanceRecord | None
    cell: attendance.Cell

    @property
    def in_report(self) -> bool:
        return self.connection is not None

    @property
    def present(self) -> bool:
        return self.cell.status in PRESENT_CELLS

    @property
    def flags(self) -> list[str]:
        flags = []
        if not self.in_report:
            flags.append("absent du rapport" + (" malgré son émargement" if self.present else ""))
        elif not self.present:
            flags.append("dans le rapport mais sans émargement")
        return flags


def report_result(report: AttendanceReport, now: dt.datetime | None = None) -> list[ResultLine]:
    """Each expected trainee of the session with their connection in ``report`` and their cell of its slot."""
    connections = {record.enrolment_id: record for record in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.kind == "connection",
                                       AttendanceRecord.unique_key.like(f"conn:{report.id}:%")))}
    grid = attendance.session_grid(report.slot.session, now=now)
    return [ResultLine(enrolment, connections.get(enrolment.id), cell) for enrolment, cell in grid.column(report.slot_id)]


def report_title(report: AttendanceReport) -> str:
    slot = report.slot
    return f"Rapport de connexion du {date_fr(slot.date)}, {slot.half_day_label.lower()}"
