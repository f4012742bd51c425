"""The sealed register (issue 17): whoever writes to the database without the sealing key cannot rewrite the
chain unseen, even by recomputing every hash with the project's own function; seals are due at each
countersignature and at the end of a session; keys rotate and old seals still verify; a restored database
verifies with its key directory; RFC 3161 tokens from a local TSA are stored and checked; the attendance sheet
pins the sealed head with its check code, and the public check page says whether the register still holds it."""
from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text

from trainingmgr.attendance import seals
from trainingmgr.attendance.chain import record_hash, verify_chain
from trainingmgr.attendance.models import AttendanceChain, AttendanceRecord, AttendanceSeal
from trainingmgr.core import sealkeys
from trainingmgr.documents import services as documents
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job
from trainingmgr.messaging.services import run_due_jobs
from trainingmgr.ops.readiness import problems

from tests.attendance.support import link, slots
from tests.fixtures.attendance import bypass_guard
from tests.helpers import page


def _verify(app, session_id=None):
    args = ["attendance", "verify"] + ([str(session_id)] if session_id else [])
    return app.test_cli_runner().invoke(args=args)


def _morning(client, trainer, klass, clock):
    """Julie signs at 09:00, Paul at 09:12; the trainer records Paul's late arrival, then countersigns at
    12:31 (a seal); Julie signs the afternoon at 13:40 (not sealed yet)."""
    session, (julie, paul, _) = klass
    morning, afternoon = slots(session)
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    clock.at("09:12")
    client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
    trainer.post(f"/attendance/slots/{morning.id}/marks/{paul.id}", data={"presence": "present", "arrived_at": "09:12"})
    clock.at("12:31")
    response = trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur"})
    assert response.status_code == 302, page(response)
    clock.at("13:40")
    client.post(link(julie, afternoon), data={"typed_name": julie.trainee.full_name})
    db.session.commit()
    return session


def _forge(backend, session_id: int, seq: int, **changes) -> None:
    """The attack of the issue: change one record straight in the database, then recompute its hash and every
    later one with the project's own function, and the chain's head, so that the chain alone still verifies."""
    bypass_guard(backend)
    records = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
                                 .order_by(AttendanceRecord.seq)).all()
    previous = None
    for record in records:
        if record.seq == seq:
            for name, value in changes.items():
                setattr(record, name, value)
        if record.seq >= seq:
            if previous is not None:
                record.prev_hash = previous
            record.hash = record_hash(record)
        previous = record.hash
    db.session.get(AttendanceChain, session_id).head_hash = previous
    db.session.commit()


# --------------------------------------------------------------------------- the forged chain


def test_a_countersignature_seals_the_head_with_the_key(app, client, trainer, klass, clock):
    session = _morning(client, trainer, klass, clock)
    (seal,) = seals.seals_of(session.id)
    assert (seal.scope, seal.from_seq, seal.length) == ("slot", 1, 4)
    key = sealkeys.active_key()
    assert seal.key_id == key.id and seal.head_hash == seal.hashes[-1]
    # Anyone can check it with the public key alone.
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(base64.b64decode(seal.signature),
                                                              seals.seal_message(seal))
    result = _verify(app, session.id)
    assert result.exit_code == 0, result.output
    assert ("intègre (5 enregistrements) ; scellé jusqu'à l'enregistrement n° 4 (1 scellement, 0 horodaté) ; "
            "1 enregistrement postérieur pas encore scellé.") in result.output


def test_the_forged_late_arrival_fails_verify_naming_the_row(app, client, trainer, klass, clock, backend):
    import datetime as dt

    session = _morning(client, trainer, klass, clock)
    mark = db.session.scalar(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id,
                                                            AttendanceRecord.kind == "presence"))
    assert mark.arrived_at == dt.time(9, 12)
    _forge(backend, session.id, mark.seq, arrived_at=dt.time(8, 25))
    check = verify_chain(session.id)
    assert not check.ok and (check.broken_seq, check.broken_id) == (mark.seq, mark.id)
    result = _verify(app, session.id)
    assert result.exit_code == 1
    assert (f"Session {session.id} : ALTÉRÉE – enregistrement n° {mark.seq} (id {mark.id}) : son empreinte ne "
            "correspond plus à celle du scellement n° 1") in result.output
    assert "modifié après le scellement" in result.output
    assert _verify(app).exit_code == 1


def test_rewriting_the_seal_too_breaks_its_signature(app, client, trainer, klass, clock, backend):
    import datetime as dt

    session = _morning(client, trainer, klass, clock)
    _forge(backend, session.id, 3, arrived_at=dt.time(8, 25))
    seal = seals.seals_of(session.id)[0]
    records = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
                                 .order_by(AttendanceRecord.seq)).all()
    seal.hashes = [r.hash for r in records[:4]]
    seal.head_hash = records[3].hash
    db.session.commit()
    result = _verify(app, session.id)
    assert result.exit_code == 1
    assert "scellement n° 1 (signature du formateur)" in result.output
    assert "signature invalide pour la clé" in result.output


def test_a_seal_made_with_another_key_is_refused(app, client, trainer, klass, clock, backend, tmp_path):
    """The attacker seals the forged chain with a key of their own: the ring outside the database does not
    know it."""
    import datetime as dt

    session = _morning(client, trainer, klass, clock)
    _forge(backend, session.id, 3, arrived_at=dt.time(8, 25))
    own, _ = sealkeys.create_key(tmp_path / "attacker")
    seal = seals.seals_of(session.id)[0]
    records = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
                                 .order_by(AttendanceRecord.seq)).all()
    seal.hashes, seal.head_hash, seal.key_id = [r.hash for r in records[:4]], records[3].hash, own.id
    seal.signature = sealkeys.active_signer(tmp_path / "attacker").sign(seals.seal_message(seal))
    db.session.commit()
    result = _verify(app, session.id)
    assert result.exit_code == 1 and f"clé de scellement {own.id} inconnue du trousseau" in result.output


def test_a_removed_seal_is_a_seal_missing_where_one_is_due(app, client, trainer, klass, clock, backend):
    session = _morning(client, trainer, klass, clock)
    counter = db.session.scalar(select(AttendanceRecord).where(AttendanceRecord.kind == "countersignature"))
    db.session.execute(text("DELETE FROM attendance_seal"))
    db.session.commit()
    result = _verify(app, session.id)
    assert result.exit_code == 1
    assert (f"enregistrement n° {counter.seq} (id {counter.id}) : scellement manquant : la signature du formateur "
            f"(enregistrement n° {counter.seq}) n'est couverte par aucun scellement") in result.output


def test_an_ended_session_is_sealed_whole_and_so_is_a_later_correction(app, client, advisor, trainer, klass,
                                                                          clock):
    from trainingmgr.messaging.services import tick

    session = _morning(client, trainer, klass, clock)
    tick(clock.at("17:45"))  # the worker ends the session
    db.session.expire_all()
    assert session.status == "completed"
    assert [(s.scope, s.length) for s in seals.seals_of(session.id)] == [("slot", 4), ("session", 5)]
    _, (julie, paul, sarah) = klass
    afternoon = slots(session)[1]
    clock.at("18:00")
    response = advisor.post(f"/attendance/slots/{afternoon.id}/corrections/{sarah.id}",
                            data={"presence": "present", "reason": "Feuille papier signée, scannée"})
    assert response.status_code in (200, 302), page(response)
    db.session.commit()
    assert [(s.scope, s.length) for s in seals.seals_of(session.id)] == [("slot", 4), ("session", 5),
                                                                          ("session", 6)]
    assert verify_chain(session.id).ok
    # Without the last seal, the ended session's chain is not covered: verification says so.
    db.session.execute(text("DELETE FROM attendance_seal WHERE length = 6"))
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and check.broken_seq == 6
    assert "scellement de fin de session manquant : les enregistrements n° 6 à 6" in check.problem


# --------------------------------------------------------------------------- keys


@pytest.fixture
def own_keys(app, monkeypatch, tmp_path):
    """A key directory of this test's own (the run's shared one stays untouched)."""
    import datetime as dt

    directory = tmp_path / "keys"
    sealkeys.create_key(directory, now=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    monkeypatch.setitem(app.config, "SEAL_KEY_DIR", str(directory))
    return directory


def test_rotation_keeps_old_seals_verifiable(app, client, trainer, klass, clock, own_keys, monkeypatch):
    for module in ("trainingmgr.core.sealkeys", "trainingmgr.attendance.seals"):
        monkeypatch.setattr(f"{module}.utcnow", clock)  # the rotation and the seals happen on the test's Monday
    session = _morning(client, trainer, klass, clock)
    first = sealkeys.active_key()
    old_private = (own_keys / f"{first.id}.key").read_bytes()
    result = app.test_cli_runner().invoke(args=["attendance", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert f"Clé {first.id} close ; sa clé privée est détruite" in result.output
    assert not (own_keys / f"{first.id}.key").exists()
    second = sealkeys.active_key()
    assert second.id != first.id
    afternoon = slots(session)[1]
    clock.at("17:35")
    trainer.post(f"/attendance/slots/{afternoon.id}/countersign", data={"typed_name": "Pierre Formateur"})
    db.session.commit()
    assert [s.key_id for s in seals.seals_of(session.id)] == [first.id, second.id]
    assert _verify(app, session.id).exit_code == 0
    listing = app.test_cli_runner().invoke(args=["attendance", "keys"]).output
    assert f"{first.id} : du 01/01/2020" in listing and f"{second.id} (active)" in listing
    # The old private key, had it leaked, cannot seal after its end: the seal falls outside its validity.
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    seal = seals.seals_of(session.id)[1]
    seal.key_id = first.id
    seal.signature = base64.b64encode(load_pem_private_key(old_private, None).sign(
        seals.seal_message(seal))).decode()
    db.session.commit()
    result = _verify(app, session.id)
    assert result.exit_code == 1 and f"daté d'un moment où la clé {first.id} n'était pas en service" in result.output


def test_keygen_is_idempotent_and_a_tampered_ring_is_refused(app, own_keys):
    key = sealkeys.active_key()
    result = app.test_cli_runner().invoke(args=["attendance", "keygen"])
    assert result.exit_code == 0 and f"Clé de scellement active : {key.id}" in result.output
    ring = json.loads((own_keys / "keyring.json").read_text())
    ring["keys"][0]["public_key"] = base64.b64encode(b"\x01" * 32).decode()
    (own_keys / "keyring.json").write_text(json.dumps(ring))
    result = app.test_cli_runner().invoke(args=["attendance", "verify"])
    assert result.exit_code == 1
    assert "est altéré : la clé" in result.output and "Traceback" not in result.output


def test_an_unwritable_key_directory_is_one_french_line(app, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setitem(app.config, "SEAL_KEY_DIR", str(blocker / "keys"))
    for command in ("keygen", "rotate-key"):
        result = app.test_cli_runner().invoke(args=["attendance", command])
        assert result.exit_code == 1
        assert result.output.startswith("Erreur : Le ") and "des clés de scellement (" in result.output
        assert len(result.output.strip().splitlines()) == 1 and isinstance(result.exception, SystemExit)


def test_without_a_key_signatures_are_kept_and_the_missing_seal_shows(app, client, trainer, klass, clock,
                                                                     monkeypatch, tmp_path, caplog):
    monkeypatch.setitem(app.config, "SEAL_KEY_DIR", str(tmp_path / "none"))
    assert any("Aucune clé de scellement des registres" in p for p in problems(app))
    with caplog.at_level(logging.ERROR, logger="trainingmgr.attendance"):
        session = _morning(client, trainer, klass, clock)
    assert "aucune clé de scellement" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(AttendanceRecord)) == 5  # nothing lost
    assert seals.seals_of(session.id) == []
    assert _verify(app, session.id).exit_code == 1
    runner = app.test_cli_runner()
    assert runner.invoke(args=["attendance", "seal"]).exit_code == 1  # no key yet: said, nothing sealed
    assert runner.invoke(args=["attendance", "keygen"]).exit_code == 0
    assert problems(app) == []
    result = runner.invoke(args=["attendance", "seal"])
    assert result.exit_code == 0 and f"Session {session.id} : scellée jusqu'à l'enregistrement n° 5." in result.output
    assert [s.scope for s in seals.seals_of(session.id)] == ["catchup"]
    assert _verify(app, session.id).exit_code == 0
    assert "Rien à sceller" in runner.invoke(args=["attendance", "seal"]).output


# --------------------------------------------------------------------------- backups


def test_a_restored_database_verifies_with_its_key_directory_only(app, client, trainer, klass, clock, tmp_path,
                                                                   make_app, backend):
    """The backup says the key directory is saved apart; a database restored with it verifies, without it the
    restore and verify name the missing key."""
    from tests.fixtures.app import invoke_command

    if backend == "postgresql":
        pytest.skip("the restore into a fresh database is tested on both backends in tests/ops/test_backup.py; "
                    "here SQLite suffices to show the key directory's part")
    session = _morning(client, trainer, klass, clock)
    archive = tmp_path / "sauvegarde.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", "create", "--output", str(archive)])
    assert result.exit_code == 0 and "Sauvegardez à part le répertoire SEAL_KEY_DIR" in result.output
    key = sealkeys.active_key()
    for keys, expect in ((app.config["SEAL_KEY_DIR"], 0), (str(tmp_path / "lost-keys"), 1)):
        target = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / f'restored-{expect}.db'}",
                          FILES_DIR=str(tmp_path / f"files-{expect}"), SEAL_KEY_DIR=keys)
        restored = invoke_command(target, "backup", "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert (f"clé de scellement {key.id} absente" in restored.output) == bool(expect)
        verify = invoke_command(target, "attendance", "verify", str(session.id))
        assert verify.exit_code == expect, verify.output
        if expect:
            assert f"clé de scellement {key.id} inconnue du trousseau" in verify.output
        with target.app_context():
            db.engine.dispose()


# --------------------------------------------------------------------------- timestamps


@pytest.fixture
def with_tsa(app, monkeypatch, local_tsa):
    monkeypatch.setitem(app.config, "TSA_URL", local_tsa.url)
    monkeypatch.setitem(app.config, "TSA_CA_FILE", local_tsa.ca_file)
    return local_tsa


def test_each_seal_gets_an_rfc3161_token_that_verify_checks(app, client, trainer, klass, clock, with_tsa):
    session = _morning(client, trainer, klass, clock)
    (seal,) = seals.seals_of(session.id)
    job = db.session.scalar(select(Job).where(Job.kind == "attendance_timestamp"))
    assert job.payload == {"seal_id": seal.id}
    result = _verify(app, session.id)
    assert result.exit_code == 0 and "pas encore horodaté" in result.output
    assert run_due_jobs() == (1, 0)
    db.session.expire_all()
    seal = seals.seals_of(session.id)[0]
    assert seal.tsa_token and seal.tsa_time is not None and with_tsa.requests == 1
    result = _verify(app, session.id)
    assert result.exit_code == 0 and "1 horodaté)" in result.output and "attention" not in result.output
    assert seals.check_seals(session.id, db.session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.session_id == session.id).order_by(AttendanceRecord.seq)).all()).views[0].timestamp \
        .startswith("horodaté le ")
    # A token altered, or over another signature, fails the check.
    token = bytearray(seal.tsa_token)
    token[-20] ^= 0xFF
    seal.tsa_token = bytes(token)
    db.session.commit()
    result = _verify(app, session.id)
    assert result.exit_code == 1 and "jeton d'horodatage invalide" in result.output


def test_a_tsa_that_fails_leaves_the_seal_and_the_job_retries(app, client, trainer, klass, clock, with_tsa):
    with_tsa.fail_with(503)
    session = _morning(client, trainer, klass, clock)
    assert run_due_jobs() == (0, 1)
    job = db.session.scalar(select(Job).where(Job.kind == "attendance_timestamp"))
    assert job.status == "pending" and "HTTP 503" in job.last_error  # retried later
    assert _verify(app, session.id).exit_code == 0  # sealed; only the timestamp is pending


# --------------------------------------------------------------------------- the sheet and the check page


def test_the_sheet_pins_the_sealed_head_and_the_check_page_follows_it(app, client, advisor, trainer, klass, clock,
                                                                     backend, world):
    import datetime as dt

    from tests.documents.support import docx_text

    session = _morning(client, trainer, klass, clock)
    session.status = "in_progress"  # the sheet is issued once the session has started
    db.session.commit()
    document = documents.generate("attendance_sheet", session, world.users["advisor"], pdf=False)
    db.session.commit()
    sealed = document.context["sheet"]["seal"]
    last = seals.seals_of(session.id)[-1]
    assert (last.scope, last.length) == ("document", 5)  # issuing the sheet sealed the afternoon's signature
    assert sealed["head"] == last.head_hash and sealed["length"] == 5
    body = docx_text(documents.read_file(document, "docx"))
    code = document.context["verification"]["code"]
    assert last.head_hash in body and code in body and sealkeys.active_key().text in body
    assert "Ce que cela prouve" in body and "rend toute modification ultérieure détectable" not in body
    response = client.get(f"/verification/{code}")
    assert response.status_code == 200
    shown = page(response)
    assert "contient toujours l'état scellé que porte cette feuille" in shown and last.head_hash in shown
    assert sealkeys.active_key().text in shown
    for enrolment in klass[1]:
        assert enrolment.trainee.last_name not in shown  # no personal data on the public page
    # The proof verifies offline with the public key alone.
    proof = client.get(f"/verification/{code}/scellement.json").get_json()
    message = proof["message"].encode()
    Ed25519PublicKey.from_public_bytes(base64.b64decode(proof["public_key"])).verify(
        base64.b64decode(proof["signature"]), message)
    assert json.loads(message)["head_hash"] == last.head_hash
    # Once the register is forged, the same copy of the sheet no longer matches.
    _forge(backend, session.id, 3, arrived_at=dt.time(8, 25))
    shown = page(client.get(f"/verification/{code}"))
    assert "Attention : le registre ne se vérifie plus (enregistrement n° 3" in shown
    assert client.get("/verification/ABCD-EFGH-JKMN/scellement.json").status_code == 404


def test_the_register_page_lists_the_seals(advisor, client, trainer, klass, clock):
    session = _morning(client, trainer, klass, clock)
    body = page(advisor.get(f"/attendance/sessions/{session.id}/verify"))
    assert 'data-field="seals"' in body and "signature du formateur" in body
    assert "scellé jusqu'à l'enregistrement n° 4" in body
    assert re.search(r"n° 1 à 4", body)


def test_the_sheet_pdf_carries_the_head_and_the_code(make_app, client, trainer, klass, clock, world):
    import os
    import subprocess

    from trainingmgr.documents.conversion import pdf as converter

    session = _morning(client, trainer, klass, clock)
    session.status = "in_progress"
    db.session.commit()
    app = make_app(PDF_CONVERTER="auto")
    with app.app_context():
        if not converter.available():
            if os.environ.get("SKIP_OFFICE_TESTS") == "1":
                pytest.skip("SKIP_OFFICE_TESTS=1")
            pytest.fail("LibreOffice is missing: run `make office` (or SKIP_OFFICE_TESTS=1 to leave PDF out).")
        try:
            document = documents.generate("attendance_sheet", db.session.merge(session),
                                          db.session.merge(world.users["advisor"]))
            db.session.commit()
            assert document.pdf_file_id, "no PDF made"
            pdf = documents.read_file(document, "pdf")
            key = sealkeys.active_key().text
        finally:
            converter.shutdown()  # the converter is per process: leave none running for the other tests
    shown = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    flat = re.sub(r"\s+", "", shown.decode())
    assert document.context["sheet"]["seal"]["head"] in flat
    assert document.context["verification"]["code"] in flat
    assert key in flat


def test_a_seal_row_count_stays_one_per_length(app, client, trainer, klass, clock):
    session = _morning(client, trainer, klass, clock)
    assert seals.seal(session.id, "document") is not None
    again = seals.seal(session.id, "document")
    assert again.length == 5
    assert db.session.scalar(select(func.count()).select_from(AttendanceSeal)) == 2
    assert Path(app.config["SEAL_KEY_DIR"]).is_dir()
