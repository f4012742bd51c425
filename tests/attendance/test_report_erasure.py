"""An imported meeting report names every participant (trainees, the trainer, guests): at the end of the register's
retention the RGPD purge erases its file and its unmatched rows with the register's personal fields
(privacy/services.erase_reports). The report's SHA-256 stays on its row and in the chain, so ``attendance verify``
still holds and says « effacé »; a file deleted by hand, or a report marked erased while its register is not, still
reads as altered."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select

from tests.fixtures.attendance import paris
from tests.helpers import MONDAY, login, page
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord, AttendanceReport
from trainingmgr.attendance.reports import services
from trainingmgr.core.timeutil import UTC
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile
from trainingmgr.files.services import path_for, remove_contents
from trainingmgr.privacy import services as privacy

from .test_reports import AFTER, fixture

# Five years and two months after the session: the register (60 months after the session's end) is past retention.
LATER = dt.datetime.combine(MONDAY + dt.timedelta(days=62 * 31), dt.time(12), tzinfo=UTC)


@pytest.fixture
def imported(make_class, world):
    """A session whose morning is a virtual classroom, with Teams' report imported."""
    session, enrolments = make_class(4)
    morning = min(session.slots, key=lambda s: (s.date, s.start_time))
    morning.modality = "virtual"
    db.session.commit()
    report = services.import_report(morning, fixture("teams.csv"), "teams.csv", world.users["advisor"], now=AFTER)
    db.session.commit()
    return session, report


def age(path) -> None:
    """Make a stored content old enough for remove_contents (it spares contents written in the last minutes)."""
    old = (dt.datetime.now() - dt.timedelta(hours=2)).timestamp()
    os.utime(path, (old, old))


def reload(report_id: int) -> AttendanceReport:
    db.session.expire_all()
    return db.session.get(AttendanceReport, report_id)


def test_the_purge_erases_the_report_file_and_the_register_still_verifies(app, imported):
    session, report = imported
    stored_id, path, digest = report.file_id, path_for(report.file), report.sha256
    assert report.unmatched and verify_chain(session.id).ok
    age(path)

    listed = privacy.purge(now=LATER, dry_run=True)
    attendance = next(kind for kind in listed.kinds if kind.rule.kind == "attendance")
    assert session.id in [item.id for item in attendance.items]
    db.session.rollback()
    assert reload(report.id).file_id == stored_id  # a dry run changes nothing

    done = privacy.purge(now=LATER)
    db.session.commit()
    remove_contents(done.freed)

    erased = reload(report.id)
    assert erased.file_id is None and erased.erased_at is not None and erased.unmatched == []
    assert erased.sha256 == digest and erased.rows_count == 7  # the digest and the counts stay
    assert db.session.get(StoredFile, stored_id) is None
    assert not path.exists()
    # the connection records keep their minutes and the report's digest; their names are gone
    connection = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.kind == "connection")).first()
    assert connection.minutes and connection.file_sha256 == digest and connection.signer_name == ""

    check = verify_chain(session.id)
    assert check.ok, check.problem
    [report_check] = check.reports
    assert report_check.erased and report_check.label.startswith("effacé le ")

    # running the purge again finds nothing more to erase for this register
    again = privacy.purge(now=LATER, dry_run=True)
    attendance = next(kind for kind in again.kinds if kind.rule.kind == "attendance")
    assert session.id not in [item.id for item in attendance.items]
    db.session.rollback()


def test_the_cli_purge_removes_the_file_from_disk(app, imported, monkeypatch):
    session, report = imported
    path = path_for(report.file)
    age(path)
    monkeypatch.setattr(privacy, "utcnow", lambda: LATER)
    result = app.test_cli_runner().invoke(args=["gdpr", "purge"])
    assert result.exit_code == 0, result.output
    assert "Émargement" in result.output and "rapports de connexion" in result.output
    assert reload(report.id).file_id is None
    assert not path.exists()
    assert verify_chain(session.id).ok


def test_the_pages_say_the_report_was_erased(app, client, imported):
    session, report = imported
    privacy.purge(now=LATER)
    db.session.commit()
    login(client, "conseil@test.example")
    shown = page(client.get(f"/attendance/reports/{report.id}"))
    assert "fichier effacé le " in shown and "son empreinte reste au registre" in shown and "teams.csv" not in shown
    assert "Invité Externe" not in shown  # the unmatched rows named a guest
    verify = page(client.get(f"/attendance/sessions/{session.id}/verify"))
    assert "fichier effacé" in verify and "effacé le " in verify
    listing = page(client.get(f"/attendance/slots/{report.slot_id}/reports/new"))
    assert "fin de conservation" in listing


def test_a_file_deleted_by_hand_still_fails_verify(app, imported):
    session, report = imported
    db.session.execute(AttendanceReport.__table__.update().where(AttendanceReport.id == report.id)
                       .values(file_id=None))
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and "introuvable" in check.problem and f"n° {report.id}" in check.problem


def test_a_report_marked_erased_before_its_register_fails_verify(app, imported):
    session, report = imported
    db.session.execute(AttendanceReport.__table__.update().where(AttendanceReport.id == report.id)
                       .values(file_id=None, erased_at=paris(MONDAY, "14:00")))
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and "hors de la purge RGPD" in check.problem


def test_a_register_erased_before_the_reports_existed_is_caught_up(app, imported):
    """A purge of before this change erased the records and left the report's file: the next purge erases it."""
    session, report = imported
    with pytest.MonkeyPatch.context() as patch:  # the purge as it was: records only
        patch.setattr(privacy, "erase_reports", lambda session_id, now=None: [])
        privacy.erase_attendance(session.id, now=LATER)
    db.session.commit()
    assert reload(report.id).file_id is not None
    assert db.session.scalar(select(func.count()).select_from(AttendanceRecord).where(
        AttendanceRecord.session_id == session.id, AttendanceRecord.erased_at.is_(None))) == 0
    listed = privacy.purge(now=LATER, dry_run=True)
    attendance = next(kind for kind in listed.kinds if kind.rule.kind == "attendance")
    assert session.id in [item.id for item in attendance.items]
    db.session.rollback()
    privacy.purge(now=LATER)
    db.session.commit()
    assert reload(report.id).erased_at is not None and verify_chain(session.id).ok
