"""``flask --app app files sweep [--older-than MINUTES]``: what a killed process left in the file store."""
from __future__ import annotations

import datetime as dt

import click

from ..core.cli import CommandError, CommandGroup
from .sweep import DEFAULT_AGE, results_summary, sweep, sweep_results

files_cli = CommandGroup("files", help="Fichiers stockés (FILES_DIR).")


@files_cli.command("sweep")
@click.option("--older-than", "older_than", type=int, default=int(DEFAULT_AGE.total_seconds() // 60),
              show_default=True, metavar="MINUTES",
              help="Ne supprimer que les fichiers modifiés il y a plus de MINUTES minutes (0 : tous, seulement quand "
                   "aucun serveur ni worker ne tourne).")
def sweep_command(older_than: int):
    """Supprimer les fichiers des traitements terminés depuis plus de TASK_RESULT_DAYS jours, les fichiers
    temporaires laissés par un processus interrompu et les fichiers qu'aucune ligne de la base ne désigne (le
    worker le fait aussi chaque heure)."""
    if older_than < 0:
        raise CommandError("Indiquez un nombre de minutes positif ou nul (--older-than).")
    click.echo(results_summary(sweep_results()))
    swept = sweep(dt.timedelta(minutes=older_than))
    for path in swept.paths:
        click.echo(f"  supprimé : {path}")
    click.echo(swept.summary())
