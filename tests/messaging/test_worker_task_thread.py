"""The worker runs long tasks in a thread of their own (messaging/cli._TaskThread): its passes send the outbox while a
task is still running; the task then completes; stopping the worker puts an unfinished task back in the queue."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from trainingmgr.extensions import db
from trainingmgr.messaging import cli as messaging_cli
from trainingmgr.messaging import tasks
from trainingmgr.messaging.models import OutboxMessage, Task

ENTERED = threading.Event()
RELEASE = threading.Event()
WAIT = 30  # seconds: a bound on each wait, never a measured duration


@tasks.task_runner("test_block")
def _blocking_runner(task, progress):
    """Reports once, then blocks until the test releases it, then reports twice more."""
    progress.begin(2, "En attente du test")
    ENTERED.set()
    RELEASE.wait(WAIT)
    progress.advance("Moitié")
    progress.advance("Fin")


@pytest.fixture(autouse=True)
def _events():
    ENTERED.clear()
    RELEASE.clear()
    yield
    RELEASE.set()  # never leave a runner blocked


def _until(condition, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    db.session.rollback()
    raise AssertionError(f"toujours pas : {what}")


def _status(task_id: int) -> str:
    db.session.rollback()
    return db.session.scalar(select(Task.status).where(Task.id == task_id))


def _message_status(message_id: int) -> str:
    db.session.rollback()
    return db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message_id))


def _start(actor) -> int:
    task = tasks.start_task("test_block", "Traitement bloquant", {}, actor, unit="étapes")
    db.session.commit()
    return task.id


@pytest.fixture
def running_worker(smtp_app, monkeypatch):
    """`flask worker --interval 1` in a thread; yields its stopper (``requested = True`` stops it) and its output."""
    stoppers: list = []

    class RecordedStopper(messaging_cli._Stopper):
        def __init__(self):
            super().__init__()
            stoppers.append(self)

    monkeypatch.setattr(messaging_cli, "_Stopper", RecordedStopper)
    outcome: dict = {}

    def run():
        with smtp_app.app_context():
            try:
                outcome["result"] = smtp_app.test_cli_runner().invoke(args=["worker", "--interval", "1"])
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _until(lambda: stoppers, "le worker a démarré")
    yield stoppers[0], thread, outcome
    stoppers[0].requested = True
    RELEASE.set()
    thread.join(WAIT)


def _output(outcome, capsys) -> str:
    """What the worker printed (click's runner in another thread: some lines reach pytest's capture instead)."""
    return outcome["result"].output + capsys.readouterr().out


def test_the_outbox_is_sent_while_a_long_task_runs(app, users, queue, smtp_server, running_worker, capsys):
    stopper, thread, outcome = running_worker
    task_id = _start(users["advisor"])
    assert ENTERED.wait(WAIT)
    message = queue("pendant@test.example", "Pendant le traitement")

    _until(lambda: _message_status(message.id) == "sent", "l'e-mail est parti")
    assert _status(task_id) == "running" and not RELEASE.is_set()  # sent while the task was still blocked

    RELEASE.set()
    _until(lambda: _status(task_id) == "done", "le traitement est terminé")
    stopper.requested = True
    thread.join(WAIT)
    assert not thread.is_alive()
    assert outcome["result"].exit_code == 0
    printed = _output(outcome, capsys)
    assert "Traitements longs : 1 terminé, 0 en échec." in printed and "Worker arrêté." in printed


def test_stopping_the_worker_puts_the_running_task_back_in_the_queue(app, users, running_worker, capsys):
    stopper, thread, outcome = running_worker
    task_id = _start(users["advisor"])
    assert ENTERED.wait(WAIT)
    assert _status(task_id) == "running"

    stopper.requested = True  # Ctrl-C: the worker waits for the task's next step, which hands it back
    RELEASE.set()
    thread.join(WAIT)

    assert not thread.is_alive()
    assert _status(task_id) == "queued"
    task = db.session.get(Task, task_id)
    assert task.payload[tasks.BASE_KEY] == 1 and task.done == 0
    printed = _output(outcome, capsys)
    assert "Worker arrêté." in printed
    assert tasks.run_task(task_id).status == "done"  # the next worker runs it afresh


def test_one_task_at_a_time(app, users):
    """A pass under way is not doubled: a second start while the thread is busy does nothing."""
    stop = threading.Event()
    runner = messaging_cli._TaskThread(app, stop.is_set)
    first = _start(users["advisor"])
    second = _start(users["advisor"])
    assert runner.start() is True
    assert ENTERED.wait(WAIT)
    assert runner.start() is False and runner.busy
    assert (_status(first), _status(second)) == ("running", "queued")
    ENTERED.clear()
    RELEASE.set()
    assert runner.join(WAIT)
    assert (_status(first), _status(second)) == ("done", "done")
