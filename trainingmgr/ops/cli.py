"""``flask --app app backup create [--output FILE] [--keep N]`` and ``flask --app app backup restore FILE``."""
from __future__ import annotations

import click
from flask import current_app

from ..attendance.seals import missing_keys
from ..core.cli import CommandError, CommandGroup
from ..core.formatting import count_fr, plural_fr
from ..core.sealkeys import KeyringError
from .backup import BackupError, create_backup, prune_backups, restore_backup

backup_cli = CommandGroup("backup", help="Sauvegarde et restauration (base de données et fichiers).")


@backup_cli.command("create")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Archive à écrire (par défaut instance/backups/trainingmgr-AAAAMMJJ-HHMMSS.tar.gz).")
@click.option("--keep", type=int, default=None,
              help="Conserver seulement les N sauvegardes les plus récentes du dossier (archives "
                   "trainingmgr-AAAAMMJJ-HHMMSS.tar.gz ; les autres fichiers ne sont jamais supprimés).")
def create(output: str | None, keep: int | None):
    """Sauvegarder la base (cohérente même pendant que l'application tourne) et les fichiers stockés."""
    try:
        if keep is not None and keep < 1:
            raise BackupError("Indiquez au moins 1 sauvegarde à conserver (--keep).")
        path, manifest = create_backup(output)
        deleted = prune_backups(path.parent, keep) if keep else []
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(f"Sauvegarde écrite : {path}")
    click.echo(f"  base {manifest['dialect']} (révision {manifest['alembic_revision']}) : "
               f"{count_fr(len(manifest['tables']), 'table')}, {count_fr(rows, 'ligne')} ; "
               f"{count_fr(len(manifest['files']), 'fichier')}.")
    for old in deleted:
        click.echo(f"  ancienne sauvegarde supprimée : {old.name}")
    click.echo(f"Clés de scellement des registres d'émargement : elles ne sont pas dans l'archive. Sauvegardez à part "
               f"le répertoire SEAL_KEY_DIR ({current_app.config['SEAL_KEY_DIR']}) : une base restaurée ne se "
               "vérifie (flask attendance verify) qu'avec lui restauré à côté.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def restore(file: str):
    """Restaurer une sauvegarde dans une base vide, puis la vérifier (code de sortie 1 en cas d'écart)."""
    try:
        manifest, check = restore_backup(file)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    click.echo(f"Sauvegarde du {manifest['created_at']} (base {manifest['dialect']}, "
               f"révision {manifest['alembic_revision']}) restaurée.")
    click.echo(f"  {count_fr(check.tables, 'table')}, {count_fr(check.rows, 'ligne')}, "
               f"{count_fr(check.files, 'fichier')} vérifiés.")
    if not check.ok:
        for problem in check.problems:
            click.echo(f"  ÉCART : {problem}", err=True)
        click.echo(f"Vérification échouée : {count_fr(len(check.problems), 'écart')} avec le manifeste.", err=True)
        raise SystemExit(1)
    click.echo("Vérification réussie : lignes, empreintes des tables et SHA-256 des fichiers conformes.")
    try:
        missing = missing_keys()
    except KeyringError as exc:
        missing, problem = [], exc.message
        click.echo(f"ATTENTION : {problem}", err=True)
    if missing:
        click.echo(f"ATTENTION : {plural_fr(len(missing), 'clé de scellement', 'clés de scellement')} "
                   f"{', '.join(missing)} {plural_fr(len(missing), 'absente')} de SEAL_KEY_DIR "
                   f"({current_app.config['SEAL_KEY_DIR']}) : restaurez le répertoire des clés sauvegardé à part, "
                   "sans quoi « flask attendance verify » signale ces registres comme altérés.", err=True)
