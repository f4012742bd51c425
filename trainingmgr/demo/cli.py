from __future__ import annotations

import click

from ..core.cli import CommandGroup
from .services import DEMO_LOGINS, load_demo
from .spaces import space_links

demo_cli = CommandGroup("demo", help="Données de démonstration.")


@demo_cli.command("load")
def load():
    """Charger les données de démonstration (sans rien dupliquer si elles existent déjà)."""
    done = load_demo()
    for line in done:
        click.echo(line)
    if not done:
        click.echo("Les données de démonstration sont déjà chargées.")
    click.echo("\nComptes de démonstration :")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.role.label:<22} {login.email:<32} mot de passe : {login.password}")
    links = space_links()
    if links:
        click.echo("\nEspaces sans mot de passe (liens personnels) :")
        for line in links:
            click.echo(line)
