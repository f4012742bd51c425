"""`flask --app app mail send`, `flask --app app tick` (cron) and `flask --app app worker` (a loop)."""
from __future__ import annotations

import signal
import threading
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..core.cli import Command, CommandError, CommandGroup, database_problem
from ..core.formatting import datetime_fr
from ..core.timeutil import utcnow
from ..extensions import db
from . import delivery, services
from .models import OutboxMessage

mail_cli = CommandGroup("mail", help="Boîte d'envoi des e-mails.")

# `mail send` goes on while batches come back full, within this bound.
MAX_BATCHES = 50


@mail_cli.command("send")
def send():
    """Envoyer les e-mails en attente arrivés à échéance."""
    sent = failed = 0
    try:
        for _ in range(MAX_BATCHES):
            batch_sent, batch_failed = services.send_due_messages(limit=services.BATCH_SIZE)
            sent, failed = sent + batch_sent, failed + batch_failed
            if batch_sent + batch_failed < services.BATCH_SIZE:
                break
    finally:
        db.session.remove()
    click.echo(f"{sent} {_emails_done()}, {failed} échec(s).")
    if failed:
        click.echo("Les échecs sont retentés plus tard ; détail sur la page « Envois » (/admin/outbox).", err=True)


def _check_database() -> None:
    """Raise the driver's error when the database cannot be reached or has no tables yet: ``services.tick``
    would otherwise log and report the same failure once per task."""
    try:
        db.session.execute(select(OutboxMessage.id).limit(1))
    finally:
        db.session.rollback()


@click.command("tick", cls=Command)
@with_appcontext
def tick():
    """Un passage du worker : tâches échues puis boîte d'envoi (pour cron)."""
    try:
        _check_database()  # unusable database: one line and exit code 1 (core/cli.py)
        result = services.tick()
    finally:
        db.session.remove()
    click.echo(_summary(result))
    for error in result["errors"]:
        click.echo(f"Erreur : {error}", err=True)
    if result["errors"]:
        raise SystemExit(1)  # cron tells the administrator


def _emails_done() -> str:
    """« e-mail(s) envoyé(s) », or, with MAIL_BACKEND=console, what really happened to them."""
    if delivery.mail_is_off():
        return "e-mail(s) écrit(s) dans la console (non envoyés : MAIL_BACKEND=console)"
    return "e-mail(s) envoyé(s)"


def _summary(result: dict) -> str:
    return (f"{result['jobs_done']} tâche(s) exécutée(s), {result['sent']} {_emails_done()}, "
            f"{result['jobs_failed'] + result['send_failed']} échec(s).")


class _Stopper:
    """Ctrl-C (SIGINT) or SIGTERM asks the worker to stop after the message or job in hand; a second
    Ctrl-C stops it at once (what was claimed is retried later, nothing is lost)."""

    def __init__(self):
        self.requested = False
        self._previous: dict[int, object] = {}

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(signum)
            if current == signal.SIG_IGN:  # e.g. SIGINT in a background job of a script: leave it so
                continue
            self._previous[signum] = current
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))


@click.command("worker", cls=Command)
@click.option("--interval", default=30, show_default=True, type=click.IntRange(min=1),
              help="Secondes entre deux passages.")
@click.option("--once", is_flag=True, help="Un seul passage, puis s'arrêter.")
@with_appcontext
def worker(interval: int, once: bool):
    """Tourner en continu : tâches échues puis boîte d'envoi, toutes les INTERVAL secondes.

    Ctrl-C (ou SIGTERM) arrête le worker après l'envoi ou la tâche en cours. Base de données injoignable : le
    worker le signale et réessaie au passage suivant ; avec --once, code de sortie 1 (comme tout passage en
    erreur)."""
    stopper = _Stopper()
    stopper.install()
    click.echo(f"Worker démarré (un passage toutes les {interval} s ; Ctrl-C pour l'arrêter).")
    if delivery.mail_is_off():
        click.echo("ATTENTION : aucun e-mail ne part (MAIL_BACKEND=console) : chaque message est écrit ici, "
                   "dans la console, et personne ne le reçoit. Définissez MAIL_SERVER pour envoyer.")
    failed = database_down = False
    try:
        while not stopper.requested:
            try:
                _check_database()
                if database_down:
                    click.echo(f"{datetime_fr(utcnow())} – Base de données de nouveau disponible.")
                    database_down = False
                result = services.tick(stop=stopper)
            except Exception as exc:  # keep looping: the next pass retries
                db.session.rollback()
                problem = database_problem(exc)
                if once and problem:
                    raise CommandError(problem) from None
                failed = True
                if problem:  # a passing outage must not stop the worker
                    database_down = True
                    click.echo(f"{datetime_fr(utcnow())} – {problem} Nouvel essai dans {interval} s.", err=True)
                else:
                    click.echo(f"Passage interrompu : {type(exc).__name__} : {exc}", err=True)
            else:
                if once or any(result[k] for k in ("jobs_done", "jobs_failed", "sent", "send_failed")):
                    click.echo(f"{datetime_fr(utcnow())} – {_summary(result)}")
                for error in result["errors"]:
                    click.echo(f"Erreur : {error}", err=True)
                failed = failed or bool(result["errors"])
            finally:
                db.session.remove()
            if once:
                break
            stopper.sleep(interval)
    except KeyboardInterrupt:
        db.session.rollback()
        db.session.remove()
        click.echo("Worker interrompu (arrêt forcé) : ce qui était en cours sera repris au prochain passage.")
        raise SystemExit(130)
    finally:
        stopper.restore()
    click.echo("Worker arrêté.")
    if once and failed:
        raise SystemExit(1)  # a script or cron running one pass learns that it failed, as with `tick`
