"""backup create / restore: the full demo, backed up and restored into a fresh empty database, comes back
row for row, with the same stored files and intact attendance chains; a non-empty target or a backup that
does not match its manifest is refused."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from trainingmgr import create_app
from trainingmgr.config import normalise_database_url
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile

from tests.cli_support import run_flask
from tests.fixtures.app import Client, base_config, invoke_command


@pytest.fixture
def empty_database(backend, tmp_path):
    """A factory of fresh empty databases of the backend under test (an SQLite file, or a PostgreSQL
    database created on the test server and dropped afterwards)."""
    created = []
    server = make_url(normalise_database_url(os.environ.get("TEST_DATABASE_URL", "postgresql://x/y")))

    def factory() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:8]}.db'}"
        name = f"trainingmgr_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    yield factory
    if created:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def restored_app(empty_database, tmp_path):
    apps = []

    def factory():
        url = empty_database()
        folder = tmp_path / f"restored-{len(apps)}"
        folder.mkdir()
        made = create_app(base_config(url, folder))
        made.test_client_class = Client
        apps.append(made)
        return made

    yield factory
    for made in apps:
        with made.app_context():
            db.session.remove()
            db.engine.dispose()


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, as the driver returns them, in a fixed order (independent of the manifest)."""
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            found = {}
            for name in tables:
                key = inspect(conn).get_pk_constraint(name)["constrained_columns"] or [
                    c["name"] for c in inspect(conn).get_columns(name)]
                order = ", ".join(f'"{c}"' for c in key)
                found[name] = [tuple(row) for row in conn.exec_driver_sql(
                    f'SELECT * FROM "{name}" ORDER BY {order}')]
            return found
    finally:
        engine.dispose()


def _files(root: str) -> dict[str, str]:
    root = Path(root)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def _backup(app, tmp_path) -> Path:
    archive = tmp_path / "sauvegarde.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", "create", "--output", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Sauvegarde écrite" in result.output
    return archive


def test_full_demo_backup_restores_into_an_empty_database(full_demo, restored_app, tmp_path, backend):
    documents = db.session.scalar(select(func.count()).select_from(GeneratedDocument))
    stored = db.session.scalar(select(func.count()).select_from(StoredFile))
    assert documents > 0 and stored > 0  # the demo has generated documents to carry over
    archive = _backup(full_demo, tmp_path)

    with tarfile.open(archive) as handle:
        manifest = json.load(handle.extractfile("manifest.json"))
        names = handle.getnames()
    assert manifest["dialect"] == backend
    assert manifest["alembic_revision"]
    assert manifest["created_at"].endswith("+00:00")
    assert manifest["tables"]["attendance_record"]["rows"] > 0
    assert manifest["tables"]["generated_document"]["rows"] == documents
    assert len(manifest["files"]) >= stored
    assert all(f"files/{name}" in names for name in manifest["files"])

    target = restored_app()
    result = invoke_command(target, "backup", "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "Vérification réussie" in result.output

    # Every table, row for row, and every stored file, byte for byte.
    source_url = full_demo.config["SQLALCHEMY_DATABASE_URI"]
    target_url = target.config["SQLALCHEMY_DATABASE_URI"]
    before, after = _rows(source_url), _rows(target_url)
    assert sorted(before) == sorted(after)
    for name in before:
        assert len(after[name]) == len(before[name]) == manifest["tables"][name]["rows"], name
        assert after[name] == before[name], name
    source_files = _files(full_demo.config["FILES_DIR"])
    assert _files(target.config["FILES_DIR"]) == source_files
    for document in db.session.scalars(select(StoredFile)):
        assert source_files[f"{document.sha256[:2]}/{document.sha256}"] == document.sha256

    verify = invoke_command(target, "attendance", "verify")
    assert verify.exit_code == 0, verify.output
    assert "intègre" in verify.output and "ALTÉRÉE" not in verify.output

    # The append-only triggers came back with the data.
    with target.app_context():
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM attendance_record"))
        db.session.remove()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM attendance_record")).scalar() \
                == manifest["tables"]["attendance_record"]["rows"]


def test_restore_refuses_a_database_that_is_not_empty(full_demo, tmp_path):
    archive = _backup(full_demo, tmp_path)
    before = _rows(full_demo.config["SQLALCHEMY_DATABASE_URI"])
    result = full_demo.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code == 1
    assert "La base cible n'est pas vide" in result.output
    assert "base vide" in result.output
    assert _rows(full_demo.config["SQLALCHEMY_DATABASE_URI"]) == before


def test_restore_reports_a_backup_that_does_not_match_its_manifest(full_demo, restored_app, tmp_path):
    archive = _backup(full_demo, tmp_path)
    tampered = tmp_path / "modifiee.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["tables"]["course"]["rows"] += 1
                manifest["tables"]["trainee"]["sha256"] = "0" * 64
                first = sorted(manifest["files"])[0]
                manifest["files"][first] = "f" * 64
                data = json.dumps(manifest).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    result = invoke_command(restored_app(), "backup", "restore", str(tampered))
    assert result.exit_code == 1
    assert "ÉCART : table course" in result.output
    assert "ÉCART : table trainee : contenu différent" in result.output
    assert f"ÉCART : fichier {first} : SHA-256 différent" in result.output
    assert "Vérification échouée : 3 écarts" in result.output


def test_restore_refuses_what_is_not_a_backup(restored_app, tmp_path, app):
    junk = tmp_path / "pas-une-sauvegarde.tar.gz"
    junk.write_bytes(b"bonjour")
    target = restored_app()
    result = invoke_command(target, "backup", "restore", str(junk))
    assert result.exit_code == 1
    assert result.output == (f"Erreur : Archive de sauvegarde illisible ou tronquée : {junk} "
                             f"(ce n'est pas une archive .tar.gz).\n")
    missing = invoke_command(target, "backup", "restore", str(tmp_path / "absente.tar.gz"))
    assert missing.exit_code == 1
    assert "Fichier introuvable" in missing.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []


def test_restore_refuses_a_path_outside_the_archive(restored_app, tmp_path, app):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as handle:
        for name, data in (("manifest.json", json.dumps({"format": 1, "dialect": db.engine.dialect.name,
                                                          "tables": {}, "database_file": "x"}).encode()),
                           ("../../echappe.txt", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    result = invoke_command(restored_app(), "backup", "restore", str(evil))
    assert result.exit_code == 1
    assert "élément suspect" in result.output
    assert not (tmp_path.parent / "echappe.txt").exists()


def test_keep_deletes_only_the_oldest_archives_of_backup_create(app, tmp_path):
    folder = tmp_path / "sauvegardes"
    folder.mkdir()
    for stamp in ("20261101-021500", "20261102-021500", "20261103-021500"):
        (folder / f"trainingmgr-{stamp}.tar.gz").write_bytes(b"ancienne")
    (folder / "notes.txt").write_text("à garder")
    (folder / "trainingmgr-copie-manuelle.tar.gz").write_bytes(b"x")  # not named by backup create: kept
    result = invoke_command(app, "backup", "create", "--output", str(folder / "trainingmgr-20261125-021500.tar.gz"),
                     "--keep", "2")
    assert result.exit_code == 0, result.output
    assert "ancienne sauvegarde supprimée : trainingmgr-20261101-021500.tar.gz" in result.output
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.txt", "trainingmgr-20261103-021500.tar.gz", "trainingmgr-20261125-021500.tar.gz",
        "trainingmgr-copie-manuelle.tar.gz"]
    refused = invoke_command(app, "backup", "create", "--output", str(folder / "trainingmgr-20261126-021500.tar.gz"),
                      "--keep", "0")
    assert refused.exit_code == 1 and "Indiquez au moins 1 sauvegarde à conserver" in refused.output
    assert not (folder / "trainingmgr-20261126-021500.tar.gz").exists()


# --------------------------------------------------------------------------- damaged archives


def _rewrite(archive: Path, damaged: Path, change) -> None:
    """Copy ``archive`` member by member; ``change(name, data)`` returns new bytes, or None to leave it out."""
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None:
                data = change(member.name, data)
                if data is None:
                    continue
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)


def _flip(data: bytes) -> bytes:
    middle = len(data) * 3 // 4
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


def _manifest(change):
    return lambda name, data: change(data) if name == "manifest.json" else data


# Each case: how the archive is damaged (bytes of the whole file, or member by member) and what the line says.
DAMAGES = {
    "truncated": (lambda data: data[:len(data) // 2], None,
                  "illisible ou tronquée : {path} (le fichier s'arrête avant la fin : copie ou transfert interrompu)"),
    "end-cut": (lambda data: data[:-5], None, "illisible ou tronquée : {path} (le fichier s'arrête avant la fin"),
    "corrupt": (_flip, None, "illisible ou tronquée : {path} ("),
    "zip": (lambda data: b"PK\x03\x04" + b"\x00" * 200, None,
            "illisible ou tronquée : {path} (ce n'est pas une archive .tar.gz)"),
    "empty": (lambda data: b"", None, "illisible ou tronquée : {path} (fichier vide)"),
    "future-format": (None, _manifest(lambda data: json.dumps({**json.loads(data), "format": 2}).encode()),
                      "invalide : {path} : format de sauvegarde 2 inconnu (format 1 attendu)"),
    "no-manifest": (None, lambda name, data: None if name == "manifest.json" else data,
                    "invalide : {path} ne contient pas de manifest.json"),
    "manifest-not-json": (None, _manifest(lambda data: data[:40]), "invalide : {path} : manifest.json illisible"),
    "manifest-a-list": (None, _manifest(lambda data: b"[1, 2]"), "invalide : {path} : manifest.json illisible"),
    "no-database": (None, lambda name, data: None if name.startswith("database.") else data,
                    "illisible ou tronquée : {path} (1 élément décrit par manifest.json absent, "
                    "dont database."),
    "file-missing": (None, lambda name, data: None if name.startswith("files/") else data,
                     " absent, dont files/"),
    "database-damaged": (None, lambda name, data: b"pas une base" * 100 if name.startswith("database.") else data,
                         "illisible ou tronquée : {path} ("),
}


@pytest.fixture
def small_backup(make_app, users, tmp_path) -> Path:
    """A backup of the test database (the four accounts) with one stored file."""
    source = make_app(FILES_DIR=str(tmp_path / "source-files"))
    (tmp_path / "source-files" / "ab").mkdir(parents=True)
    (tmp_path / "source-files" / "ab" / "abcdef").write_bytes(b"un fichier")
    archive = tmp_path / "sauvegarde.tar.gz"
    result = invoke_command(source, "backup", "create", "--output", str(archive))
    assert result.exit_code == 0, result.output
    return archive


def _damage(archive: Path, kind: str) -> Path:
    whole, members, _ = DAMAGES[kind]
    damaged = archive.with_name(f"{kind}.tar.gz")
    if whole:
        damaged.write_bytes(whole(archive.read_bytes()))
    else:
        _rewrite(archive, damaged, members)
    return damaged


def _untouched(target) -> None:
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()
    files = Path(target.config["FILES_DIR"])
    assert not files.exists() or not any(files.iterdir())


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_a_damaged_archive_restores_nothing_and_says_what_is_wrong(small_backup, restored_app, kind):
    damaged = _damage(small_backup, kind)
    target = restored_app()
    result = invoke_command(target, "backup", "restore", str(damaged))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Erreur : Archive de sauvegarde ")
    assert DAMAGES[kind][2].format(path=damaged) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert isinstance(result.exception, SystemExit)  # no traceback, no "Aborted!"
    _untouched(target)


def test_the_real_restore_of_a_truncated_archive(small_backup, empty_database, tmp_path):
    """`flask --app app backup restore` for real, stdin closed as under cron or ssh: one French line and exit
    code 1 where it used to say only "Aborted!" (the gzip stream's EOFError, which click reports so)."""
    truncated = _damage(small_backup, "truncated")
    url = empty_database()
    done = run_flask("backup", "restore", str(truncated), database_url=url, files_dir=tmp_path / "restored-files")
    assert done.returncode == 1
    assert done.stderr == (f"Erreur : Archive de sauvegarde illisible ou tronquée : {truncated} (le fichier s'arrête "
                           f"avant la fin : copie ou transfert interrompu).\n")
    assert "Aborted" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert _rows(url) == {}
    assert not (tmp_path / "restored-files").exists()
    # The intact archive restores into the same database afterwards.
    done = run_flask("backup", "restore", str(small_backup), database_url=url, files_dir=tmp_path / "restored-files")
    assert done.returncode == 0, done.stderr
    assert "Vérification réussie" in done.stdout
    assert (tmp_path / "restored-files" / "ab" / "abcdef").read_bytes() == b"un fichier"


def test_restore_into_an_unreachable_database(small_backup, backend, tmp_path):
    url = (f"sqlite:///{tmp_path / 'absent' / 'trainingmgr.db'}" if backend == "sqlite"
           else "postgresql://trainingmgr:motdepasse-tres-secret@127.0.0.1:1/trainingmgr")
    target = create_app(base_config(url, tmp_path / "cible"))
    result = invoke_command(target, "backup", "restore", str(small_backup))
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : Base de données injoignable : ")
    assert "motdepasse-tres-secret" not in result.output
    assert isinstance(result.exception, SystemExit)
