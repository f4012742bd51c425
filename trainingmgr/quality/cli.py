"""`flask --app app quality audit-pack --from DATE --to DATE --out FILE.zip [--sessions 1,2,3] [--sample N]`: the
« Dossier d'audit » made from the command line by the same task as the page's button (quality/audit_pack.py), with a
line per step."""
from __future__ import annotations

import datetime as dt

import click

from ..accounts.cli import staff_actor
from ..core.cli import CommandError, CommandGroup
from ..core.errors import DomainError
from ..messaging.cli import run_task_to_file
from . import audit_pack

quality_cli = CommandGroup("quality", help="Qualité : dossier d'audit Qualiopi.")


def _day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"Date invalide pour {option} : « {value[:40]} » (format attendu AAAA-MM-JJ).") from None


def _ids(value: str | None) -> list[int]:
    if not value:
        return []
    try:
        ids = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise CommandError(f"Liste de sessions invalide : « {value[:60]} » (numéros séparés par des virgules, "
                           "par exemple 12,15,18).") from None
    if any(i <= 0 for i in ids):
        raise CommandError("Un numéro de session est un entier positif.")
    return ids


@quality_cli.command("audit-pack")
@click.option("--from", "since", required=True, help="Premier jour de la période (AAAA-MM-JJ).")
@click.option("--to", "until", required=True, help="Dernier jour de la période (AAAA-MM-JJ).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Fichier zip à écrire (par défaut dossier-audit-<début>-<fin>.zip dans le dossier courant).")
@click.option("--sessions", "sessions", default=None,
              help="Sessions à suivre, séparées par des virgules (par défaut un échantillon tiré par l'application).")
@click.option("--sample", "sample", type=int, default=None,
              help=f"Nombre de sessions de l'échantillon (par défaut {audit_pack.DEFAULT_SAMPLE}).")
@click.option("--as", "email", default=None, help="Compte au nom duquel le dossier est constitué "
              "(par défaut le premier administrateur actif).")
def audit_pack_command(since: str, until: str, out: str | None, sessions: str | None, sample: int | None,
                       email: str | None):
    """Constituer le dossier d'audit Qualiopi d'une période (index, registres, sessions échantillonnées, manifeste
    SHA-256) et l'écrire dans un zip."""
    try:
        plan = audit_pack.plan_pack(_day(since, "--from"), _day(until, "--to"), _ids(sessions), sample)
        task = audit_pack.start_audit_pack(plan, staff_actor(email, "constituer de dossier d'audit"))
    except DomainError as exc:
        raise CommandError(exc.message) from None
    click.echo(f"Sessions suivies : {', '.join(f'n° {i}' for i in plan.session_ids) or 'aucune'} "
               f"({plan.held} réalisées dans la période).")
    # run here: its claim commits the task, so no worker ever sees it queued
    task, target = run_task_to_file(task.id, out or audit_pack.pack_filename(plan.period))
    click.echo(f"Dossier écrit dans {target} ({task.summary}).")
