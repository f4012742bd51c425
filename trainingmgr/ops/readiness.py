"""Checks made before a server starts serving: the database answers and is migrated to the code's revision, the
files directory is writable, and what production needs is set. gunicorn runs them in its master before any worker
starts (``gunicorn.conf.py``, read by gunicorn from the working directory, so ``gunicorn app:app`` too), ``make run``
and ``make serve`` through ``flask check``, and the worker when it starts: a server that would answer 500 to every
request refuses to start instead, with one French line per problem."""
from __future__ import annotations

import logging
import os
import sys
import tempfile

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger("trainingmgr.readiness")


def _database_problems(app: Flask) -> list[str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from ..extensions import db

    try:
        with app.app_context(), db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return [f"Base de données injoignable ({describe_database_error(exc)}) : vérifiez DATABASE_URL et que le "
                "serveur de base de données tourne."]
    finally:
        with app.app_context():
            db.engine.dispose()
    directory = app.extensions["migrate"].directory
    heads = set(ScriptDirectory(directory).get_heads())
    if current != heads:
        shown = ", ".join(sorted(current)) or "aucune"
        return [f"La base de données n'est pas à jour (révision {shown}, attendue {', '.join(sorted(heads))}) : "
                "lancez « flask --app app db upgrade »."]
    return []


def _files_problems(app: Flask) -> list[str]:
    root = app.config["FILES_DIR"]
    try:
        os.makedirs(root, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-check-"):
            pass
    except OSError as exc:
        return [f"Le dossier des fichiers FILES_DIR ({root}) n'est pas accessible en écriture : "
                f"{exc.strerror or exc}."]
    return []


def _seal_key_problems(app: Flask) -> list[str]:
    """The attendance register is sealed with a key outside the database: a server without one would record
    signatures that no seal covers."""
    from ..core import sealkeys

    directory = app.config["SEAL_KEY_DIR"]
    try:
        with app.app_context():
            if sealkeys.active_key() is not None:
                return []
    except sealkeys.KeyringError as exc:
        return [exc.message]
    return [f"Aucune clé de scellement des registres d'émargement dans SEAL_KEY_DIR ({directory}) : créez-la avec "
            "« flask --app app attendance keygen », puis sauvegardez ce répertoire à part de la base."]


def _production_warnings(app: Flask) -> list[str]:
    from ..config import mail_problems

    warnings = mail_problems(app.config)[1]
    if app.config.get("APP_ENV") != "production" or app.config.get("RATELIMIT_STORAGE_SHARED"):
        return warnings
    return warnings + ["ATTENTION : aucun stockage partagé pour les limites de tentatives (RATELIMIT_STORAGE_URI, par exemple "
            "redis://127.0.0.1:6379/0) : chaque processus compte les siennes, et avec plusieurs workers la limite "
            "de connexion est multipliée d'autant."]


def problems(app: Flask) -> list[str]:
    """What stops ``app`` from serving, in French; empty when it can start."""
    from ..config import mail_problems

    return mail_problems(app.config)[0] + _database_problems(app) + _files_problems(app) + _seal_key_problems(app)


def describe_database_error(exc: BaseException) -> str:
    """The driver's first line, without the URL (it may hold a password)."""
    original = getattr(exc, "orig", None) or exc
    line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return line[:200]


def check_or_exit(app: Flask | None = None) -> Flask:
    """Build the application (from the environment unless given) and stop the process, exit code 1, with one French
    line per problem when it cannot serve; warnings are printed and the start goes on."""
    from ..config import ConfigurationError

    if app is None:
        from .. import create_app

        try:
            app = create_app()
        except ConfigurationError as exc:
            _say(str(exc))
            raise SystemExit(1) from None
    for warning in _production_warnings(app):
        _say(warning)
    found = problems(app)
    for problem in found:
        _say(problem)
    if found:
        raise SystemExit(1)
    return app


def _say(line: str) -> None:
    print(f"trainingmgr : {line}", file=sys.stderr, flush=True)


@click.command("check")
@with_appcontext
def check_command():
    """Vérifier que le serveur peut démarrer : base joignable et à jour, dossier des fichiers inscriptible."""
    from flask import current_app

    check_or_exit(current_app._get_current_object())
    click.echo("Prêt : base de données joignable et à jour, dossier des fichiers accessible en écriture.")
