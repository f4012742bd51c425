from __future__ import annotations

import click
from sqlalchemy import select

from ..core.cli import DATABASE_ID, CommandError, CommandGroup
from ..extensions import db
from ..sessions.models import TrainingSession
from .chain import verify_chain
from .models import AttendanceChain, AttendanceRecord

attendance_cli = CommandGroup("attendance", help="Émargement.")


@attendance_cli.command("verify")
@click.argument("session_id", type=DATABASE_ID, required=False)
def verify(session_id: int | None):
    """Recalculer les chaînes d'émargement (d'une session, ou de toutes) ; code de sortie 1 au premier maillon
    rompu."""
    if session_id is not None:
        if db.session.get(TrainingSession, session_id) is None:
            raise CommandError(f"Session {session_id} introuvable.")
        ids = [session_id]
    else:
        ids = sorted(set(db.session.scalars(select(AttendanceRecord.session_id).distinct()))
                     | set(db.session.scalars(select(AttendanceChain.session_id))))
    for sid in ids:
        check = verify_chain(sid)
        if not check.ok:
            where = f"enregistrement n° {check.broken_seq}" if check.broken_seq else "tête de chaîne"
            if check.broken_id:
                where += f" (id {check.broken_id})"
            click.echo(f"Session {sid} : ALTÉRÉE – {where} : {check.problem}.", err=True)
            raise SystemExit(1)
        click.echo(f"Session {sid} : intègre ({check.length} enregistrement(s)).")
    if not ids:
        click.echo("Aucune feuille d'émargement à vérifier.")
