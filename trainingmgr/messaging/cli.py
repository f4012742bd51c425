from __future__ import annotations

import time

import click
from flask.cli import AppGroup, with_appcontext

from ..extensions import db
from . import services

mail_cli = AppGroup("mail", help="Boîte d'envoi des e-mails.")


@mail_cli.command("send")
def send():
    """Envoyer les e-mails en attente arrivés à échéance."""
    sent, failed = services.send_due_messages()
    click.echo(f"{sent} e-mail(s) envoyé(s), {failed} échec(s) (réessai plus tard).")


@click.command("tick")
@with_appcontext
def tick():
    """Un passage du worker : tâches échues puis boîte d'envoi (pour cron)."""
    result = services.tick()
    click.echo(f"{result['jobs_done']} tâche(s), {result['sent']} e-mail(s) envoyé(s), "
               f"{result['jobs_failed'] + result['send_failed']} échec(s).")


@click.command("worker")
@click.option("--interval", default=30, show_default=True, help="Secondes entre deux passages.")
@click.option("--once", is_flag=True, help="Un seul passage.")
@with_appcontext
def worker(interval: int, once: bool):
    """Tourner en continu : tâches échues puis boîte d'envoi, toutes les INTERVAL secondes."""
    click.echo(f"Worker démarré (un passage toutes les {interval} s).")
    while True:
        try:
            services.tick()
        except Exception as exc:  # keep looping: the next pass retries
            db.session.rollback()
            click.echo(f"Passage interrompu : {exc}", err=True)
        finally:
            db.session.remove()
        if once:
            return
        time.sleep(interval)
