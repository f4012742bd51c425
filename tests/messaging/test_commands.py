"""`flask --app app mail send`, `tick` and `worker`; the console backend of development."""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from queue import Empty, Queue

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from trainingmgr.config import normalise_database_url
from trainingmgr.core.timeutil import utcnow
from trainingmgr.extensions import db
from trainingmgr.messaging import services
from trainingmgr.messaging.models import Job, OutboxMessage
from trainingmgr.messaging.services import queue_email, schedule_job

from tests.cli_support import FLASK, flask_env, run_flask
from tests.helpers import seal_key_dir

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "motdepasse-tres-secret"


def statuses() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


@pytest.fixture
def due_job(app, monkeypatch):
    """A due job whose handler queues an e-mail."""

    def handler(payload):
        queue_email("tache@test.example", "Depuis une tâche", "Texte")

    monkeypatch.setitem(services._JOB_HANDLERS, "test_mail", handler)
    schedule_job("test_mail", "test:1", utcnow() - dt.timedelta(minutes=1))
    db.session.commit()


def test_mail_send_sends_what_is_due(app, queue, invoke, smtp_server):
    queue("un@test.example", "Un")
    queue("deux@test.example", "Deux")
    later = queue("plus.tard@test.example", "Plus tard")
    later.next_attempt_at = utcnow() + dt.timedelta(hours=1)
    db.session.commit()

    result = invoke("mail", "send")

    assert result.exit_code == 0, result.output
    assert "2 e-mails envoyés, 0 échec." in result.output
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Deux", "Un"]
    assert statuses() == ["sent", "sent", "pending"]


def test_mail_send_reports_failures(app, queue, invoke, smtp_server):
    queue()
    smtp_server.stop()
    result = invoke("mail", "send")
    assert result.exit_code == 0, result.output
    assert "0 e-mail envoyé, 1 échec." in result.output
    assert "retentés plus tard" in result.output
    assert statuses() == ["pending"]


def test_tick_runs_the_due_jobs_then_sends(app, due_job, invoke, smtp_server):
    result = invoke("tick")
    assert result.exit_code == 0, result.output
    assert "1 tâche exécutée, 1 e-mail envoyé, 0 échec." in result.output
    assert [m["Subject"] for m in smtp_server.messages] == ["Depuis une tâche"]
    db.session.expire_all()
    assert db.session.scalar(select(Job.status)) == "done"


def test_tick_still_sends_when_the_jobs_crash_and_exits_non_zero(app, queue, invoke, smtp_server, monkeypatch):
    queue()

    def broken(*args, **kwargs):
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(services, "run_due_jobs", broken)
    result = invoke("tick")
    assert result.exit_code == 1
    assert "Erreur : tâches : RuntimeError : base indisponible" in result.output
    assert "1 e-mail envoyé" in result.output
    assert statuses() == ["sent"]


def test_worker_once_does_one_pass(app, due_job, invoke, smtp_server):
    result = invoke("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "Worker démarré" in result.output and "Worker arrêté." in result.output
    assert "1 tâche exécutée, 1 e-mail envoyé" in result.output
    assert len(smtp_server.envelopes) == 1


def test_worker_survives_a_crashing_pass(app, queue, invoke, smtp_server, monkeypatch):
    queue()

    def broken(*args, **kwargs):
        raise RuntimeError("tout casse")

    monkeypatch.setattr(services, "tick", broken)
    result = invoke("worker", "--once")
    assert result.exit_code == 1  # one pass that failed: the script or cron that ran it is told, as with `tick`
    assert "Passage interrompu : RuntimeError : tout casse" in result.output
    assert "Worker arrêté." in result.output


def test_worker_once_exits_1_when_the_pass_reports_errors(app, queue, invoke, smtp_server, monkeypatch):
    queue()

    def broken(*args, **kwargs):
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(services, "run_due_jobs", broken)
    result = invoke("worker", "--once")
    assert result.exit_code == 1
    assert "Erreur : tâches : RuntimeError : base indisponible" in result.output
    assert "1 e-mail envoyé" in result.output and "Worker arrêté." in result.output


@pytest.fixture(params=["postgresql-refused", "postgresql-no-such-database", "sqlite-no-such-folder"])
def unreachable_database(request, tmp_path):
    """A DATABASE_URL the worker cannot connect to, and what the error line must name."""
    if request.param == "postgresql-refused":  # nothing listens on port 1; the password must not be shown
        return f"postgresql://trainingmgr:{PASSWORD}@127.0.0.1:1/trainingmgr", "Connection refused"
    if request.param == "postgresql-no-such-database":
        if not os.environ.get("TEST_DATABASE_URL"):
            pytest.skip("TEST_DATABASE_URL is not set")
        server = make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
        name = f"trainingmgr_absente_{uuid.uuid4().hex[:8]}"
        return server.set(database=name).render_as_string(hide_password=False), f'database "{name}" does not exist'
    return f"sqlite:///{tmp_path / 'absent' / 'trainingmgr.db'}", "unable to open database file"


def test_worker_once_with_an_unreachable_database_says_so_and_exits_1(unreachable_database, tmp_path):
    """`flask --app app worker --once` for real: one French line on stderr, exit code 1, no traceback."""
    url, reason = unreachable_database
    done = run_flask("worker", "--once", database_url=url, files_dir=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.startswith("Erreur : Base de données injoignable : ")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert reason in done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stdout + done.stderr
    assert "Worker arrêté." not in done.stdout


def test_tick_with_an_unreachable_database_says_so_and_exits_1(tmp_path):
    done = run_flask("tick", database_url=f"postgresql://trainingmgr:{PASSWORD}@127.0.0.1:1/trainingmgr",
                     files_dir=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("Erreur : Base de données injoignable : ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and PASSWORD not in done.stdout + done.stderr


def test_the_worker_waits_for_the_database_and_goes_on_when_it_is_back(tmp_path):
    """The long-running worker: an outage is one French line per attempt, never the end of the worker."""
    folder = tmp_path / "absent"
    url = f"sqlite:///{folder / 'trainingmgr.db'}"
    process = subprocess.Popen([FLASK, "--app", "app", "worker", "--interval", "1"], cwd=ROOT,
                               env=flask_env(url, tmp_path / "files"), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: Queue[str] = Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen: list[str] = []

    def wait_for(text: str, times: int = 1) -> None:
        deadline = time.monotonic() + 60
        while sum(text in line for line in seen) < times:
            assert process.poll() is None, "".join(seen)
            try:
                seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except Empty:
                raise AssertionError(f"no {text!r} in:\n{''.join(seen)}") from None

    try:
        wait_for("Base de données injoignable : unable to open database file", times=2)
        assert "Nouvel essai dans 1 s." in seen[-1]
        # The database comes back whole: migrated aside, then its folder renamed into place.
        ready = tmp_path / "ready"
        ready.mkdir()
        migrated = run_flask("db", "upgrade", database_url=f"sqlite:///{ready / 'trainingmgr.db'}",
                             files_dir=tmp_path / "files")
        assert migrated.returncode == 0, migrated.stderr
        ready.rename(folder)
        wait_for("Base de données de nouveau disponible.")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.2)
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    assert process.returncode == 0, output
    assert "Worker arrêté." in output
    assert "Traceback" not in output


def test_worker_refuses_a_zero_interval(app, invoke):
    result = invoke("worker", "--interval", "0")
    assert result.exit_code == 2


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_worker_process_stops_cleanly_on_a_signal(app, database_url, tmp_path, signum):
    """A real `flask --app app worker`: Ctrl-C (or SIGTERM, as `make run` sends) ends it cleanly, at once."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "MAIL_BACKEND": "console",
           "FILES_DIR": str(tmp_path), "SEAL_KEY_DIR": seal_key_dir(), "PYTHONUNBUFFERED": "1"}
    env.pop("MAIL_SERVER", None)
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--interval", "60"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()
        assert "Worker démarré" in first_line, (first_line, process.stderr.read() if process.poll() else "")
        process.send_signal(signum)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Worker arrêté." in out
    assert "Traceback" not in err


def test_the_console_backend_logs_the_message_and_marks_it_sent(app, queue, make_app, caplog):
    console_app = make_app(MAIL_BACKEND="console")
    message = queue("stagiaire@test.example", "Convocation – Chorus Pro", "Bonjour,\nvous êtes convoqué(e).",
                    "<p>Bonjour</p>", attachments=[("convocation.ics", "text/calendar", b"BEGIN:VCALENDAR")])
    with caplog.at_level(logging.INFO, logger="trainingmgr.messaging.services"):
        with console_app.app_context():
            assert services.send_due_messages() == (1, 0)
            db.session.remove()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "trainingmgr.messaging.services")
    assert "E-mail (console, non envoyé) à stagiaire@test.example : Convocation – Chorus Pro" in logged
    assert "Bonjour,\nvous êtes convoqué(e)." in logged
    assert "convocation.ics" in logged
    db.session.expire_all()
    sent = db.session.get(OutboxMessage, message.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, "")


def test_an_unknown_backend_keeps_the_messages_waiting(app, queue, make_app):
    message = queue()
    with make_app(MAIL_BACKEND="pigeon").app_context():
        assert services.send_due_messages() == (0, 1)
        db.session.remove()
    db.session.expire_all()
    waiting = db.session.get(OutboxMessage, message.id)
    assert waiting.status == "pending" and "MAIL_BACKEND inconnu : « pigeon »" in waiting.last_error
