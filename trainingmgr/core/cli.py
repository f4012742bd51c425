"""What every ``flask --app app …`` command of the project shares: a refusal is one French line on stderr
(« Erreur : … ») with exit code 1, database ids are checked before any query, and a database that cannot be
used (server down, database missing, tables not created) gives that one line instead of a traceback.

Groups are ``CommandGroup`` instead of flask's ``AppGroup``; a command outside a group takes ``cls=Command``.
"""
from __future__ import annotations

import re

import click
from flask import has_app_context
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

from .validation import MAX_ID


class CommandError(click.ClickException):
    """A command refused or failed: « Erreur : <message> » on stderr, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"Erreur : {self.format_message()}", err=True)


class InvalidValue(click.BadParameter):
    """A bad argument or option value, on one French line (click's own says "Invalid value for…" with the
    usage); exit code 2, as for every usage error."""

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"Erreur : {self.format_message()}", err=True)


class DatabaseId(click.ParamType):
    """A primary key: a whole number from 1 to MAX_ID. A larger one names no row and would make the database
    fail (integer out of range) instead of finding nothing."""

    name = "identifiant"

    def convert(self, value, param, ctx) -> int:
        text = str(value).strip()
        # ASCII digits only (int() also takes "+5", "1_000" and other scripts' digits); the length check
        # comes first so that a very long number is refused without being converted.
        if re.fullmatch(r"[0-9]{1,10}", text) and 1 <= int(text) <= MAX_ID:
            return int(text)
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise InvalidValue(f"L'identifiant doit être un nombre entier entre 1 et {MAX_ID} (reçu : « {shown} »).",
                           ctx=ctx, param=param)


DATABASE_ID = DatabaseId()

# SQLite's and PostgreSQL's ways of saying that a table does not exist.
_NO_SUCH_TABLE = re.compile(r"^no such table: (\S+)|^relation \"([^\"]+)\" does not exist")


def database_problem(exc: BaseException) -> str | None:
    """The French line for a database that cannot be used (unreachable, or its tables not created yet), or
    None when ``exc`` is another error. The driver's first line is kept; the URL is shown without password."""
    if not isinstance(exc, DBAPIError):
        return None
    original = exc.orig if exc.orig is not None else exc
    lines = [" ".join(line.split()) for line in str(original).splitlines() if line.strip()]
    reason = lines[0] if lines else type(original).__name__
    missing = _NO_SUCH_TABLE.match(reason)
    if missing and isinstance(exc, (OperationalError, ProgrammingError)):
        table = missing.group(1) or missing.group(2)
        return _without_password(f"Base de données non initialisée : table {table} absente{_where()} ; lancez "
                                 f"« flask --app app db upgrade ».")
    if isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated:
        return _without_password(f"Base de données injoignable : {reason[:300]}{_where()}.")
    return None


def _database_url():
    if not has_app_context():
        return None
    try:
        from ..extensions import db

        return db.engine.url
    except Exception:  # no engine (bad configuration): say what the driver said, without the address
        return None


def _where() -> str:
    url = _database_url()
    if url is None:
        return ""
    return f" ({url.set(query={}).render_as_string(hide_password=True)})"  # password shown as ***


def _without_password(line: str) -> str:
    url = _database_url()
    password = str(url.password or "") if url is not None else ""
    # libpq does not repeat the password; this is in case a driver one day does (a short one would only
    # garble the line).
    return line.replace(password, "***") if len(password) >= 4 else line


class Command(click.Command):
    """A command whose database errors become one French line and exit code 1 (see ``database_problem``)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            problem = database_problem(exc)
            if problem is None:
                raise
            raise CommandError(problem) from None


class CommandGroup(AppGroup):
    """flask's AppGroup (commands run in the application context) whose commands are ``Command``."""

    command_class = Command
    group_class = type  # subgroups are CommandGroup too
