"""A server that could only answer 500 refuses to start, with one French line and a non-zero exit: unsupported or
unreachable database, a database not migrated, a files directory it cannot write, no SECRET_KEY (or a short one) or
no PUBLIC_URL outside development, whatever starts it (gunicorn directly too, through gunicorn.conf.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trainingmgr import create_app
from trainingmgr.config import ConfigurationError, finalise
from trainingmgr.ops.readiness import problems

from tests.helpers import seal_key_dir

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "k" * 40


def _run(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SECRET_KEY", "PUBLIC_URL", "DATABASE_URL", "APP_ENV", "FILES_DIR", "RATELIMIT_STORAGE_URI")}
    clean.update({"FILES_DIR": str(tmp_path / "files"), "SEAL_KEY_DIR": seal_key_dir(), **env})
    return subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def _gunicorn(tmp_path, **env) -> subprocess.CompletedProcess:
    return _run([str(BIN / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "1", "app:app"], tmp_path, **env)


def _assert_refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode != 0, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "Booting worker" not in result.stderr  # refused in the master, before any worker


def test_gunicorn_refuses_to_start_without_a_secret_key(tmp_path):
    _assert_refused(_gunicorn(tmp_path, PUBLIC_URL="https://formation.example.fr",
                              DATABASE_URL=f"sqlite:///{tmp_path}/x.db"), "SECRET_KEY est obligatoire en production")


def test_gunicorn_refuses_a_short_secret_key(tmp_path):
    _assert_refused(_gunicorn(tmp_path, SECRET_KEY="short", PUBLIC_URL="https://formation.example.fr",
                              DATABASE_URL=f"sqlite:///{tmp_path}/x.db"), "SECRET_KEY est trop courte (5 caractères)")


def test_gunicorn_refuses_to_start_without_a_public_address(tmp_path):
    _assert_refused(_gunicorn(tmp_path, SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{tmp_path}/x.db"),
                    "PUBLIC_URL est obligatoire en production")


def test_gunicorn_refuses_an_unreachable_database(tmp_path):
    result = _gunicorn(tmp_path, SECRET_KEY=SECRET, PUBLIC_URL="https://formation.example.fr",
                       DATABASE_URL="postgresql://postgres:hunter2-secret@127.0.0.1:1/test")
    _assert_refused(result, "Base de données injoignable")
    assert "hunter2-secret" not in result.stderr


def test_gunicorn_refuses_a_database_not_migrated(tmp_path):
    _assert_refused(_gunicorn(tmp_path, SECRET_KEY=SECRET, PUBLIC_URL="https://formation.example.fr",
                              DATABASE_URL=f"sqlite:///{tmp_path}/empty.db"),
                    "La base de données n'est pas à jour (révision aucune")


def test_an_unsupported_database_url_is_one_french_line(tmp_path):
    result = _run([str(BIN / "flask"), "--app", "app", "db", "upgrade"], tmp_path,
                  DATABASE_URL="mysql://user:hunter2-secret@db.example/formation")
    assert result.returncode != 0
    assert "DATABASE_URL non pris en charge (mysql://…)" in result.stderr
    assert "No such command" not in result.stderr and "Traceback" not in result.stderr
    assert "hunter2-secret" not in result.stderr
    _assert_refused(_gunicorn(tmp_path, SECRET_KEY=SECRET, PUBLIC_URL="https://formation.example.fr",
                              DATABASE_URL="mysql://user:pw@db.example/formation"), "DATABASE_URL non pris en charge")


def test_the_application_refuses_a_files_directory_it_cannot_write(app, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    bad = create_app({**app.config, "FILES_DIR": str(blocker / "files")})
    assert any("n'est pas accessible en écriture" in p for p in problems(bad))
    assert problems(app) == []  # the test application itself is ready


def test_flask_check_says_ready_or_why_not(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "Prêt" in result.output


@pytest.mark.parametrize("config, message", [
    ({"APP_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY est obligatoire"),
    ({"APP_ENV": "production", "SECRET_KEY": "x" * 31}, "SECRET_KEY est trop courte (31 caractères)"),
    ({"SQLALCHEMY_DATABASE_URI": "oracle://scott:tiger@db/orcl"}, "DATABASE_URL non pris en charge"),
    ({"PUBLIC_URL": "formation.example.fr"}, "PUBLIC_URL invalide"),
])
def test_create_app_refuses_bad_configuration_in_french(config, message):
    base = {"SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": "sqlite://", "PUBLIC_URL": "http://localhost"}
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        create_app({**base, **config})


def test_development_keeps_its_instance_secret_and_production_its_own(monkeypatch, tmp_path):
    from trainingmgr.config import from_environment

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    first = from_environment(str(tmp_path))["SECRET_KEY"]
    assert len(first) >= 32 and from_environment(str(tmp_path))["SECRET_KEY"] == first
    monkeypatch.setenv("APP_ENV", "production")
    assert from_environment(str(tmp_path / "prod"))["SECRET_KEY"] == ""  # never made up in production


def test_production_without_a_shared_limit_store_says_so_loudly(app, capsys):
    from trainingmgr.ops.readiness import check_or_exit

    production = create_app({**app.config, "APP_ENV": "production", "SECRET_KEY": SECRET, "MAIL_BACKEND": "smtp",
                             "PUBLIC_URL": "https://formation.example.fr", "RATELIMIT_STORAGE_URI": "memory://"})
    check_or_exit(production)
    assert "ATTENTION : aucun stockage partagé pour les limites de tentatives" in capsys.readouterr().err
    shared = create_app({**app.config, "APP_ENV": "production", "SECRET_KEY": SECRET, "MAIL_BACKEND": "smtp",
                         "PUBLIC_URL": "https://formation.example.fr",
                         "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"})
    check_or_exit(shared)
    assert "ATTENTION" not in capsys.readouterr().err
    check_or_exit(app)  # development: nothing to say
    assert capsys.readouterr().err == ""


def test_the_shared_limit_store_is_read_from_the_environment(monkeypatch, tmp_path):
    from trainingmgr.config import from_environment

    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    assert from_environment(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    config = from_environment(str(tmp_path))
    finalise(config)
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0" and config["RATELIMIT_STORAGE_SHARED"]
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "5 per minute")
    assert from_environment(str(tmp_path))["LOGIN_RATE_LIMIT"] == "5 per minute"
