"""No orphan file on disk (issue 22): a stored file keeps a temporary name until the transaction that adds its row
commits (files/staging.py); a rollback — of the transaction or of a savepoint — removes it; what a killed process
leaves is removed by ``flask files sweep`` and hourly by the worker (files/sweep.py)."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from trainingmgr.core.formatting import size_fr
from trainingmgr.documents import services as documents
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.files import sweep as sweep_module
from trainingmgr.files.models import StoredFile
from trainingmgr.files.services import path_for, store_bytes
from trainingmgr.files.sweep import sweep
from trainingmgr.messaging import services as messaging
from trainingmgr.messaging.models import Job

from tests.cli_support import ROOT, flask_env, run_flask

HOUR = 3600


@pytest.fixture
def app(make_app, tmp_path, monkeypatch):
    """The shared application with a store of its own (the sweep sees only this test's files)."""
    made = make_app()
    monkeypatch.setitem(made.config, "FILES_DIR", str(tmp_path / "files"))
    with made.app_context():
        yield made
        db.session.remove()


def root(app) -> Path:
    return Path(app.config["FILES_DIR"])


def on_disk(app) -> list[str]:
    """Every file of the store, by name."""
    return sorted(p.name for p in root(app).rglob("*") if p.is_file())


def pdf(label: str) -> bytes:
    return b"%PDF-1.4\n% " + label.encode() + b" " + os.urandom(16).hex().encode() + b"\n%%EOF\n"


def final(app, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return root(app) / digest[:2] / digest


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


# --------------------------------------------------------------------------- one transaction


def test_a_rollback_leaves_no_file(app):
    data = pdf("rollback")
    stored = store_bytes(data, "a.pdf", "document")
    staged = path_for(stored)
    assert staged.name.endswith(".part") and staged.parent == final(app, data).parent
    assert staged.read_bytes() == data and not final(app, data).exists()
    db.session.rollback()
    assert on_disk(app) == []


def test_a_commit_moves_it_in_place(app):
    data = pdf("commit")
    stored = store_bytes(data, "a.pdf", "document")
    db.session.commit()
    assert on_disk(app) == [final(app, data).name]
    assert path_for(stored) == final(app, data) and final(app, data).read_bytes() == data


def test_a_session_closed_without_commit_leaves_no_file(app):
    store_bytes(pdf("closed"), "a.pdf", "document")
    db.session.remove()  # what Flask does at the end of a request that did not commit
    assert on_disk(app) == []


def test_a_flush_that_fails_at_commit_leaves_no_file(app):
    store_bytes(pdf("flush"), "a.pdf", "document")
    db.session.add(StoredFile(original_name=None, content_type="x", size=1, sha256="0" * 64, kind="document"))
    with pytest.raises(Exception):  # noqa: B017 - NOT NULL: IntegrityError on either database
        db.session.commit()
    db.session.rollback()
    assert on_disk(app) == []


def test_content_already_stored_is_not_written_again_nor_lost(app):
    data = pdf("twice")
    store_bytes(data, "a.pdf", "document")
    db.session.commit()
    target = final(app, data)
    age(target, 2 * HOUR)
    again = store_bytes(data, "b.pdf", "document")
    staged = path_for(again)
    assert staged != target and os.path.samefile(staged, target)  # a hard link, nothing written
    assert target.stat().st_mtime > time.time() - 60  # young again: the sweep leaves it to this transaction
    assert path_for(store_bytes(data, "c.pdf", "document")) == staged  # twice in one transaction: one file
    db.session.rollback()
    assert on_disk(app) == [target.name] and target.read_bytes() == data  # a committed row names it
    store_bytes(data, "d.pdf", "document")
    db.session.commit()
    assert on_disk(app) == [target.name] and target.stat().st_nlink == 1


def test_a_damaged_final_file_is_rewritten_at_the_commit(app):
    data = pdf("damaged")
    store_bytes(data, "a.pdf", "document")
    db.session.commit()
    final(app, data).write_bytes(b"%PDF-altered")
    stored = store_bytes(data, "b.pdf", "document")
    assert path_for(stored).read_bytes() == data
    db.session.commit()
    assert final(app, data).read_bytes() == data and on_disk(app) == [final(app, data).name]


# --------------------------------------------------------------------------- savepoints


def test_a_savepoint_rollback_keeps_the_outer_files(app):
    outer, dropped, released = pdf("outer"), pdf("dropped"), pdf("released")
    store_bytes(outer, "outer.pdf", "document")
    savepoint = db.session.begin_nested()
    store_bytes(dropped, "dropped.pdf", "document")
    store_bytes(outer, "outer-again.pdf", "document")  # the outer transaction's file, named again inside
    savepoint.rollback()
    assert len(on_disk(app)) == 1 and on_disk(app)[0].startswith(final(app, outer).name)
    with db.session.begin_nested():
        store_bytes(released, "released.pdf", "document")
    db.session.commit()
    assert on_disk(app) == sorted([final(app, outer).name, final(app, released).name])


def test_a_released_savepoint_s_files_go_with_the_outer_rollback(app):
    with db.session.begin_nested():
        store_bytes(pdf("inner"), "inner.pdf", "document")
    db.session.rollback()
    assert on_disk(app) == []


def test_a_job_put_off_leaves_no_file_and_a_done_job_keeps_its_own(app, monkeypatch):
    """The job runner runs a handler in a savepoint, rolled back alone when the job is put off."""
    kept, dropped = pdf("job done"), pdf("job put off")

    def handler(payload):
        store_bytes(kept if payload["ok"] else dropped, "job.pdf", "document")
        if not payload["ok"]:
            raise messaging.Postpone(messaging.utcnow() + dt.timedelta(days=1), "plus tard")

    monkeypatch.setitem(messaging._JOB_HANDLERS, "test_store_file", handler)
    now = messaging.utcnow()
    messaging.schedule_job("test_store_file", "orphans:ok", now, {"ok": True})
    messaging.schedule_job("test_store_file", "orphans:later", now, {"ok": False})
    db.session.commit()
    messaging.run_due_jobs(now)
    assert on_disk(app) == [final(app, kept).name]
    assert {job.key: job.status for job in db.session.scalars(select(Job))} == {
        "orphans:ok": "done", "orphans:later": "pending"}


# --------------------------------------------------------------------------- the pack: read before the commit


def test_a_pack_zips_documents_generated_in_its_own_transaction(app, demo):  # noqa: F811
    import io
    import zipfile

    db.session.commit()
    before = set(on_disk(app))
    generated = [documents.generate(doc_type, demo.dume, demo.advisor, enrolment=enrolment, company=company,
                                    pdf=False)
                 for doc_type, enrolment, company in documents.pack_subjects(demo.dume)]
    assert len(generated) >= 3
    assert all(path_for(d.docx_file).name.endswith(".part") for d in generated)  # not committed yet
    archive = zipfile.ZipFile(io.BytesIO(documents.zip_documents(generated)))
    assert {hashlib.sha256(archive.read(f"{d.number}.docx")).hexdigest() for d in generated} == {
        d.docx_sha256 for d in generated}
    db.session.commit()
    assert set(on_disk(app)) - before == {d.docx_sha256 for d in generated}
    assert all(documents.read_file(d, "docx") for d in generated)


def test_a_pack_rolled_back_leaves_no_file(app, demo):  # noqa: F811
    db.session.commit()
    before = on_disk(app)
    for doc_type, enrolment, company in documents.pack_subjects(demo.dume):
        documents.generate(doc_type, demo.dume, demo.advisor, enrolment=enrolment, company=company, pdf=False)
    assert len(on_disk(app)) > len(before)
    db.session.rollback()
    assert on_disk(app) == before


# --------------------------------------------------------------------------- the sweep


def _store_tree(app):
    """An old temporary file, an old and a young orphan, an old file with its row, and things that are not the
    store's: all but the first two stay."""
    named = pdf("named")
    store_bytes(named, "named.pdf", "document")
    db.session.commit()
    old_orphan, young_orphan = pdf("old orphan"), pdf("young orphan")
    for data in (old_orphan, young_orphan):
        final(app, data).parent.mkdir(parents=True, exist_ok=True)
        final(app, data).write_bytes(data)
    temporary = final(app, old_orphan).with_name(final(app, old_orphan).name + ".0123abcd.part")
    temporary.write_bytes(b"half")
    old_tmp = final(app, young_orphan).with_name(final(app, young_orphan).name + ".tmp")  # older versions' name
    old_tmp.write_bytes(b"old")
    strangers = [root(app) / "notes.txt", root(app) / "backups" / ("a" * 64),
                 root(app) / "ab" / ("cd" + "0" * 62), root(app) / "ab" / "readme"]
    for path in strangers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not the store's")
    link = root(app) / "ef" / ("ef" + "1" * 62)
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(root(app) / "notes.txt")
    for path in [final(app, named), final(app, old_orphan), temporary, old_tmp, *strangers]:
        age(path, 2 * HOUR)
    removed = [final(app, old_orphan), temporary, old_tmp]
    kept = [final(app, named), final(app, young_orphan), *strangers, link]
    return removed, kept, len(old_orphan) + len(b"half") + len(b"old")


def test_the_sweep_removes_only_old_temporary_and_unnamed_files(app):
    removed, kept, size = _store_tree(app)
    swept = sweep()
    assert sorted(swept.paths) == sorted(removed)
    assert (swept.temporary, swept.orphans, swept.size) == (2, 1, size)
    assert swept.summary() == f"3 fichiers orphelins supprimés ({size} o) : 2 temporaires, 1 sans ligne en base."
    assert not any(p.exists() for p in removed) and all(p.exists() or p.is_symlink() for p in kept)
    assert sweep().summary() == "Aucun fichier orphelin."


def test_the_sweep_command(app):
    removed, kept, size = _store_tree(app)
    result = app.test_cli_runner().invoke(args=["files", "sweep", "--older-than", "180"])
    assert result.exit_code == 0
    assert result.output == "Aucun fichier de traitement à supprimer.\nAucun fichier orphelin.\n"
    result = app.test_cli_runner().invoke(args=["files", "sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("3 fichiers orphelins supprimés (")
    assert sum("supprimé : " in line for line in result.output.splitlines()) == 3
    young = kept[1].stat().st_size
    result = app.test_cli_runner().invoke(args=["files", "sweep", "--older-than", "0"])  # any age: the young orphan
    assert result.output.splitlines()[-1] == f"1 fichier orphelin supprimé ({young} o) : 1 sans ligne en base."
    assert not kept[1].exists() and kept[0].exists()
    refused = app.test_cli_runner().invoke(args=["files", "sweep", "--older-than", "-5"])
    assert refused.exit_code == 1 and refused.output.startswith("Erreur : Indiquez un nombre de minutes")


def test_sizes_in_french():
    assert [size_fr(n) for n in (512, 12_595, 1_258_291, 3 << 30)] == [
        "512 o", "12,3 Ko", "1,2 Mo", "3 Go"]


def test_the_worker_sweeps_once_an_hour(app, monkeypatch):
    monkeypatch.setattr(sweep_module, "_last_sweep", {})
    first, second = pdf("first"), pdf("second")
    for data in (first, second):
        final(app, data).parent.mkdir(parents=True, exist_ok=True)
    final(app, first).write_bytes(first)
    age(final(app, first), 2 * HOUR)
    messaging.tick()
    assert not final(app, first).exists()
    final(app, second).write_bytes(second)
    age(final(app, second), 2 * HOUR)
    messaging.tick()
    assert final(app, second).exists()  # within the hour: not again


# --------------------------------------------------------------------------- a process killed in the middle

CHILD = """
import sys, time
from trainingmgr import create_app
from trainingmgr.accounts.services import get_user_by_email
from trainingmgr.documents import services
from trainingmgr.extensions import db
from trainingmgr.sessions.models import TrainingSession

app = create_app()
with app.app_context():
    session = db.session.get(TrainingSession, int(sys.argv[1]))
    actor = get_user_by_email("conseil@formaction.example")
    committed = int(sys.argv[2])
    for number, (doc_type, enrolment, company) in enumerate(services.pack_subjects(session)):
        services.generate(doc_type, session, actor, enrolment=enrolment, company=company, pdf=False)
        if number < committed:
            db.session.commit()
        print(number, flush=True)
    time.sleep(120)  # killed before it ever commits the rest
"""


def test_a_process_killed_while_generating_leaves_only_temporary_files(app, demo):  # noqa: F811
    committed = 2
    subjects = len(documents.pack_subjects(demo.dume))
    session_id = demo.dume.id
    db.session.commit()
    db.session.remove()
    url = db.engine.url.render_as_string(hide_password=False)
    env = {**flask_env(url, root(app)), "PDF_CONVERTER": "none"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(session_id), str(committed)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(subjects):  # every document generated, the last ones not committed
            line = child.stdout.readline()
            assert line, child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    rows = set(db.session.scalars(select(StoredFile.sha256)))
    documents_left = list(db.session.scalars(select(GeneratedDocument)))
    assert len(documents_left) == committed
    files = [p for p in root(app).rglob("*") if p.is_file()]
    temporary = [p for p in files if p.name.endswith(".part")]
    assert len(temporary) == subjects - committed
    assert {p.name for p in files if p not in temporary} <= rows  # no final file without its row
    done = run_flask("files", "sweep", "--older-than", "0", database_url=url, files_dir=root(app))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith(f"{len(temporary)} fichiers orphelins supprimés (")
    assert not any(p.exists() for p in temporary)
    for document in documents_left:
        assert hashlib.sha256(documents.read_file(document, "docx")).hexdigest() == document.docx_sha256
