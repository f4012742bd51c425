"""``flask --app app gdpr …``: the retention policy, its purge, and the export of one trainee's data."""
from __future__ import annotations

import click

from ..core.cli import DATABASE_ID, CommandError, CommandGroup
from ..core.errors import DomainError
from ..core.formatting import count_fr, date_fr, plural_fr
from ..extensions import db
from ..files.services import remove_contents
from . import retention, services

gdpr_cli = CommandGroup("gdpr", help="Données personnelles (RGPD) : durées de conservation, purge, export.")


@gdpr_cli.command("policy")
def policy():
    """Afficher la politique de conservation en vigueur."""
    try:
        rules = retention.policy()
    except DomainError as exc:
        raise CommandError(exc.message) from None
    for rule, months in rules:
        click.echo(f"{rule.label} : {retention.period_label(months)} {rule.start}.")
        click.echo(f"  {rule.action}")
    for label, why in retention.KEPT:
        click.echo(f"{label} : {why}")


@gdpr_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Lister ce qui a dépassé sa durée de conservation, sans rien modifier.")
def purge(dry_run: bool):
    """Anonymiser ou effacer les données personnelles qui ont dépassé leur durée de conservation (avec --dry-run :
    les lister seulement)."""
    try:
        report = services.purge(dry_run=dry_run)
    except DomainError as exc:
        db.session.rollback()
        raise CommandError(exc.message) from None
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
        remove_contents(report.freed)  # the erased meeting reports' files, now that no row names them
    click.echo(f"Purge RGPD du {date_fr(report.today)}"
               + (" – simulation (--dry-run) : rien n'est modifié." if dry_run else "."))
    for kind in report.kinds:
        click.echo(f"{kind.rule.label} ({retention.period_label(kind.months)} {kind.rule.start}, soit avant le "
                   f"{date_fr(kind.cutoff)}) : {len(kind.items)}")
        for item in kind.items:
            click.echo(f"  - {item.label}")
    done = "à anonymiser ou effacer" if dry_run else plural_fr(report.total, "anonymisé ou effacé",
                                                                 "anonymisés ou effacés")
    click.echo(f"Total : {count_fr(report.total, 'élément')} {done}.")


@gdpr_cli.command("export")
@click.argument("trainee_id", type=DATABASE_ID)
def export(trainee_id: int):
    """Écrire en JSON tout ce qui est conservé sur un stagiaire (droit d'accès)."""
    from ..trainees.models import Trainee

    trainee = db.session.get(Trainee, trainee_id)
    if trainee is None:
        raise CommandError(f"Stagiaire n° {trainee_id} introuvable.")
    click.echo(services.export_json(trainee))
