"""`flask --app app documents pack SESSION_ID --out FILE.zip`: a session's pack made from the command line, by the same
task as the « Générer le dossier de session » button (documents/packs/session_pack.py), with a line per document."""
from __future__ import annotations

import click

from ...accounts.cli import staff_actor
from ...core.cli import DATABASE_ID, CommandError, CommandGroup
from ...core.errors import DomainError
from ...messaging.cli import run_task_to_file
from ...sessions.services import get_session
from . import session_pack

documents_cli = CommandGroup("documents", help="Documents des sessions.")


@documents_cli.command("pack")
@click.argument("session_id", type=DATABASE_ID)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Fichier zip à écrire (par défaut dossier-session-<id>.zip dans le dossier courant).")
@click.option("--as", "email", default=None, help="Compte au nom duquel les documents sont émis "
              "(par défaut le premier administrateur actif).")
def pack(session_id: int, out: str | None, email: str | None):
    """Générer le dossier d'une session (un document à la fois, avec l'avancement) et l'écrire dans un zip."""
    try:
        session = get_session(session_id)
        task = session_pack.start_session_pack(session, staff_actor(email, "générer de dossier"))
    except DomainError as exc:
        raise CommandError(exc.message) from None
    # run here: its claim commits the task, so no worker ever sees it queued
    task, target = run_task_to_file(task.id, out or session_pack.pack_filename(session_id))
    click.echo(f"Dossier écrit dans {target} ({task.done} documents ; traitement n° {task.id}).")
