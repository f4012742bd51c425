"""`flask --app app mail send`, `flask --app app tick` (cron) and `flask --app app worker` (a loop)."""
from __future__ import annotations

import signal
import threading
import time

from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..core.cli import Command, CommandError, CommandGroup, database_problem
from ..core.formatting import count_fr, datetime_fr, plural_fr
from ..core.timeutil import utcnow
from ..extensions import db
from . import delivery, services, tasks
from ..files.services import path_for
from .models import OutboxMessage, Task, TaskStatus

mail_cli = CommandGroup("mail", help="Boîte d'envoi des e-mails.")

# `mail send` goes on while batches come back full, within this bound.
MAX_BATCHES = 50
# Between two passes, the worker looks for queued long tasks this often (seconds): a task starts within about that.
TASK_POLL_SECONDS = 1


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
    click.echo(f"{_emails_done(sent)}, {count_fr(failed, 'échec')}.")
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
        _run_tasks(None, result)
    finally:
        db.session.remove()
    click.echo(_summary(result))
    for error in result["errors"]:
        click.echo(f"Erreur : {error}", err=True)
    if result["errors"]:
        raise SystemExit(1)  # cron tells the administrator


def _emails_done(count: int) -> str:
    """« 2 e-mails envoyés », or, with MAIL_BACKEND=console, what really happened to them."""
    if delivery.mail_is_off():
        return (f"{count_fr(count, 'e-mail écrit')} dans la console (non {plural_fr(count, 'envoyé')} : "
                "MAIL_BACKEND=console)")
    return count_fr(count, "e-mail envoyé")


def _summary(result: dict) -> str:
    line = (f"{count_fr(result['jobs_done'], 'tâche exécutée')}, {_emails_done(result['sent'])}, "
            f"{count_fr(result['jobs_failed'] + result['send_failed'], 'échec')}.")
    if result.get("tasks_done") or result.get("tasks_failed"):
        line += (f" Traitements longs : {count_fr(result['tasks_done'], 'terminé')}, "
                 f"{result['tasks_failed']} en échec.")
    return line


def _run_tasks(stop, result: dict | None = None) -> tuple[int, int]:
    """Run the queued long tasks (messaging/tasks.py), interrupted ones seen first; their outcome is added to
    ``result`` (a pass's) when given. A failure of the queue itself is reported in ``result["errors"]``."""
    try:
        done, failed = tasks.run_queued_tasks(stop=stop)
    except Exception as exc:
        db.session.rollback()
        if result is not None:
            result["errors"].append(f"traitements : {type(exc).__name__} : {exc}")
        return 0, 0
    if result is not None:
        result["tasks_done"], result["tasks_failed"] = done, failed
    return done, failed


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


class _TaskThread:
    """The worker's long tasks, run in a thread of their own so that the passes (jobs, e-mails) go on meanwhile: one
    pass over the queue at a time, one task at a time, with its own application context and database session.
    ``stop`` (the worker's Ctrl-C) puts the task in hand back in the queue at its next step."""

    def __init__(self, app, stop: Callable[[], bool]):
        self.app = app
        self.stop = stop
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a pass over the queue unless one is under way (or stop was asked). Whether one started."""
        if self.busy or self.stop():
            return False
        self._thread = threading.Thread(target=self._run, name="worker-tasks", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        with self.app.app_context():
            result: dict = {"errors": []}
            try:
                done, failed = _run_tasks(self.stop, result)
            finally:
                db.session.remove()
        if done or failed:
            click.echo(f"{datetime_fr(utcnow())} – Traitements longs : {count_fr(done, 'terminé')}, "
                       f"{failed} en échec.")
        for error in result["errors"]:
            click.echo(f"Erreur : {error}", err=True)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the pass under way (by short waits: a second Ctrl-C still interrupts). Whether it ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.busy:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._thread.join(0.2)
        return True


def _wait_for_next_pass(stopper: _Stopper, interval: int, database_down: bool,
                        task_thread: _TaskThread | None = None) -> None:
    """Sleep until the next pass, starting the long tasks queued meanwhile: one asked for from a page starts within
    about TASK_POLL_SECONDS (while the database is down, the next pass says so: no polling until then). With
    ``task_thread`` they run there (the passes go on); without, here, one after the other."""
    deadline = time.monotonic() + interval
    while not stopper.requested:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stopper.sleep(min(TASK_POLL_SECONDS, left))
        if database_down or stopper.requested or time.monotonic() >= deadline:
            continue
        if task_thread is not None:
            task_thread.start()
            continue
        try:
            done, failed = _run_tasks(stopper)
        finally:
            db.session.remove()
        if done or failed:
            click.echo(f"{datetime_fr(utcnow())} – Traitements longs : {done} terminé(s), {failed} en échec.")


@click.command("worker", cls=Command)
@click.option("--interval", default=30, show_default=True, type=click.IntRange(min=1),
              help="Secondes entre deux passages.")
@click.option("--once", is_flag=True, help="Un seul passage, puis s'arrêter.")
@with_appcontext
def worker(interval: int, once: bool):
    """Tourner en continu : tâches échues puis boîte d'envoi, toutes les INTERVAL secondes ; les traitements longs
    (dossiers, exports…) démarrent dans la seconde où ils sont demandés.

    Les traitements longs tournent à part : les envois continuent pendant ce temps. Ctrl-C (ou SIGTERM) arrête le
    worker après l'envoi en cours ; un traitement en cours est remis en file à son étape suivante. Base de données injoignable : le
    worker le signale et réessaie au passage suivant ; avec --once, code de sortie 1 (comme tout passage en
    erreur)."""
    stopper = _Stopper()
    stopper.install()
    click.echo(f"Worker démarré (un passage toutes les {interval} s ; Ctrl-C pour l'arrêter).")
    if delivery.mail_is_off():
        click.echo("ATTENTION : aucun e-mail ne part (MAIL_BACKEND=console) : chaque message est écrit ici, "
                   "dans la console, et personne ne le reçoit. Définissez MAIL_SERVER pour envoyer.")
    failed = database_down = False
    task_thread = None if once else _TaskThread(current_app._get_current_object(), stopper)
    try:
        while not stopper.requested:
            try:
                _check_database()
                if database_down:
                    click.echo(f"{datetime_fr(utcnow())} – Base de données de nouveau disponible.")
                    database_down = False
                result = services.tick(stop=stopper)
                if task_thread is None:
                    _run_tasks(stopper, result)
                else:
                    task_thread.start()
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
                if once or any(result.get(k) for k in ("jobs_done", "jobs_failed", "sent", "send_failed",
                                                       "tasks_done", "tasks_failed")):
                    click.echo(f"{datetime_fr(utcnow())} – {_summary(result)}")
                for error in result["errors"]:
                    click.echo(f"Erreur : {error}", err=True)
                failed = failed or bool(result["errors"])
            finally:
                db.session.remove()
            if once:
                break
            _wait_for_next_pass(stopper, interval, database_down, task_thread)
        if task_thread is not None and task_thread.busy:
            click.echo("Arrêt : le traitement en cours est remis en file à son étape suivante…")
            task_thread.join()
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


def run_task_to_file(task_id: int, out: str | None) -> tuple[Task, Path]:
    """Run a task from a command (`documents pack`, `exports run`): a line per step (« 12/34 Convocation — … »),
    Ctrl-C fails it in French, and its file is written to ``out`` (else the name the task gave it)."""
    try:
        task = tasks.run_task(task_id, echo=lambda t: click.echo(f"{t.done}/{t.total} {t.step}".rstrip()))
    except KeyboardInterrupt:
        tasks.fail_task(task_id, "Traitement interrompu (Ctrl-C en ligne de commande) : relancez-le.")
        raise
    if task.status != TaskStatus.DONE.value:
        raise CommandError(task.error or f"Le traitement n° {task_id} n'a pas abouti ({task.status_label}).")
    target = Path(out or task.result_name)
    target.write_bytes(path_for(task.result_file).read_bytes())
    return task, target
