"""Backups: one .tar.gz holding a consistent copy of the database, the stored files and a manifest.

SQLite is copied through the online backup API (``sqlite3.Connection.backup``), PostgreSQL through
``pg_dump --format=custom`` run on a snapshot exported from a REPEATABLE READ transaction: the manifest's
row counts and content hashes are computed in that same transaction (on SQLite, on the copy), so they
describe exactly what the archive holds, even while the application keeps writing.

A restore goes only into an empty database of the same dialect (no cross-dialect restore): SQLite through
the backup API again, PostgreSQL through ``pg_restore --single-transaction``. Neither updates nor deletes a
row, so the append-only triggers (attendance/guard.py) are restored with the data without being tripped.
The stored files are copied back into FILES_DIR, then everything is checked against the manifest.
"""
from __future__ import annotations

import datetime as dt
import decimal
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from ..core.formatting import count_fr, number_fr, plural_fr
from ..core.timeutil import utcnow
from ..extensions import db
from ..files.staging import is_temporary

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRESQL_MEMBER = "database.pgdump"
FILES_PREFIX = "files/"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is French and meant for the operator."""


@dataclass
class Check:
    """The result of comparing a database and a files directory with a manifest."""
    tables: int = 0
    rows: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- digests


def _plain(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "b:" + bytes(value).hex()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def table_digests(conn: Connection) -> dict[str, dict]:
    """Every table of the database (alembic_version included): its row count and the SHA-256 of its rows,
    read in primary-key order (all columns when it has none) and written as JSON."""
    metadata = MetaData()
    metadata.reflect(conn)
    digests = {}
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        count = 0
        result = conn.execute(select(*table.columns).order_by(*order))
        for row in result:
            digest.update(json.dumps(list(row), default=_plain, sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
            count += 1
        digests[name] = {"rows": count, "sha256": digest.hexdigest()}
    return digests


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by path relative to it (with /), but the temporary files of
    transactions in flight (files/staging.py: they are removed or renamed at their commit)."""
    digests = {}
    if not root.is_dir():
        return digests
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not is_temporary(path.name):
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                    digest.update(chunk)
            digests[path.relative_to(root).as_posix()] = digest.hexdigest()
    return digests


def _alembic_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# --------------------------------------------------------------------------- database helpers


def _engine() -> Engine:
    return db.engine


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("Base SQLite en mémoire : rien à sauvegarder ni à restaurer sur disque.")
    return database


def _libpq(engine: Engine) -> tuple[list[str], dict]:
    """pg_dump / pg_restore connection arguments, and the environment carrying the password."""
    url = engine.url
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    sslmode = url.query.get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode if isinstance(sslmode, str) else sslmode[0]
    return args, env


def _run(command: list[str], env: dict, what: str) -> None:
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"Commande « {command[0]} » introuvable : installez les outils clients PostgreSQL "
                          f"(paquet postgresql-client).") from None
    if completed.returncode != 0:
        raise BackupError(f"Échec de {what} : {completed.stderr.strip() or completed.returncode}")


# --------------------------------------------------------------------------- create


def default_output() -> Path:
    folder = Path(current_app.instance_path) / "backups"
    return folder / f"trainingmgr-{utcnow().strftime('%Y%m%d-%H%M%S')}.tar.gz"


ARCHIVE_NAME = re.compile(r"^trainingmgr-\d{8}-\d{6}\.tar\.gz$")


def prune_backups(folder: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest archives named as ``backup create`` names them
    (trainingmgr-AAAAMMJJ-HHMMSS.tar.gz) in ``folder``; any other file is left alone. Returns the deleted ones."""
    if keep < 1:
        raise BackupError("Indiquez au moins 1 sauvegarde à conserver.")
    archives = sorted((p for p in Path(folder).iterdir() if p.is_file() and ARCHIVE_NAME.match(p.name)),
                      key=lambda p: p.name, reverse=True)  # the name's timestamp orders them
    deleted = archives[keep:]
    for path in deleted:
        path.unlink()
    return deleted


def create_backup(output: str | os.PathLike | None = None) -> tuple[Path, dict]:
    """Write the backup archive; return its path and its manifest."""
    engine = _engine()
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"Base « {dialect} » non prise en charge (SQLite ou PostgreSQL seulement).")
    output = Path(output) if output else default_output()
    output.parent.mkdir(parents=True, exist_ok=True)
    files_root = Path(current_app.config["FILES_DIR"])
    with tempfile.TemporaryDirectory(prefix="trainingmgr-backup-") as work:
        work = Path(work)
        if dialect == "sqlite":
            dump = work / SQLITE_MEMBER
            source = _sqlite_path(engine)
            if not os.path.isfile(source):  # sqlite3 would create an empty database there and back it up
                raise BackupError(f"Base de données injoignable : fichier SQLite {source} introuvable.")
            try:
                _sqlite_copy(source, str(dump))
            except sqlite3.Error as exc:
                raise BackupError(f"Base de données injoignable : {exc} ({source}).") from None
            copy = create_engine(f"sqlite:///{dump}")
            try:
                with copy.connect() as conn:
                    tables, revision = table_digests(conn), _alembic_revision(conn)
            finally:
                copy.dispose()
            for suffix in ("-wal", "-shm"):  # the copy's connection is closed: its WAL is checkpointed
                Path(str(dump) + suffix).unlink(missing_ok=True)
        else:
            dump = work / POSTGRESQL_MEMBER
            tables, revision = _postgresql_dump(engine, dump)
        manifest = {
            "format": FORMAT,
            "application": "trainingmgr",
            "alembic_revision": revision,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "dialect": dialect,
            "database_file": dump.name,
            "tables": tables,
            "files": file_digests(files_root),
        }
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
            archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname=dump.name)
            for relative in manifest["files"]:
                archive.add(files_root / relative, arcname=FILES_PREFIX + relative)
        os.chmod(partial, 0o600)
        os.replace(partial, output)  # never a half-written archive under the final name
    return output, manifest


def _sqlite_copy(source: str, destination: str) -> None:
    """Online backup: a consistent copy even while other connections write (WAL)."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(destination)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _postgresql_dump(engine: Engine, dump: Path) -> tuple[dict, str | None]:
    args, env = _libpq(engine)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
        # pg_dump reads the snapshot of this open transaction: the same rows as the digests below.
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              f"--file={dump}", *args], env, "pg_dump")
        tables, revision = table_digests(conn), _alembic_revision(conn)
        conn.rollback()
    return tables, revision


# --------------------------------------------------------------------------- restore


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        name = member.name
        if name.startswith("/") or ".." in Path(name).parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"Archive refusée : élément suspect « {name} ».")
        members.append(member)
    return members


def _damage(exc: BaseException) -> str:
    """What is wrong with an archive, in French, from the exception tarfile, gzip or zlib raised."""
    message = str(exc).lower()
    if isinstance(exc, EOFError) or "unexpected end" in message:
        return "le fichier s'arrête avant la fin : copie ou transfert interrompu"
    if "empty file" in message:
        return "fichier vide"
    if "not a gzip" in message:
        return "ce n'est pas une archive .tar.gz"
    if isinstance(exc, zlib.error) or "crc" in message or "length" in message:
        return "données corrompues : somme de contrôle fausse"
    return "contenu illisible"


def _read_to_the_end(path: Path) -> None:
    """Read the whole gzip stream: its checksum and length are at the very end, and tarfile stops reading
    at the end of the tar data, so a corrupted or cut archive could otherwise go unnoticed."""
    with gzip.open(path, "rb") as stream:
        while stream.read(1024 * 1024):
            pass


def _load_manifest(work: Path, path: Path) -> dict:
    invalid = f"Archive de sauvegarde invalide : {path}"
    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{invalid} ne contient pas de {MANIFEST} : ce n'est pas une sauvegarde de "
                          f"trainingmgr.") from None
    except (OSError, ValueError):
        raise BackupError(f"{invalid} : {MANIFEST} illisible.") from None
    if not isinstance(manifest, dict):
        raise BackupError(f"{invalid} : {MANIFEST} illisible.")
    if manifest.get("format") != FORMAT:
        shown = manifest.get("format")
        raise BackupError(f"{invalid} : format de sauvegarde {shown!r} inconnu (format {FORMAT} attendu).")
    expected = {"sqlite": SQLITE_MEMBER, "postgresql": POSTGRESQL_MEMBER}
    if (not isinstance(manifest.get("tables"), dict) or not isinstance(manifest.get("files", {}), dict)
            or expected.get(manifest.get("dialect")) != manifest.get("database_file")):
        raise BackupError(f"{invalid} : {MANIFEST} incomplet (tables, fichiers ou base de données non décrits).")
    return manifest


def unpack_backup(path: str | os.PathLike, work: Path) -> dict:
    """Extract the archive into ``work`` and return its manifest, once the whole archive is known to be
    readable, complete and consistent with it; BackupError (French) otherwise. Nothing else is touched."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Fichier introuvable : {path}.")
    try:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(work, members=_safe_members(archive), filter="data")
        _read_to_the_end(path)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BackupError(f"Archive de sauvegarde illisible ou tronquée : {path} ({_damage(exc)}).") from None
    except OSError as exc:
        raise BackupError(f"Extraction de {path} impossible dans {work} : {exc.strerror or exc}.") from None
    manifest = _load_manifest(work, path)
    absent = [name for name in [manifest["database_file"]] + [FILES_PREFIX + f for f in manifest.get("files", {})]
              if not (work / name).is_file()]
    if absent:
        raise BackupError(f"Archive de sauvegarde illisible ou tronquée : {path} ({count_fr(len(absent), 'élément')} "
                          f"{plural_fr(len(absent), 'décrit')} par {MANIFEST} {plural_fr(len(absent), 'absent')}, "
                          f"dont {absent[0]}).")
    return manifest


def _check_dump(dialect: str, dump: Path, path: str | os.PathLike) -> None:
    """The database copy of the archive can be read, checked without touching the target database."""
    damaged = f"Archive de sauvegarde illisible ou tronquée : {path}"
    if dialect == "sqlite":
        try:
            copy = sqlite3.connect(str(dump))
            try:
                verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                copy.close()
        except sqlite3.DatabaseError:
            verdict = None
        if verdict != "ok":
            raise BackupError(f"{damaged} (la copie de la base SQLite {dump.name} est endommagée).")
        return
    try:
        listed = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError("Commande « pg_restore » introuvable : installez les outils clients PostgreSQL "
                          "(paquet postgresql-client).") from None
    if listed.returncode != 0:
        raise BackupError(f"{damaged} (pg_restore ne peut pas lire la copie de la base {dump.name}).")


def restore_backup(path: str | os.PathLike) -> tuple[dict, Check]:
    """Restore the archive into the (empty) database and FILES_DIR of the current application, then check
    it against the manifest. The whole archive is checked first: a damaged one restores nothing."""
    files_root = Path(current_app.config["FILES_DIR"])
    with tempfile.TemporaryDirectory(prefix="trainingmgr-restore-") as work:
        work = Path(work)
        manifest = unpack_backup(path, work)
        engine = _engine()
        dialect = engine.dialect.name
        if manifest["dialect"] != dialect:
            raise BackupError(f"Cette sauvegarde vient d'une base {manifest['dialect']} et la base cible est "
                              f"{dialect} : la restauration d'un type de base vers un autre n'est pas prise en "
                              f"charge.")
        dump = work / manifest["database_file"]
        _check_dump(dialect, dump, path)
        db.session.remove()
        existing = inspect(engine).get_table_names()
        if existing:
            raise BackupError(f"La base cible n'est pas vide ({count_fr(len(existing), 'table')}) : une sauvegarde "
                              "ne se restaure que dans une base vide (créée sans « flask db upgrade »).")
        if dialect == "sqlite":
            engine.dispose()
            try:
                target = sqlite3.connect(_sqlite_path(engine), timeout=30)
                source = sqlite3.connect(str(dump))
                try:
                    source.backup(target)
                finally:
                    source.close()
                    target.close()
            except sqlite3.Error as exc:
                raise BackupError(f"Échec de la restauration SQLite : {exc}.") from None
        else:
            args, env = _libpq(engine)
            engine.dispose()
            _run(["pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                  *args, str(dump)], env, "pg_restore")
        files_dir = work / FILES_PREFIX
        try:
            if files_dir.is_dir():
                for source in sorted(files_dir.rglob("*")):
                    if source.is_file():
                        destination = files_root / source.relative_to(files_dir)
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, destination)
        except OSError as exc:
            raise BackupError(f"Base restaurée, mais copie des fichiers dans {files_root} impossible : "
                              f"{exc.strerror or exc}.") from None
    return manifest, verify_against(manifest)


def verify_against(manifest: dict) -> Check:
    """Compare the current database and FILES_DIR with a manifest."""
    check = Check()
    with _engine().connect() as conn:
        actual = table_digests(conn)
    for name, expected in sorted(manifest["tables"].items()):
        got = actual.get(name)
        check.tables += 1
        check.rows += expected["rows"]
        if got is None:
            check.problems.append(f"table {name} absente")
        elif got["rows"] != expected["rows"]:
            check.problems.append(f"table {name} : {count_fr(got['rows'], 'ligne')} au lieu de "
                                  f"{number_fr(expected['rows'])}")
        elif got["sha256"] != expected["sha256"]:
            check.problems.append(f"table {name} : contenu différent (empreinte)")
    for name in sorted(set(actual) - set(manifest["tables"])):
        check.problems.append(f"table {name} en trop")
    files = file_digests(Path(current_app.config["FILES_DIR"]))
    for relative, expected in sorted(manifest.get("files", {}).items()):
        check.files += 1
        if relative not in files:
            check.problems.append(f"fichier {relative} absent")
        elif files[relative] != expected:
            check.problems.append(f"fichier {relative} : SHA-256 différent")
    return check
