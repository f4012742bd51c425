"""`flask --app app exports list` and `flask --app app exports run NAME --param k=v … --out FILE`: the exports of the
pages' « Exporter » buttons (messaging/exports.py) run from the command line by the same task, with its progress."""
from __future__ import annotations


import click

from ..accounts.cli import staff_actor
from ..core.cli import CommandError, CommandGroup
from ..core.errors import DomainError
from . import exports
from .cli import run_task_to_file

exports_cli = CommandGroup("exports", help="Exports CSV et XLSX (résultats, registres qualité, journal, BPF).")


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"Paramètre invalide : « {pair} » (attendu NOM=VALEUR, par exemple year=2031).")
        params[name.strip()] = value
    return params


@exports_cli.command("list")
def list_exports():
    """Lister les exports et leurs paramètres."""
    for name in sorted(exports.EXPORTERS):
        found = exports.EXPORTERS[name]
        doc = (found.parse.__doc__ or "").strip().splitlines()
        click.echo(f"{name} : {doc[0] if doc else ''}".rstrip(" :"))


@exports_cli.command("run")
@click.argument("name")
@click.option("--param", "pairs", multiple=True, metavar="NOM=VALEUR",
              help="Un filtre de la page (répétable) : fmt=csv, year=2031, du=2031-03-01, status=done…")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Fichier à écrire (par défaut le nom proposé par l'export, dans le dossier courant).")
@click.option("--as", "email", default=None, help="Compte au nom duquel l'export est fait "
              "(par défaut le premier administrateur actif).")
def run(name: str, pairs: tuple[str, ...], out: str | None, email: str | None):
    """Faire un export (le même traitement que le bouton de la page), avec l'avancement, et l'écrire."""
    if name not in exports.EXPORTERS:
        raise CommandError(f"Export inconnu : « {name} » (voir « flask exports list »).")
    try:
        task = exports.start_export(name, _params(pairs), staff_actor(email, "lancer un export"))
    except DomainError as exc:
        raise CommandError(exc.message) from None
    # run here: its claim commits the task, so no worker ever sees it queued
    task, target = run_task_to_file(task.id, out)
    click.echo(f"Export écrit dans {target} ({task.done} lignes ; traitement n° {task.id}).")
