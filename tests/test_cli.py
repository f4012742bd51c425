"""What every project command of ``flask --app app …`` shares (trainingmgr/core/cli.py): database ids checked
before any query, an unknown object or an unusable database reported on one French line with a non-zero
exit code, never a traceback."""
from __future__ import annotations


import click
import pytest

from trainingmgr import create_app
from trainingmgr.core.cli import Command
from trainingmgr.core.validation import MAX_ID
from trainingmgr.extensions import db

from tests.cli_support import run_flask
from tests.fixtures.app import base_config
from tests.helpers import throwaway_postgresql

PASSWORD = "motdepasse-tres-secret"
REFUSED = f"postgresql://trainingmgr:{PASSWORD}@127.0.0.1:1/trainingmgr"  # nothing listens on port 1

# Every command of the project that needs the database, with arguments that let it reach it.
DATABASE_COMMANDS = {
    "user create": ["user", "create", "nouveau@test.example", "--role", "admin", "--password-stdin"],
    "user list": ["user", "list"],
    "token create": ["token", "create", "conseil@test.example"],
    "token revoke": ["token", "revoke", "tm_abcdefg"],
    "demo load": ["demo", "load"],
    "sessions advance": ["sessions", "advance"],
    "mail send": ["mail", "send"],
    "tick": ["tick"],
    "worker": ["worker", "--once"],
    "attendance verify": ["attendance", "verify", "3"],
    "attendance seal": ["attendance", "seal"],
    "attendance import-report": ["attendance", "import-report", "3", "{tmp}/rapport.csv"],
    "signing init": ["signing", "init"],
    "gdpr purge": ["gdpr", "purge", "--dry-run"],
    "gdpr export": ["gdpr", "export", "3"],
    "backup create": ["backup", "create", "--output", "{tmp}/sauvegarde.tar.gz"],
    "documents pack": ["documents", "pack", "3", "--out", "{tmp}/dossier.zip"],
    "files sweep": ["files", "sweep"],
    "automations dry-run": ["automations", "dry-run", "--days", "7"],
    "exports run": ["exports", "run", "bpf", "--param", "year=2031", "--out", "{tmp}/bpf.xlsx"],
    "quality audit-pack": ["quality", "audit-pack", "--from", "2031-01-01", "--to", "2031-12-31", "--out",
                           "{tmp}/audit.zip"],
}
# Not here: `gdpr policy` reads only the configuration; `backup restore` checks its archive before the
# database (tests/ops/test_backup.py); the sealing key commands read and write only SEAL_KEY_DIR
# (tests/attendance/test_seals.py); `signing verify` needs only its file and the certificates: without a database
# it says so on one line and still judges the signatures (tests/signing/test_commands.py).
ELSEWHERE = {"gdpr policy", "backup restore", "attendance keygen", "attendance rotate-key", "attendance keys",
             "signing verify", "exports list",  # the registered exporters, no database
             "pdf serve", "pdf wait"}  # no database: the shared PDF converter (tests/documents/test_pdf_server.py)
# Commands that report the database themselves.
OWN_REPORT = {"check"}  # trainingmgr/ops/readiness.py lists every problem before a server starts


def _project_commands(app) -> dict[str, click.Command]:
    found = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
            elif (command.callback.__module__ or "").startswith("trainingmgr"):
                found[prefix + name] = command

    walk(app.cli, "")
    return found


def test_every_project_command_reports_database_errors_on_one_line(app):
    ours = _project_commands(app)
    plain = sorted(name for name, command in ours.items() if not isinstance(command, Command))
    assert sorted(set(plain) - OWN_REPORT) == [], "use trainingmgr.core.cli.CommandGroup (or cls=Command)"
    assert sorted(set(ours) - OWN_REPORT - ELSEWHERE - set(DATABASE_COMMANDS)) == [], \
        "add the new command to DATABASE_COMMANDS"


def _invoke(made, *args):
    with made.app_context():
        try:
            return made.test_cli_runner().invoke(args=list(args), input="un-long-mot-de-passe-42\n")
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("name", sorted(DATABASE_COMMANDS))
def test_an_unreachable_database_gives_one_french_line_and_exit_1(name, tmp_path):
    made = create_app(base_config(REFUSED, tmp_path))
    result = _invoke(made, *[a.format(tmp=tmp_path) for a in DATABASE_COMMANDS[name]])
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Erreur : Base de données injoignable : ")
    assert "Connection refused" in last and "127.0.0.1:1/trainingmgr" in last
    assert PASSWORD not in result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "sauvegarde.tar.gz").exists()


@pytest.fixture
def database_without_tables(backend, tmp_path):
    """A database of the backend under test that exists but where `flask db upgrade` was never run."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'vide.db'}"
        return
    with throwaway_postgresql("trainingmgr_vide", fast=False) as url:
        yield url


@pytest.mark.parametrize("args, table", [(["user", "list"], "user_account"), (["tick"], "outbox_message"),
                                         (["attendance", "verify", "3"], "training_session")])
def test_a_database_without_tables_says_to_run_the_migrations(database_without_tables, tmp_path, args, table):
    result = _invoke(create_app(base_config(database_without_tables, tmp_path)), *args)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1].startswith(
        f"Erreur : Base de données non initialisée : table {table} absente")
    assert "« flask --app app db upgrade »" in result.output
    assert isinstance(result.exception, SystemExit)


def test_gdpr_export_refuses_an_unknown_trainee_and_bad_ids(app):
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["gdpr", "export", "999999"])
    assert missing.exit_code == 1
    assert missing.output == "Erreur : Stagiaire n° 999999 introuvable.\n"
    for value in ("0", "abc", str(MAX_ID + 1), "99999999999999999999"):
        refused = runner.invoke(args=["gdpr", "export", value])
        assert refused.exit_code == 2, value
        assert refused.output == (f"Erreur : L'identifiant doit être un nombre entier entre 1 et {MAX_ID} "
                                  f"(reçu : « {value} »).\n")


def test_the_real_command_with_an_unreachable_database(tmp_path):
    """The same through `flask --app app`, as an operator types it."""
    done = run_flask("user", "list", database_url=REFUSED, files_dir=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("Erreur : Base de données injoignable : ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr + done.stdout
