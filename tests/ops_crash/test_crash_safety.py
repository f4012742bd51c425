"""Crash safety with real processes: the web server and the worker run as child processes (``flask --app app
run`` / ``flask --app app worker``, configured through the environment as in production) on the test's
database (a SQLite file, or the PostgreSQL database created for the run), and are killed with SIGKILL in the
middle of their work.

- A burst of signatures: every signature acknowledged to the client (302) is in the database after the kill,
  the session's hash chain is intact (``flask attendance verify``), and after a restart the others sign.
- The worker sending the outbox to a slow SMTP server (aiosmtpd in this process): killed while the server has
  not accepted the message, the message leaves once after the restart; killed between the server's acceptance
  and the worker's commit, it leaves again with the same Message-ID (README "E-mails and jobs": at least once).
  Nothing is lost, and nothing is sent a third time.

SKIP_CRASH_TESTS=1 leaves them out.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.core.timeutil import paris_today, utcnow
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.messaging.services import INTERRUPTED_NOTE, queue_email

from tests.attendance.support import drawing, link, slots
from tests.enrolments.support import person
from tests.fixtures.messaging import free_port
from tests.helpers import seal_key_dir

pytestmark = pytest.mark.skipif(os.environ.get("SKIP_CRASH_TESTS") == "1", reason="SKIP_CRASH_TESTS=1")

ROOT = Path(__file__).resolve().parents[2]
SIGNERS = 30
KILL_AFTER_ACKS = 8
SENDER = "Formaction Sud-Ouest <formation@formaction.example>"
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


# --------------------------------------------------------------------------- child processes


class Child:
    """A ``flask --app app …`` command in a process of its own, configured by the environment; its output goes
    to a log file shown when something fails."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                                        stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no commit."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._out.close()

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._out.close()


@pytest.fixture
def children():
    """Every child started by the test is killed at its end, whatever happens."""
    made: list[Child] = []
    yield made
    for child in made:
        if child.process.poll() is None:
            child.kill()


@pytest.fixture
def child_env(app, tmp_path):
    """The production configuration through the environment, on the test's database."""

    def make(**extra) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("FLASK_", "MAIL_", "DATABASE_URL", "TEST_DATABASE_URL"))}
        env.update({
            "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": app.config["SECRET_KEY"],  # the signing links were made with it
            "FILES_DIR": str(tmp_path / "files"),
            "SEAL_KEY_DIR": seal_key_dir(),
            "PDF_CONVERTER": "none",
            "PYTHONUNBUFFERED": "1",
        })
        env.update({key: str(value) for key, value in extra.items()})
        return env

    return make


def flask_command(command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *command.split()], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------- 1. the web server


def start_server(children, env: dict, tmp_path: Path) -> tuple[Child, tuple[str, int]]:
    port = free_port()
    child = Child(["run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger",
                   "--with-threads"], env, tmp_path / f"server-{port}.log")
    children.append(child)
    deadline = time.monotonic() + 30
    while True:
        if child.process.poll() is not None:
            pytest.fail(f"the server stopped at start:\n{child.output()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return child, ("127.0.0.1", port)
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer within 30 s:\n{child.output()}")
        time.sleep(0.1)


def request(address, method: str, path: str, form: dict | None = None, cookie: str = ""):
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Signer:
    """One trainee's phone: the signing link, its cookie and the CSRF token of the page it read."""

    def __init__(self, path: str, enrolment_id: int):
        self.path, self.enrolment_id = path, enrolment_id
        self.cookie = self.token = ""

    def open_page(self, address) -> None:
        response, body = request(address, "GET", self.path)
        assert response.status == 200, body[:500]
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        self.cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())
        self.token = CSRF.search(body).group(1)

    def form(self, index: int) -> dict:
        return {"csrf_token": self.token, "signature": drawing(size=(300 + index, 150)), "typed_name": ""}


@pytest.fixture
def class_today(world, make_session, users):
    """A confirmed DUME session for SIGNERS trainees whose first slot is today: ``(session, slot, [enrolments])``."""
    from trainingmgr.catalogue.services import create_course, set_course_status
    from trainingmgr.demo.seeds import DUME_CHORUS_PRO
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.sessions.services import change_status
    from trainingmgr.trainees.services import save_trainee

    course = create_course({**DUME_CHORUS_PRO, "max_trainees": SIGNERS, "delivery_mode": "distanciel"},
                           users["advisor"], slug="dume-crash")
    set_course_status(course, "published")
    db.session.commit()
    session = make_session(course=course, start=paris_today(), location=world.remote, capacity=SIGNERS)
    for slot in session.slots:  # this is about the register surviving a crash, not about the e-mailed code that a
        slot.modality = "room"  # virtual half-day asks for by personal link (tests/attendance/test_remote_halfdays.py)
    change_status(session, "open", users["advisor"])
    enrolments = [enrol(session, save_trainee(None, person(i + 1)), actor=users["advisor"], notify=False)
                  for i in range(SIGNERS)]
    change_status(session, "confirmed", users["advisor"])
    db.session.commit()
    assert all(e.status == "confirmed" for e in enrolments)
    slot = slots(session)[0]
    assert slot.date == paris_today()
    return session, slot, enrolments


def signed(slot_id: int) -> Counter:
    """Signatures on the slot per enrolment, as committed (a fresh transaction)."""
    db.session.remove()
    return Counter(db.session.scalars(select(AttendanceRecord.enrolment_id).where(
        AttendanceRecord.slot_id == slot_id, AttendanceRecord.kind == "signature")))


def test_killing_the_server_mid_burst_loses_no_acknowledged_signature(app, class_today, child_env, children,
                                                                      tmp_path):
    session, slot, enrolments = class_today
    signers = [Signer(link(e, slot), e.id) for e in enrolments]
    slot_id, session_id = slot.id, session.id
    db.session.remove()  # nothing held open by the test while the server works
    # Today's slot open whatever the hour; the rest is the production configuration.
    env = child_env(ATTENDANCE_OPENS_BEFORE_MINUTES=24 * 60, ATTENDANCE_CLOSES_AFTER_MINUTES=24 * 60)
    server, address = start_server(children, env, tmp_path)
    for signer in signers:
        signer.open_page(address)

    # The burst: every trainee posts at once; the server is killed once KILL_AFTER_ACKS answers came back.
    answers: list[object] = [None] * SIGNERS
    acked: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()
    barrier = threading.Barrier(SIGNERS + 1)
    forms = [signer.form(i) for i, signer in enumerate(signers)]

    def post(i: int) -> None:
        conn = http.client.HTTPConnection(*address, timeout=30)
        try:
            conn.connect()
            body = urlencode(forms[i])
            barrier.wait(timeout=30)
            conn.request("POST", signers[i].path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": signers[i].cookie})
            response = conn.getresponse()
            response.read()
            answers[i] = response.status
            if response.status == 302:
                with lock:
                    acked.append(i)
                    if len(acked) >= KILL_AFTER_ACKS:
                        enough.set()
        except Exception as exc:  # the server died under this request: no answer, no promise
            answers[i] = repr(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(SIGNERS)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=30)
    assert enough.wait(timeout=30), f"not {KILL_AFTER_ACKS} signatures acknowledged: {answers}\n{server.output()}"
    server.kill()
    for thread in threads:
        thread.join(timeout=30)
    with lock:
        acknowledged = set(acked)

    unanswered = [i for i, answer in enumerate(answers) if not isinstance(answer, int)]
    assert unanswered, f"the kill came after the burst, nothing was tested: {answers}"
    assert all(answers[i] == 302 for i in range(SIGNERS) if i not in unanswered), answers
    # Every acknowledged signature is there, once; the others are there at most once.
    after_kill = signed(slot_id)
    assert all(after_kill[signers[i].enrolment_id] == 1 for i in acknowledged), (sorted(acknowledged), after_kill)
    assert set(after_kill.values()) <= {1}
    assert len(after_kill) >= len(acknowledged)
    check = verify_chain(session_id)
    assert check.ok and check.length == sum(after_kill.values()), (check.problem, check.length, after_kill)
    verified = flask_command(f"attendance verify {session_id}", env)
    assert verified.returncode == 0 and "intègre" in verified.stdout, verified.stdout + verified.stderr

    # Restarted, the server takes the phones that got no answer retrying with the same page (cookie and token):
    # a signature that did not make it is taken, one that did is refused politely, never twice, never a 500.
    server, address = start_server(children, env, tmp_path)
    for i in unanswered:
        response, body = request(address, "POST", signers[i].path, forms[i], signers[i].cookie)
        if after_kill[signers[i].enrolment_id]:
            assert response.status == 409 and "déjà signé" in body, (response.status, body[:300])
        else:
            assert response.status == 302, (response.status, body[:500])
    server.kill()

    final = signed(slot_id)
    assert final == Counter({e.id: 1 for e in enrolments})
    check = verify_chain(session_id)  # what `attendance verify` runs
    assert check.ok and check.length == SIGNERS, (check.problem, check.length)


# --------------------------------------------------------------------------- 2. the worker and the outbox


class SlowHandler:
    """An SMTP server slow to answer RCPT (the message not accepted yet) and DATA (accepted, as a real server
    has queued it before it replies: a client gone meanwhile does not undo the delivery)."""

    def __init__(self):
        self.rcpt_delay = self.data_delay = 0.0
        self.received: list[str] = []  # Message-IDs of the accepted messages
        self.phases: list[str] = []  # "rcpt" / "data", in the order the server entered them
        self.changed = threading.Condition()

    def _enter(self, phase: str) -> None:
        with self.changed:
            self.phases.append(phase)
            self.changed.notify_all()

    def wait_for(self, phase: str, count: int, timeout: float = 30) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.phases.count(phase) >= count, timeout=timeout)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's API
        self._enter("rcpt")
        await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        mail = message_from_bytes(envelope.original_content.replace(b"\r\n", b"\n"), policy=policy.default)
        with self.changed:
            self.received.append(mail["Message-ID"])
        self._enter("data")
        await asyncio.sleep(self.data_delay)
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_smtp():
    handler = SlowHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def outbox() -> dict[int, OutboxMessage]:
    db.session.remove()
    return {m.id: m for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))}


def test_killing_the_worker_mid_send_loses_no_email_and_sends_none_twice(app, slow_smtp, child_env, children,
                                                                        tmp_path):
    handler, port = slow_smtp
    ids = []
    for n in range(1, 6):
        message = queue_email(f"stagiaire{n}@test.example", f"Convocation {n}", f"Bonjour {n}.")
        db.session.commit()
        ids.append(message.id)
    first, second, third = ids[:3]
    db.session.remove()
    env = child_env(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DEFAULT_SENDER=SENDER, MAIL_TIMEOUT=30)

    # Run 1: killed while the server has not accepted the second message yet (its RCPT is slow).
    handler.rcpt_delay = 1.0
    worker = Child(["worker", "--interval", "1"], env, tmp_path / "worker-1.log")
    children.append(worker)
    assert handler.wait_for("rcpt", 2), worker.output()
    worker.kill()
    rows = outbox()
    assert rows[first].status == "sent" and handler.received == [rows[first].message_id]
    interrupted = rows[second]
    assert (interrupted.status, interrupted.attempts) == ("pending", 1)
    assert interrupted.last_error == INTERRUPTED_NOTE.format(n=1)  # the claim, committed before the dialogue
    assert interrupted.message_id and interrupted.next_attempt_at > utcnow()  # backed off, not lost
    assert all((rows[i].status, rows[i].attempts) == ("pending", 0) for i in ids[2:])

    # Run 2: killed after the server accepted the third message, before the worker could commit it as sent.
    handler.rcpt_delay, handler.data_delay = 0.0, 1.0
    worker = Child(["worker", "--interval", "1"], env, tmp_path / "worker-2.log")
    children.append(worker)
    assert handler.wait_for("data", 2), worker.output()
    worker.kill()
    rows = outbox()
    # The second message waits for its back-off delay: the restarted worker went on with the third.
    assert handler.received == [rows[first].message_id, rows[third].message_id]
    assert (rows[second].status, rows[second].attempts) == ("pending", 1)
    assert (rows[third].status, rows[third].attempts) == ("pending", 1)
    assert rows[third].last_error == INTERRUPTED_NOTE.format(n=1)

    # The back-off delay passes (the interrupted attempts become due), then the worker runs again to the end.
    db.session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.attempts > 0)
                       .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    db.session.remove()
    handler.data_delay = 0.0
    worker = Child(["worker", "--once"], env, tmp_path / "worker-3.log")
    children.append(worker)
    assert worker.wait(timeout=60) == 0, worker.output()
    assert "4 e-mails envoyés, 0 échec." in worker.output(), worker.output()

    rows = outbox()
    assert all(row.status == "sent" and row.last_error == "" for row in rows.values()), {
        i: (r.status, r.last_error) for i, r in rows.items()}
    received = Counter(handler.received)
    expected = Counter({row.message_id: 1 for row in rows.values()})
    # Every e-mail arrived; the one accepted in the instant before the kill arrived twice with its Message-ID.
    expected[rows[third].message_id] = 2
    assert received == expected
    assert len({row.message_id for row in rows.values()}) == len(ids)
    assert (rows[second].attempts, rows[third].attempts) == (2, 2)
