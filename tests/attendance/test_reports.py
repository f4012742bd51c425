"""The meeting tools' attendance reports of a virtual half-day (attendance/reports/): each tool's file read, rejoins
merged and clipped to the slot, rows matched to trainees by e-mail and appended to the chain with the file's
SHA-256, so that the stored file edited afterwards fails ``attendance verify``; the same file twice, a bad file, a
slot that is not virtual are refused; another tool's CSV is read through the columns the advisor picks."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures.attendance import paris
from tests.helpers import MONDAY, login, page
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord, AttendanceReport
from trainingmgr.attendance.reports import formats, services
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for

FIXTURES = Path(__file__).parent / "reports"
AFTER = paris(MONDAY, "13:00")  # the morning (08:30–12:30) is over
OTHER_MAPPING = {"Adresse": "email", "Participant": "name", "Connexion": "join", "Déconnexion": "leave"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def virtual(make_class):
    """A confirmed session of four trainees (p01…p04@exemple.fr) whose morning is a virtual classroom."""
    session, enrolments = make_class(4)
    morning = min(session.slots, key=lambda s: (s.date, s.start_time))
    morning.modality = "virtual"
    db.session.commit()
    return session, morning, enrolments


@pytest.fixture
def advisor(world):
    return world.users["advisor"]


def run(slot, name, advisor, mapping=None, data=None):
    report = services.import_report(slot, data if data is not None else fixture(name), name, advisor,
                                    mapping=mapping, now=AFTER)
    db.session.commit()
    return report


def connections(report) -> dict[str, AttendanceRecord]:
    return {record.enrolment.trainee.email: record for record in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.unique_key.like(f"conn:{report.id}:%")))}


def minutes(report) -> dict[str, int]:
    return {email: record.minutes for email, record in connections(report).items()}


# --------------------------------------------------------------------------- each tool's file


def test_teams_report_gives_each_trainee_minutes_within_the_slot(virtual, advisor):
    session, morning, _ = virtual
    report = run(morning, "teams.csv", advisor)
    assert report.source == "teams" and report.rows_count == 7
    # p01 joined at 08:20 (clipped to 08:30) and left at 12:35 (clipped to 12:30); p02 rejoined (90 + 135 min);
    # p03 joined twice at once (two devices): the union counts once; p04 is not in the report
    assert minutes(report) == {"p01@exemple.fr": 240, "p02@exemple.fr": 225, "p03@exemple.fr": 120}
    p01 = connections(report)["p01@exemple.fr"]
    assert (p01.kind, p01.method, p01.file_sha256) == ("connection", "report", report.sha256)
    assert (p01.arrived_at, p01.left_at) == (dt.time(8, 20), dt.time(12, 35))
    assert p01.signer_name == "Prénom01 Nom01" and p01.author_id == advisor.id
    assert report.sha256 == hashlib.sha256(fixture("teams.csv")).hexdigest()
    assert path_for(report.file).read_bytes() == fixture("teams.csv")
    assert sorted(row["name"] for row in report.unmatched) == ["Invité Externe", "Pierre Formateur"]
    assert {row["name"]: row["minutes"] for row in report.unmatched}["Invité Externe"] == 30
    assert verify_chain(session.id).ok


def test_zoom_report_merges_rejoins_and_clips_to_the_end(virtual, advisor):
    _, morning, _ = virtual
    report = run(morning, "zoom.csv", advisor)
    assert report.source == "zoom"
    assert minutes(report) == {"p01@exemple.fr": 240, "p02@exemple.fr": 210}
    assert [row["email"] for row in report.unmatched] == ["formateur@formaction.example", ""]


def test_google_meet_report_with_times_of_day_only(virtual, advisor):
    _, morning, _ = virtual
    report = run(morning, "meet.csv", advisor)
    assert report.source == "meet"
    assert minutes(report) == {"p01@exemple.fr": 230, "p03@exemple.fr": 60}


def test_another_tool_needs_the_columns_then_reads_through_them(virtual, advisor):
    _, morning, _ = virtual
    with pytest.raises(formats.NeedsMapping) as refused:
        run(morning, "other.csv", advisor)
    assert refused.value.status_code == 422
    assert refused.value.columns == ["Participant", "Adresse", "Connexion", "Déconnexion", "Temps"]
    db.session.rollback()
    report = run(morning, "other.csv", advisor, mapping=OTHER_MAPPING)
    assert (report.source, report.mapping) == ("mapping", OTHER_MAPPING)
    # cp1252, semicolons; the second row in UTC (07:40Z is 08:40 in Paris), clipped to 08:40–09:10
    assert minutes(report) == {"p01@exemple.fr": 195, "p02@exemple.fr": 30}


def test_a_mapping_with_a_duration_only(virtual, advisor):
    _, morning, _ = virtual
    report = run(morning, "other.csv", advisor, mapping={"Adresse": "email", "Temps": "duration"})
    assert minutes(report) == {"p01@exemple.fr": 195, "p02@exemple.fr": 30}
    assert connections(report)["p01@exemple.fr"].arrived_at is None


@pytest.mark.parametrize("mapping, field", [({"Participant": "name", "Connexion": "join", "Déconnexion": "leave"},
                                             "email"),
                                            ({"Adresse": "email", "Connexion": "join"}, "leave"),
                                            ({"Adresse": "email"}, "join"),
                                            ({"Adresse": "email", "Inconnue": "duration"}, "file")])
def test_a_mapping_must_name_the_email_and_the_times_or_the_duration(virtual, advisor, mapping, field):
    _, morning, _ = virtual
    with pytest.raises(ValidationError) as refused:
        run(morning, "other.csv", advisor, mapping=mapping)
    assert field in refused.value.fields


# --------------------------------------------------------------------------- refusals


def test_the_same_file_twice_is_refused_but_a_second_meeting_adds_its_own_records(virtual, advisor):
    session, morning, _ = virtual
    first = run(morning, "teams.csv", advisor)
    with pytest.raises(ConflictError) as refused:
        run(morning, "teams.csv", advisor)
    assert refused.value.status_code == 409 and f"rapport n° {first.id}" in refused.value.message
    db.session.rollback()
    second = run(morning, "zoom.csv", advisor)
    assert minutes(second) == {"p01@exemple.fr": 240, "p02@exemple.fr": 210}
    assert len(db.session.scalars(select(AttendanceReport).where(AttendanceReport.slot_id == morning.id)).all()) == 2
    assert verify_chain(session.id).ok


def test_a_bad_row_is_refused_with_its_line_and_column(virtual, advisor):
    _, morning, _ = virtual
    data = fixture("zoom.csv").replace(b"03/03/2031 08:45:00 AM", b"demain matin")
    with pytest.raises(ValidationError) as refused:
        run(morning, "zoom.csv", advisor, data=data)
    assert refused.value.status_code == 422
    assert refused.value.message.startswith("Ligne 7, colonne « Join Time » : date et heure illisibles")
    assert db.session.scalar(select(AttendanceReport.id)) is None


@pytest.mark.parametrize("data, message", [
    (b"", "Le fichier est vide."),
    (b"\x81\x8d\x8f\x90\x9d" * 10, "pas un texte lisible"),
    (b"Email,Join,Leave\r\n\"p01@exemple.fr,09:00", "Format de rapport non reconnu"),
    (b"Name (Original Name),User Email,Join Time,Leave Time\r\n", "Aucune ligne de participant"),
    (b"Name (Original Name),User Email,Join Time,Leave Time\r\nA,a@b.fr,10:00,09:00\r\n",
     "Ligne 2 : la déconnexion (09:00) précède la connexion (10:00)."),
])
def test_unreadable_files_are_refused_in_french(virtual, advisor, data, message):
    _, morning, _ = virtual
    with pytest.raises(ValidationError) as refused:
        run(morning, "rapport.csv", advisor, data=data)
    assert refused.value.status_code == 422 and message in refused.value.message


def test_only_a_virtual_half_day_of_a_held_session_once_started(virtual, advisor, world):
    session, morning, _ = virtual
    afternoon = max(session.slots, key=lambda s: s.start_time)
    with pytest.raises(ConflictError, match="pas une classe virtuelle"):
        run(afternoon, "teams.csv", advisor)
    with pytest.raises(ConflictError, match="pas encore commencé"):
        services.import_report(morning, fixture("teams.csv"), "teams.csv", advisor, now=paris(MONDAY, "08:00"))
    with pytest.raises(PermissionDenied):
        run(morning, "teams.csv", world.users["trainer"])


# --------------------------------------------------------------------------- the evidence


def test_the_stored_file_altered_after_import_fails_verify(app, virtual, advisor):
    session, morning, _ = virtual
    report = run(morning, "teams.csv", advisor)
    cli = app.test_cli_runner()
    assert cli.invoke(args=["attendance", "verify", str(session.id)]).exit_code == 0
    path = path_for(report.file)
    path.write_bytes(fixture("teams.csv").replace("Nom03".encode("utf-16-le"), "Nom33".encode("utf-16-le")))
    check = verify_chain(session.id)
    assert not check.ok
    assert f"le rapport de connexion n° {report.id} (teams.csv" in check.problem
    assert "a été modifié" in check.problem
    assert [c.ok for c in check.reports] == [False]
    result = cli.invoke(args=["attendance", "verify", str(session.id)])
    assert result.exit_code == 1
    assert f"rapport de connexion n° {report.id}" in result.output
    path.unlink()
    assert "introuvable" in verify_chain(session.id).problem


def test_the_register_page_lists_the_reports_and_names_the_altered_one(client, virtual, advisor):
    session, morning, _ = virtual
    report = run(morning, "teams.csv", advisor)
    login(client, "conseil@test.example")
    sheet = page(client.get(f"/attendance/slots/{morning.id}"))
    assert f'/attendance/slots/{morning.id}/reports/new">Importer un rapport de connexion' in sheet
    shown = page(client.get(f"/attendance/sessions/{session.id}/verify"))
    assert 'data-table="reports"' in shown and 'data-field="report-state">intègre' in shown
    path_for(report.file).write_bytes(b"falsifie")
    shown = page(client.get(f"/attendance/sessions/{session.id}/verify"))
    assert 'data-field="report-state">altéré' in shown
    assert f"le rapport de connexion n° {report.id} (teams.csv, 03/03/2031 matin) ne correspond plus" in shown


def test_a_report_row_replaced_in_the_database_fails_verify(virtual, advisor):
    """Swapping the report for another file (row and file) leaves the connection records naming the first."""
    session, morning, _ = virtual
    report = run(morning, "teams.csv", advisor)
    other = fixture("zoom.csv")
    stored = report.file
    path_for(stored).write_bytes(other)
    report.sha256 = hashlib.sha256(other).hexdigest()
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and "n'a pas d'enregistrement dans le registre d'émargement" in check.problem


def test_a_report_that_matched_nobody_is_in_the_chain_all_the_same(virtual, advisor):
    """Each import appends a « report » record holding the file's SHA-256, whoever the report matched: swapping a
    report that gave no connection record (row and file) still fails verify."""
    session, morning, _ = virtual
    data = "Email,Join Time,Leave Time\ninconnu@example.org,03/03/2031 09:00,03/03/2031 12:00\n".encode()
    report = run(morning, "inconnu.csv", advisor, data=data,
                 mapping={"Email": "email", "Join Time": "join", "Leave Time": "leave"})
    anchor = db.session.scalar(select(AttendanceRecord).where(AttendanceRecord.kind == "report"))
    assert (anchor.file_sha256, anchor.enrolment_id, anchor.reason) == (
        report.sha256, None, "inconnu.csv : 1 ligne, 0 stagiaire reconnu")
    assert verify_chain(session.id).ok
    other = b"Email,Join Time,Leave Time\n"
    path_for(report.file).write_bytes(other)
    report.sha256 = hashlib.sha256(other).hexdigest()
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and f"rapport de connexion n° {report.id}" in check.problem


def test_the_command_imports_a_report(app, virtual, started, tmp_path):
    _, morning, _ = virtual
    path = tmp_path / "autre.csv"
    path.write_bytes(fixture("other.csv"))
    cli = app.test_cli_runner()
    result = cli.invoke(args=["attendance", "import-report", str(morning.id), str(path)])
    assert result.exit_code == 1 and "Colonnes du fichier : Participant, Adresse, Connexion" in result.output
    args = ["attendance", "import-report", str(morning.id), str(path)]
    for column, role in OTHER_MAPPING.items():
        args += ["--mapping", f"{column}={role}"]
    result = cli.invoke(args=args)
    assert result.exit_code == 0, result.output
    report = db.session.scalar(select(AttendanceReport))
    assert f"Rapport n° {report.id} importé (colonnes choisies) : 2 stagiaires dans le rapport" in result.output
    assert report.author_id is None and minutes(report) == {"p01@exemple.fr": 195, "p02@exemple.fr": 30}


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def started(monkeypatch):
    monkeypatch.setattr("trainingmgr.attendance.reports.services.utcnow", lambda: AFTER)


def upload(client, slot, name, data=None, **fields):
    content = data if data is not None else fixture(name)
    return client.post(f"/attendance/slots/{slot.id}/reports/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), name), **fields})


def test_advisor_imports_a_teams_report_and_sees_who_is_missing(client, virtual, started):
    _, morning, enrolments = virtual
    login(client, "conseil@test.example")
    form = page(client.get(f"/attendance/slots/{morning.id}/reports/new"))
    assert 'data-form="attendance-report"' in form and "not-importable" not in form
    response = upload(client, morning, "teams.csv")
    assert response.status_code == 302, page(response)
    report = db.session.scalar(select(AttendanceReport))
    assert response.headers["Location"].endswith(f"/attendance/reports/{report.id}")
    shown = page(client.get(f"/attendance/reports/{report.id}"))
    assert "Microsoft Teams" in shown and "240 min sur 240" in shown and "225 min sur 240" in shown
    p04 = enrolments[3]
    assert f'data-enrolment="{p04.id}" data-in-report="no"' in shown
    assert "Absents du rapport :</strong> Prénom04 Nom04." in shown
    assert "Invité Externe" in shown
    again = upload(client, morning, "teams.csv")
    assert again.status_code == 409 and "déjà été importé" in page(again)


def test_advisor_picks_the_columns_of_another_tool(client, virtual, started):
    _, morning, _ = virtual
    login(client, "conseil@test.example")
    response = upload(client, morning, "other.csv")
    shown = page(response)
    assert response.status_code == 200 and 'data-field="mapping"' in shown
    assert '<option value="Adresse">Adresse</option>' in shown
    content = shown.split('name="content" type="hidden" value="')[1].split('"')[0]
    base = {"content": content, "filename": "other.csv"}
    refused = client.post(f"/attendance/slots/{morning.id}/reports/new", data={**base, "join": "Connexion"})
    assert refused.status_code == 422 and "colonne de l'adresse e-mail" in page(refused)
    assert db.session.scalar(select(AttendanceReport.id)) is None
    done = client.post(f"/attendance/slots/{morning.id}/reports/new",
                       data={**base, "email": "Adresse", "name": "Participant", "join": "Connexion",
                             "leave": "Déconnexion"})
    assert done.status_code == 302, page(done)
    report = db.session.scalar(select(AttendanceReport))
    assert report.source == "mapping" and minutes(report) == {"p01@exemple.fr": 195, "p02@exemple.fr": 30}


def test_bad_uploads_are_422_with_the_line(client, virtual, started):
    _, morning, _ = virtual
    login(client, "conseil@test.example")
    empty = client.post(f"/attendance/slots/{morning.id}/reports/new", data={})
    assert empty.status_code == 422 and "Choisissez le fichier" in page(empty)
    bad = upload(client, morning, "zoom.csv", data=fixture("zoom.csv").replace(b"12:30:00 PM", b"midi"))
    assert bad.status_code == 422 and "Ligne 6, colonne « Leave Time »" in page(bad)
    wrong_type = upload(client, morning, "rapport.xlsx", data=b"PK\x03\x04")
    assert wrong_type.status_code == 422 and "formats acceptés : .csv, .tsv, .txt" in page(wrong_type)


def test_a_room_half_day_says_why_and_refuses(client, virtual, started):
    session, _, _ = virtual
    afternoon = max(session.slots, key=lambda s: s.start_time)
    login(client, "conseil@test.example")
    assert "pas une classe virtuelle" in page(client.get(f"/attendance/slots/{afternoon.id}/reports/new"))
    assert upload(client, afternoon, "teams.csv").status_code == 409


def test_trainers_cannot_import_nor_read_reports(client, virtual, started, advisor):
    _, morning, _ = virtual
    report = run(morning, "teams.csv", advisor)
    login(client, "formateur@test.example")
    assert client.get(f"/attendance/slots/{morning.id}/reports/new").status_code == 403
    assert upload(client, morning, "zoom.csv").status_code == 403
    assert client.get(f"/attendance/reports/{report.id}").status_code == 403


# --------------------------------------------------------------------------- reading values


@pytest.mark.parametrize("text, expected", [
    ("3/3/31, 8:20:05 AM", (2031, 3, 3, 8, 20, 5)),
    ("03/03/2031 12:41:02 PM", (2031, 3, 3, 12, 41, 2)),
    ("03/03/2031 09:05", (2031, 3, 3, 9, 5, 0)),
    ("3/4/2031 9:05 AM", (2031, 3, 4, 9, 5, 0)),  # AM/PM: month first
    ("04/03/2031 09:05", (2031, 3, 4, 9, 5, 0)),  # day first
    ("2031-03-03T08:40:00Z", (2031, 3, 3, 9, 40, 0)),
    ("2031-03-03 08:40:00+02:00", (2031, 3, 3, 7, 40, 0)),
    ("9:30 AM", (2031, 3, 3, 9, 30, 0)),
    ("14h05", (2031, 3, 3, 14, 5, 0)),
])
def test_dates_and_times_of_the_tools(text, expected):
    moment = formats.parse_moment(text, MONDAY)
    assert moment.timetuple()[:6] == expected and moment.utcoffset() == dt.timedelta(hours=1)


@pytest.mark.parametrize("text", ["demain", "13:00 PM", "31/31/2031 09:00", "25:00", ""])
def test_unreadable_times(text):
    assert formats.parse_moment(text, MONDAY) is None


@pytest.mark.parametrize("text, seconds", [("1h 27m 51s", 5271), ("45", 2700), ("1 hr 5 min", 3900),
                                           ("01:05:30", 3930), ("3h15", 11700), ("52,5", 3150), ("abc", None)])
def test_durations(text, seconds):
    assert formats.parse_duration(text) == seconds


def test_utf16_without_bom_and_utf8_with_bom_are_decoded():
    text = "Name\tJoin Time\tLeave Time\tEmail\r\nA B\t09:00\t10:00\ta@b.fr\r\n"
    for data in (text.encode("utf-16-le"), b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        report = formats.read_report(data, MONDAY)
        assert report.source == "teams" and report.rows[0].email == "a@b.fr"
