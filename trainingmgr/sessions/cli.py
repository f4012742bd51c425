from __future__ import annotations

import click

from ..core.cli import CommandGroup
from ..core.formatting import count_fr
from ..extensions import db
from . import services

sessions_cli = CommandGroup("sessions", help="Sessions de formation.")


@sessions_cli.command("advance")
def advance():
    """Passer en « en cours » / « terminée » les sessions confirmées selon leurs créneaux."""
    changed = services.advance_sessions()
    db.session.commit()
    for session, status in changed:
        click.echo(f"Session {session.id} : {status}")
    click.echo(f"{count_fr(len(changed), 'changement')}.")
