"""The « Dossier d'audit » of a session with distance half-days (issue 27): the attendance step holds each imported
meeting report's file (the manifest's SHA-256 that of the archive member and of the import), a line on what it
matched, a line per virtual half-day (both signatures, report imported) and per asynchronous one (time declared); an
erased report is said erased (one marked erased by hand too, the register then read as altered), an altered one
« altéré », and the pack still builds; a session held in the room reads as before; the step's statements do not grow
with the trainees. The certificates' hours per modality are checked against those signed per modality
(quality/consistency.py)."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm.attributes import flag_modified

from tests.fixtures.attendance import bypass_guard
from tests.fixtures.documents import deliver, drawing
from tests.quality.test_audit_pack import around, built, index_text, manifest
from trainingmgr.attendance import guard
from trainingmgr.attendance import services as attendance
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.reports.services import import_report
from trainingmgr.core.formatting import date_fr
from trainingmgr.core.timeutil import utcnow
from trainingmgr.documents import services as documents
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for
from trainingmgr.privacy import services as privacy
from trainingmgr.quality.consistency import session_mismatches
from trainingmgr.quality.pack.archive import PackArchive
from trainingmgr.quality.pack.chain import session_chain

MINUTE = dt.timedelta(minutes=1)
HEADER = "Nom;Adresse e-mail;Heure de connexion;Heure de déconnexion\n"  # read as a Teams export


def report_csv(slot, enrolments) -> bytes:
    """A meeting report naming ``enrolments`` (the whole half-day) and a guest matching no trainee."""
    day = slot.date.strftime("%d/%m/%Y")
    rows = [f"{e.trainee.full_name};{e.trainee.email};{day} 08:29;{day} 12:31\n" for e in enrolments]
    return (HEADER + "".join(rows) + f"Invité Externe;;{day} 09:00;{day} 09:30\n").encode()


def make_hybrid(session) -> tuple:
    """``session``'s first half-day a virtual classroom, its second an asynchronous activity."""
    morning, afternoon = sorted(session.slots, key=lambda s: (s.date, s.start_time))[:2]
    session.delivery_mode = "mixte"
    morning.modality, morning.meeting_url = "virtual", "https://visio.example.fr/formaction/dume"
    afternoon.modality, afternoon.activity = "async", "Compléter un DUME d'exercice et le déposer sur Chorus Pro."
    db.session.commit()
    return morning, afternoon


def run_remote(session, advisor, trainer_user, complete: bool = True):
    """Every expected trainee signs both parts of the virtual morning and declares time on the asynchronous
    afternoon (30 minutes less each), the trainer closes the morning, its report is imported; the session then
    completes. The report."""
    from trainingmgr.sessions.services import change_status

    morning, afternoon = sorted(session.slots, key=lambda s: (s.date, s.start_time))[:2]
    if session.status == "open":
        change_status(session, "confirmed", advisor)
    change_status(session, "in_progress", advisor, now=morning.starts_at)
    enrolments = attendance.expected_enrolments(session)
    for i, enrolment in enumerate(enrolments):
        attendance.sign(morning, enrolment, method="link", drawing=drawing(i), now=morning.starts_at + i * MINUTE)
        attendance.sign_check(morning, enrolment, method="link", drawing=drawing(i + 20),
                              now=attendance.second_part_opens(morning) + i * MINUTE)
    attendance.countersign(morning, trainer_user, typed_name=session.trainers[0].full_name,
                           now=morning.ends_at + MINUTE)
    report = import_report(morning, report_csv(morning, enrolments), "presence.csv", advisor,
                           now=morning.ends_at + 5 * MINUTE)
    for i, enrolment in enumerate(enrolments):
        attendance.declare_time(afternoon, enrolment, 210 - i, now=afternoon.ends_at + (i + 1) * MINUTE)
    if complete:
        change_status(session, "completed", advisor, now=afternoon.ends_at + 30 * MINUTE)
    db.session.commit()
    return report


@pytest.fixture
def hybrid(demo):
    """The demo's DUME session delivered with a virtual morning (its report imported) and an asynchronous
    afternoon, its documents generated; the Chorus session delivered in the room."""
    d = demo
    deliver(d.chorus, d.advisor, d.trainer)
    for enrolment in [e for e in d.enrolments.values() if e.session_id == d.dume.id
                      and e.status == "pending_prerequisite"]:
        from trainingmgr.enrolments.services import record_decision

        record_decision(enrolment, "admitted", "Prérequis confirmé", d.advisor)
    d.morning, d.afternoon = make_hybrid(d.dume)
    d.report = run_remote(d.dume, d.advisor, d.trainer)
    documents.generate_session_pack(d.dume, d.advisor, pdf=False)
    db.session.commit()
    d.expected = attendance.expected_enrolments(d.dume)
    return d


def dume_pack(d):
    pack, files = built(*around(d), session_ids=[d.dume.id])
    (chain,) = pack.index.sessions
    return pack, files, chain, chain.step("attendance")


def half_day(slot) -> str:
    return f"du {date_fr(slot.date)} {slot.half_day_label.lower()}"


# --------------------------------------------------------------------------- the report in the pack


def test_the_imported_report_is_in_the_attendance_step_with_its_lines(hybrid):
    d = hybrid
    report, trainees = d.report, len(d.expected)
    pack, files, chain, step = dume_pack(d)
    name = f"rapport-connexion-{report.id}-teams.csv"
    path = f"{chain.folder}/{step.folder}/{name}"
    assert path in step.files and files[path] == report_csv(d.morning, d.expected)
    sha, size, section = manifest(files)[path]
    assert sha == hashlib.sha256(files[path]).hexdigest() == report.sha256
    assert (size, section) == (len(files[path]), f"Session n° {d.dume.id}")
    assert chain.register_ok and step.lines[0].startswith("Registre d'émargement : intègre")
    declared = sum(210 - i for i in range(trainees))
    assert step.lines[-3:] == [
        f"Classe virtuelle {half_day(d.morning)} : les deux signatures (début et seconde partie) pour "
        f"{trainees} stagiaires sur {trainees} ; 1 rapport de connexion importé.",
        f"Rapport de connexion n° {report.id} (Microsoft Teams), classe virtuelle {half_day(d.morning)} : "
        f"{trainees} stagiaires reconnus, 1 participant non reconnu ; SHA-256 {report.sha256[:12]}… ; fichier {name}.",
        f"Activité asynchrone {half_day(d.afternoon)} : {trainees} déclarations de temps, temps déclaré au total : "
        f"{attendance.duration_fr(declared)}.",
    ]
    text = index_text(files)
    for line in step.lines[-3:]:
        assert line in text
    assert name in text.split("Feuilles d'émargement et contrôle du registre")[-1]
    # The certificates print the hours per modality, as signed: no mismatch.
    assert chain.mismatches == []


def test_a_virtual_half_day_without_report_or_second_signature_says_so(demo):
    d = demo
    morning, afternoon = make_hybrid(d.dume)
    from trainingmgr.sessions.services import change_status

    change_status(d.dume, "confirmed", d.advisor)
    change_status(d.dume, "in_progress", d.advisor, now=morning.starts_at)
    (first, *others) = attendance.expected_enrolments(d.dume)
    attendance.sign(morning, first, method="link", typed_name=first.trainee.full_name, now=morning.starts_at)
    change_status(d.dume, "completed", d.advisor, now=afternoon.ends_at + MINUTE)
    db.session.commit()
    _, _, _, step = dume_pack(d)
    assert step.lines[-2:] == [
        f"Classe virtuelle {half_day(morning)} : les deux signatures (début et seconde partie) pour 0 stagiaire sur "
        f"{1 + len(others)} ; aucun rapport de connexion importé.",
        f"Activité asynchrone {half_day(afternoon)} : aucune déclaration de temps."]
    assert not any("rapport-connexion" in path for path in step.files)


def test_an_erased_report_is_said_erased_and_left_out(hybrid):
    d = hybrid
    report = d.report
    erased_at = utcnow()
    # The end of the register's retention: the records' personal fields and the report's file erased at once.
    privacy.erase_attendance(d.dume.id, now=erased_at)
    db.session.commit()
    assert report.file_id is None and report.erased_at is not None
    pack, files, chain, step = dume_pack(d)
    assert chain.register_ok, step.lines[0]
    assert not any("rapport-connexion" in path for path in files)
    line = next(line for line in step.lines if line.startswith(f"Rapport de connexion n° {report.id} "))
    assert line == (f"Rapport de connexion n° {report.id} (Microsoft Teams), classe virtuelle {half_day(d.morning)} : "
                    f"{len(d.expected)} stagiaires reconnus ; fichier effacé le {date_fr(erased_at)} à l'échéance de "
                    f"conservation, son empreinte SHA-256 {report.sha256[:12]}… reste dans le registre.")
    assert line in index_text(files)
    assert "1 rapport de connexion importé" in step.lines[-3]


def test_a_report_marked_erased_while_its_register_is_not_still_builds(hybrid):
    d = hybrid
    report = d.report
    report.file_id, report.erased_at = None, utcnow()
    db.session.commit()
    pack, files, chain, step = dume_pack(d)
    assert not chain.register_ok and "alors que le registre d'émargement ne l'est pas" in step.lines[0]
    assert not any("rapport-connexion" in path for path in files)
    line = next(line for line in step.lines if line.startswith(f"Rapport de connexion n° {report.id} "))
    assert f"fichier effacé le {date_fr(report.erased_at)} à l'échéance de conservation" in line


def test_an_altered_report_does_not_stop_the_pack(hybrid):
    d = hybrid
    report = d.report
    path_for(report.file).write_bytes(b"Nom;Adresse e-mail\nQuelqu'un d'autre;x@exemple.fr\n")
    pack, files, chain, step = dume_pack(d)
    assert not chain.register_ok and "ALTÉRÉ" in step.lines[0]
    assert not any("rapport-connexion" in path for path in files)
    line = next(line for line in step.lines if line.startswith(f"Rapport de connexion n° {report.id} "))
    assert "fichier altéré : il ne correspond plus à son empreinte SHA-256" in line
    assert "non joint" in line or "n'est pas joint" in line


# --------------------------------------------------------------------------- a session held in the room


def test_a_room_session_reads_as_before(hybrid):
    d = hybrid
    pack, files = built(*around(d), session_ids=[d.chorus.id])
    (chain,) = pack.index.sessions
    step = chain.step("attendance")
    check = verify_chain(d.chorus.id)
    assert step.lines == [f"Registre d'émargement : intègre ({check.length} enregistrements) ; "
                          f"{check.seal_summary}.", *(f"Attention : {w}." for w in check.warnings)]
    assert not any("rapport-connexion" in path for path in files)


# --------------------------------------------------------------------------- cost


def test_the_attendance_step_costs_the_same_whatever_the_trainees(world, make_class, count_queries):
    advisor, trainer = world.users["advisor"], world.users["trainer"]

    def statements(size: int) -> int:
        session, _ = make_class(size)
        make_hybrid(session)
        run_remote(session, advisor, trainer, complete=False)
        db.session.expire_all()
        with count_queries() as counter:
            chain = session_chain(db.session.get(type(session), session.id), 1, PackArchive(), [])
        assert len([p for p in chain.step("attendance").files if "rapport-connexion" in p]) == 1
        return counter.count

    assert statements(2) == statements(6)


# --------------------------------------------------------------------------- hours per modality on certificates


def test_a_wrong_virtual_hours_figure_on_a_certificate_is_flagged(hybrid, backend):
    d = hybrid
    assert session_mismatches(d.dume) == []
    enrolment = d.expected[0]
    certificate = db.session.scalar(select(GeneratedDocument).where(
        GeneratedDocument.doc_type == "certificate", GeneratedDocument.subject == f"enrolment:{enrolment.id}")
        .order_by(GeneratedDocument.version.desc()).limit(1))
    lines = certificate.context["attendance"]["modalities"]
    virtual = next(line for line in lines if line["label"] == "Classe virtuelle")
    assert virtual["hours"] == "4 h"
    # The total left as signed, the virtual hours changed straight in the database (round the append-only guard).
    if backend == "postgresql":
        bypass_guard(backend)
    else:
        for statement in guard.statements("sqlite", install=False, table="generated_document"):
            db.session.execute(text(statement))
    virtual["hours"] = "3 h"
    flag_modified(certificate, "context")
    db.session.commit()
    found = [m for m in session_mismatches(d.dume) if m.enrolment_id == enrolment.id]
    label = f"{certificate.label} n° {certificate.number}"
    assert [(m.field, m.document, m.expected, m.found) for m in found] == [("Heures", label, "4 h", "3 h")]
    assert found[0].message == (f"{label} : 3 h en classe virtuelle indiquées pour {enrolment.trainee.full_name}, "
                                "4 h signées en classe virtuelle sur les feuilles d'émargement.")
