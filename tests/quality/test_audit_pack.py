"""The « Dossier d'audit »: the manifest's SHA-256 are those of the archive's members; each sampled session is
followed from the programme to the complaints, a missing piece said « absent »; a certificate whose hours are not
those signed is a mismatch in the index (quality/consistency.py); the registers' entries of the period are the
indicators' files; the sample is the same for a period and spread over the courses; the demo's year builds from the
page, the command line writes the same pack; staff only, bad input answered in French."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest
from docx import Document
from sqlalchemy import func, select

from tests.fixtures.documents import logged_in
from tests.helpers import page, run_started_task
from trainingmgr.core.errors import ValidationError
from trainingmgr.core.timeutil import paris_today
from trainingmgr.documents import services as documents
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Task
from trainingmgr.quality import audit_pack
from trainingmgr.quality.pack import selection
from trainingmgr.quality.pack.selection import Period


def members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def manifest(files: dict[str, bytes]) -> dict[str, tuple[str, int, str]]:
    rows = list(csv.reader(io.StringIO(files["manifest.csv"].decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Fichier", "SHA-256", "Octets", "Rubrique"]
    return {path: (sha, int(size), section) for path, sha, size, section in rows[1:]}


def index_text(files: dict[str, bytes]) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(files["index.docx"])).paragraphs)


def around(d) -> tuple[dt.date, dt.date]:
    """A period holding both delivered demo sessions."""
    first = min(d.chorus.first_date, d.dume.first_date)
    return first - dt.timedelta(days=10), max(d.chorus.last_date, d.dume.last_date) + dt.timedelta(days=10)


def built(since, until, **kwargs) -> tuple[audit_pack.BuiltPack, dict[str, bytes]]:
    pack = audit_pack.build_pack(audit_pack.plan_pack(since, until, **kwargs))
    return pack, members(pack.data)


@pytest.fixture
def documented(delivered):
    """Both demo sessions delivered, with their session pack generated as the advisor does."""
    for session in (delivered.chorus, delivered.dume):
        documents.generate_session_pack(session, delivered.advisor, pdf=False)
    db.session.commit()
    return delivered


# --------------------------------------------------------------------------- the archive


def test_the_manifest_lists_every_member_with_the_sha256_of_its_bytes(documented):
    pack, files = built(*around(documented))
    listed = manifest(files)
    assert set(listed) == set(files) - {"manifest.csv"}
    for path, (sha, size, _) in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == sha, path
        assert len(files[path]) == size
    assert [row[0] for row in pack.manifest] == sorted(listed)
    # Without a converter (the tests' PDF_CONVERTER=none) the index is the Word document, and says why.
    assert "index.docx" in files and "index.pdf" not in files
    assert "la conversion en PDF n'était pas disponible" in index_text(files)


def test_each_sampled_session_is_followed_step_by_step_in_its_own_folder(documented):
    d = documented
    pack, files = built(*around(d))
    chains = {c.session_id: c for c in pack.index.sessions}
    assert set(chains) == {d.chorus.id, d.dume.id}
    dume = chains[d.dume.id]
    assert [s.key for s in dume.steps] == ["programme", "quote", "agreement", "convocation", "positioning",
                                           "attendance", "acquis", "certificate", "invoice", "survey", "complaint"]
    for key in ("programme", "agreement", "convocation", "positioning", "attendance", "certificate"):
        step = dume.step(key)
        assert step.files, key
        assert all(path.startswith(f"{dume.folder}/{step.folder}/") and path in files for path in step.files)
    assert dume.register_ok and "Registre d'émargement : intègre" in dume.step("attendance").lines[0]
    from trainingmgr.attendance.services import expected_enrolments

    trainees = sorted(e.trainee.full_name for e in expected_enrolments(d.dume))
    assert sorted(line.split(" : ")[0] for line in dume.step("convocation").lines) == trainees
    # The demo without invoices (the « demo » fixture): the step says « absent ».
    assert dume.step("invoice").absent
    text = index_text(files)
    assert f"Session 1 : {pack.index.sessions[0].label}" in text
    assert "9. Factures et avoirs" in text and "Fichiers : « absent »" in text.split("9. Factures et avoirs")[1]
    assert "Aucune incohérence entre les documents de la session" in text


def test_a_certificate_with_hours_other_than_signed_is_a_mismatch_in_the_index(documented):
    from tests.documents.test_reissue import correct_sarah

    d = documented
    sarah = correct_sarah(d)  # left at 15:30: 6 h signed, her certificate says 8 h
    pack, files = built(*around(d), session_ids=[d.dume.id])
    (chain,) = pack.index.sessions
    hours = [m for m in chain.mismatches if m.field == "Heures" and m.document.startswith("Certificat")]
    assert [(m.expected, m.found, m.enrolment_id) for m in hours] == [("6 h", "8 h", sarah.id)]
    assert f"Heures : {hours[0].message}" in index_text(files)
    assert "incohérences relevées" in pack.summary and pack.index.chosen_by == audit_pack.CHOSEN


# --------------------------------------------------------------------------- the registers


def test_the_registers_entries_of_the_period_are_the_indicators_files(documented):
    from trainingmgr.quality.registers.models import Adaptation, DisabilityPartner, NeedsAnalysis, WatchEntry
    from trainingmgr.resources.models import TrainerDevelopment

    d = documented
    since, until = around(d)
    inside, outside = since + dt.timedelta(days=1), since - dt.timedelta(days=30)
    sarah = d.enrolments["Sarah"]
    db.session.add_all([
        WatchEntry(day=inside, source="Légifrance, décret n° 2026-12", domain="legal", summary="Nouveau BPF",
                   analysis="Rubrique C à revoir"),
        WatchEntry(day=outside, source="Ancien décret", domain="legal", summary="Hors période"),
        WatchEntry(day=inside, source="Salon Learning Tech", domain="teaching", summary="Classes inversées"),
        NeedsAnalysis(day=inside, channel="interview", contact="Service RH", needs="Maîtriser Chorus Pro"),
        DisabilityPartner(name="Cap emploi Haute-Garonne", kind="cap_emploi", contact_name="Mme Vidal"),
        Adaptation(enrolment_id=sarah.id, request="Supports en gros caractères", requested_on=inside),
        TrainerDevelopment(trainer_id=d.dume.trainers[0].id, day=inside, title="Webinaire DUME", kind="webinar",
                           hours=Decimal(2)),
    ])
    db.session.commit()
    pack, files = built(since, until)
    sections = {s.number: s for s in pack.index.indicators}
    assert sections[23].files == ["indicateurs/23/veille-legale-et-reglementaire.csv"]
    legal = files["indicateurs/23/veille-legale-et-reglementaire.csv"].decode("utf-8-sig")
    assert "Nouveau BPF" in legal and "Hors période" not in legal
    assert "Classes inversées" in files["indicateurs/25/veille-innovations-pedagogiques-et-technologiques.csv"].decode()
    assert sections[24].files == []
    assert "Maîtriser Chorus Pro" in files["indicateurs/04/analyses-des-besoins.csv"].decode()
    assert "Cap emploi Haute-Garonne" in files["indicateurs/26/reseau-partenaires-handicap.csv"].decode()
    assert "Supports en gros caractères" in files["indicateurs/26/adaptations-des-stagiaires.csv"].decode()
    assert "Webinaire DUME" in files["indicateurs/22/developpement-des-competences.csv"].decode()
    # The sampled sessions' folders documenting an indicator are listed under it.
    assert any("-convocations" in folder for folder in sections[9].session_files)
    text = index_text(files)
    assert "Indicateur 23 – Veille légale et réglementaire" in text
    assert "indicateurs/23/veille-legale-et-reglementaire.csv" in text


# --------------------------------------------------------------------------- the sample


def test_the_sample_is_the_same_for_a_period_and_spread_over_the_courses(documented):
    d = documented
    period = Period(*around(d))
    one = selection.sample(period, 1)
    assert [s.id for s in one] == [s.id for s in selection.sample(period, 1)]
    both = selection.sample(period, 2)
    assert {s.course_id for s in both} == {d.chorus.course_id, d.dume.course_id}
    assert [s.id for s in selection.sample(period, 5)] == [s.id for s in both]  # no more than held


def test_a_chosen_session_must_be_held_in_the_period(documented):
    d = documented
    since, until = around(d)
    with pytest.raises(ValidationError) as refused:
        audit_pack.plan_pack(since, until, session_ids=[d.dume.id, 999999])
    assert refused.value.message.startswith("La session n° 999999 n'a pas été réalisée dans la période")
    with pytest.raises(ValidationError, match="postérieure à la date de fin"):
        audit_pack.plan_pack(until, since)
    with pytest.raises(ValidationError, match="de 1 à 20"):
        audit_pack.plan_pack(since, until, sample=0)


# --------------------------------------------------------------------------- the demo year, the page and the CLI


def test_the_demo_year_builds_from_the_page_and_the_command_line_writes_the_same_pack(full_demo, tmp_path):
    app = full_demo
    today = paris_today()
    since = today.replace(year=today.year - 1) + dt.timedelta(days=1)
    web = logged_in(app, "conseil@formaction.example", "conseil-demo-2026")
    shown = web.get(f"/quality/audit-pack?depuis={since.isoformat()}&jusqu={today.isoformat()}")
    assert shown.status_code == 200 and "tirée" in page(shown)
    task, download = run_started_task(web, web.post("/quality/audit-pack", data={
        "since": since.isoformat(), "until": today.isoformat(), "sample": "3"}))
    assert task.status == "done", task.error
    assert download.status_code == 200
    files = members(download.data)
    listed = manifest(files)
    assert all(hashlib.sha256(files[p]).hexdigest() == sha for p, (sha, _, _) in listed.items())
    assert any(p.startswith("sessions/01-session-") for p in files)  # the demo's delivered sessions
    assert "Dossier d'audit Qualiopi" in index_text(files)
    out = tmp_path / "audit.zip"
    result = app.test_cli_runner().invoke(args=["quality", "audit-pack", "--from", since.isoformat(), "--to",
                                                today.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith(f"Dossier écrit dans {out} (Dossier d'audit ")
    assert manifest(members(out.read_bytes())) == listed


def test_the_command_line_refuses_bad_input_in_french(full_demo, tmp_path):
    runner = full_demo.test_cli_runner()
    bad = runner.invoke(args=["quality", "audit-pack", "--from", "2026-13-01", "--to", "2026-12-31"])
    assert bad.exit_code == 1 and bad.output == ("Erreur : Date invalide pour --from : « 2026-13-01 » (format attendu "
                                                 "AAAA-MM-JJ).\n")
    reversed_ = runner.invoke(args=["quality", "audit-pack", "--from", "2026-12-31", "--to", "2026-01-01"])
    assert reversed_.exit_code == 1 and "postérieure à la date de fin" in reversed_.output
    ids = runner.invoke(args=["quality", "audit-pack", "--from", "2026-01-01", "--to", "2026-12-31",
                              "--sessions", "1,abc"])
    assert ids.exit_code == 1 and "Liste de sessions invalide" in ids.output
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


# --------------------------------------------------------------------------- permissions and input


def test_only_the_staff_builds_a_pack(app, demo):
    anonymous = app.test_client()
    assert anonymous.get("/quality/audit-pack").status_code == 302
    trainer = logged_in(app, "formateur@formaction.example", "formateur-demo-2026")
    assert trainer.get("/quality/audit-pack").status_code == 403
    assert trainer.post("/quality/audit-pack", data={"since": "2026-01-01", "until": "2026-12-31"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    with pytest.raises(Exception, match="conseillers et les administrateurs"):
        audit_pack.start_audit_pack(audit_pack.plan_pack(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), demo.trainer)


def test_bad_input_on_the_page_is_answered_in_french_beside_the_field(app, demo):
    web = logged_in(app, "conseil@formaction.example", "conseil-demo-2026")
    answer = web.post("/quality/audit-pack", data={"since": "2026-12-31", "until": "2026-01-01", "sample": "3"})
    assert answer.status_code == 422
    assert "La date de début (31/12/2026) est postérieure à la date de fin (01/01/2026)." in page(answer)
    answer = web.post("/quality/audit-pack", data={"since": "2026-01-01", "until": "2026-12-31",
                                                   "sessions": ["abc"]})
    assert answer.status_code == 422 and "Session invalide : « abc »." in page(answer)
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    board = web.get("/quality/qualiopi")
    assert 'data-field="audit-pack"' in page(board)
