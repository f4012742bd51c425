"""``flask automations dry-run``: what the rules will send in the next days, from the code that sends it."""
from __future__ import annotations

import datetime as dt

import click

from ..core.cli import DATABASE_ID, CommandGroup, InvalidValue
from ..core.formatting import count_fr, datetime_fr
from ..core.timeutil import utcnow
from ..extensions import db
from . import engine

automations_cli = CommandGroup("automations", help="Automatisations (e-mails envoyés par les règles).")
MAX_DAYS = 366


def _days(ctx, param, value: int) -> int:
    if not 1 <= value <= MAX_DAYS:
        raise InvalidValue(f"Le nombre de jours doit être compris entre 1 et {MAX_DAYS} (reçu : {value}).",
                           ctx=ctx, param=param)
    return value


@automations_cli.command("dry-run")
@click.option("--days", type=int, default=7, show_default=True, callback=_days,
              help="Nombre de jours à venir.")
@click.option("--session", "session_id", type=DATABASE_ID, default=None, help="Seulement cette session.")
def dry_run(days: int, session_id: int | None):
    """Lister les e-mails que les règles enverront dans les prochains jours (rien n'est envoyé)."""
    now = utcnow()
    planned = engine.plan(now, now + dt.timedelta(days=days), session_id=session_id)
    # Nothing is sent nor claimed; what the plan creates on its way stays, as on the Automatisations page: the
    # default rules, and what a message would link to (a trainee's personal link).
    db.session.commit()
    for message in planned:
        click.echo(line(message))
    click.echo(f"{count_fr(len(planned), 'message')} en {count_fr(days, 'jour')}.")


def line(message: engine.Planned) -> str:
    """25/11/2026 09:00 · stagiaire@exemple.fr · Objet · pièces jointes : a.pdf, b.ics (· ERREUR : …)"""
    parts = [datetime_fr(message.when), message.recipient.email, message.subject or "(objet non rendu)"]
    if message.attachments:
        parts.append("pièces jointes : " + ", ".join(filename for _, filename in message.attachments))
    parts.append(f"règle « {message.rule.name} »")
    if message.error:
        parts.append(f"ERREUR : {message.error}")
    return " · ".join(parts)
