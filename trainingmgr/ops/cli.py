"""``flask --app app backup create [--output FILE]`` and ``flask --app app backup restore FILE``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .backup import BackupError, create_backup, restore_backup

backup_cli = AppGroup("backup", help="Sauvegarde et restauration (base de données et fichiers).")


@backup_cli.command("create")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Archive à écrire (par défaut instance/backups/trainingmgr-AAAAMMJJ-HHMMSS.tar.gz).")
def create(output: str | None):
    """Sauvegarder la base (cohérente même pendant que l'application tourne) et les fichiers stockés."""
    try:
        path, manifest = create_backup(output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(f"Sauvegarde écrite : {path}")
    click.echo(f"  base {manifest['dialect']} (révision {manifest['alembic_revision']}) : "
               f"{len(manifest['tables'])} table(s), {rows} ligne(s) ; {len(manifest['files'])} fichier(s).")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def restore(file: str):
    """Restaurer une sauvegarde dans une base vide, puis la vérifier (code de sortie 1 en cas d'écart)."""
    try:
        manifest, check = restore_backup(file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Sauvegarde du {manifest['created_at']} (base {manifest['dialect']}, "
               f"révision {manifest['alembic_revision']}) restaurée.")
    click.echo(f"  {check.tables} table(s), {check.rows} ligne(s), {check.files} fichier(s) vérifiés.")
    if not check.ok:
        for problem in check.problems:
            click.echo(f"  ÉCART : {problem}", err=True)
        click.echo(f"Vérification échouée : {len(check.problems)} écart(s) avec le manifeste.", err=True)
        raise SystemExit(1)
    click.echo("Vérification réussie : lignes, empreintes des tables et SHA-256 des fichiers conformes.")
