"""`flask --app app documents pack SESSION_ID --out FILE.zip`: a session's pack made from the command line, by the same
task as the « Générer le dossier de session » button (documents/pack_task.py), with a line per document."""
from __future__ import annotations

from pathlib import Path

import click

from ..accounts.cli import staff_actor
from ..core.cli import DATABASE_ID, CommandError, CommandGroup
from ..core.errors import DomainError
from ..files.services import path_for
from ..messaging import tasks
from ..sessions.services import get_session
from . import pack_task

documents_cli = CommandGroup("documents", help="Documents des sessions.")


def _line(task) -> None:
    click.echo(f"{task.done}/{task.total} {task.step}".rstrip())


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
        task = pack_task.start_session_pack(session, staff_actor(email, "générer de dossier"))
    except DomainError as exc:
        raise CommandError(exc.message) from None
    target = Path(out or pack_task.pack_filename(session_id))
    task_id = task.id
    try:
        task = tasks.run_task(task_id, echo=_line)  # its claim commits the task: no worker ever sees it queued
    except KeyboardInterrupt:
        tasks.fail_task(task_id, "Traitement interrompu (Ctrl-C en ligne de commande) : relancez-le.")
        raise
    if task.status != "done":
        raise CommandError(task.error or f"Le traitement n° {task_id} n'a pas abouti ({task.status_label}).")
    target.write_bytes(path_for(task.result_file).read_bytes())
    click.echo(f"Dossier écrit dans {target} ({task.done} documents ; traitement n° {task_id}).")
