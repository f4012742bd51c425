"""Several application servers and workers on one PostgreSQL database (issue 15): what an organisation runs when
one process is not enough, several gunicorn instances behind a proxy and more than one worker.

The module starts, once for all its tests, on a PostgreSQL database of its own (migrated with `flask db upgrade`):
a private redis-server (the limiter's shared storage, RATELIMIT_STORAGE_URI), a real SMTP server (aiosmtpd, in this
process), two gunicorn servers A and B (2 worker processes each) and two outbox workers (`flask worker`), all with
the same production environment. Requests go to A and B alternately, as a proxy would send them; each test then
checks one promise:

- 20 simultaneous enrolments in a session of 8 seats: 8 seats, then the waiting list, never overfilled;
- every e-mail leaves exactly once, whichever worker takes it;
- every automation fires exactly once (30 convocations due at the same moment, both workers' passes racing for
  them through the ledger);
- invoices issued at once through both servers get consecutive numbers;
- a logout on one server ends the login session on the other;
- the login limit is counted across servers (and their worker processes).

Runs only on PostgreSQL (TEST_DATABASE_URL). Without /usr/bin/redis-server it fails (`make redis` installs it),
unless SKIP_REDIS_TESTS=1, which skips it.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from trainingmgr.core.timeutil import paris_today
from trainingmgr.extensions import db

from tests.fixtures.messaging import SMTPServer, free_port
from tests.helpers import seal_key_dir, throwaway_postgresql
from tests.http_burst import Call, at_once

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin: gunicorn and flask beside the interpreter
REDIS_SERVER = "/usr/bin/redis-server"

pytestmark = [
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                       reason="several servers share one PostgreSQL database: set TEST_DATABASE_URL to run it"),
    pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK) and os.environ.get("SKIP_REDIS_TESTS") == "1",
                       reason=f"SKIP_REDIS_TESTS=1 and no {REDIS_SERVER}"),
]

ADVISOR = "conseil@multi.example"
PASSWORD = "conseil-multi-2026"
SENDER = "Formaction Sud-Ouest <formation@formaction.example>"
LOGIN_LIMIT = 10
SEATS, ENROLMENTS = 8, 20
CONVOCATIONS = 30
INVOICES = 10
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


# --------------------------------------------------------------------------- processes and waits


class Process:
    """A child process in a process group of its own (gunicorn's workers with their master); its output goes to a
    log file, shown when something fails."""

    def __init__(self, name: str, argv: list, env: dict, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen([str(arg) for arg in argv], cwd=ROOT, env=env, stdout=self._out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def output(self, tail: int = 4000) -> str:
        if not self._out.closed:
            self._out.flush()
        return f"--- {self.name} ---\n" + self.log.read_text(errors="replace")[-tail:]

    def stop(self) -> None:
        """SIGTERM (the worker finishes the message in hand, gunicorn its requests), SIGKILL after 15 s; then
        whatever is left of the group."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # a gunicorn worker left behind by its master
        except ProcessLookupError:
            pass
        self._out.close()


def wait_until(predicate, timeout: float, failure) -> None:
    """Poll ``predicate`` every 0.2 s for at most ``timeout`` seconds; ``failure()`` says why it did not happen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(failure(), pytrace=False)
        time.sleep(0.2)


def answers_login(process: Process, address: tuple[str, int]) -> bool:
    if process.popen.poll() is not None:
        pytest.fail(f"{process.name} stopped at start:\n{process.output()}", pytrace=False)
    try:
        connection = http.client.HTTPConnection(*address, timeout=5)
        try:
            connection.request("GET", "/login")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except OSError:
        return False


def run_flask(args: list[str], env: dict, stdin: str | None = None) -> str:
    """A `flask --app app …` command in the cluster's environment; its standard output."""
    done = subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# --------------------------------------------------------------------------- the cluster


@pytest.fixture(scope="module")
def own_database():
    """A PostgreSQL database of the module's own, dropped after it (as tests/conftest.py makes them)."""
    with throwaway_postgresql("trainingmgr_multi") as url:
        yield url


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    """A private redis-server on 127.0.0.1 (a free port, nothing saved to disk), stopped after the module."""
    import redis

    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.fail(f"{REDIS_SERVER} is missing: run `make redis` (apt-get install redis-server), "
                    "or set SKIP_REDIS_TESTS=1 to leave this test out.", pytrace=False)
    work = tmp_path_factory.mktemp("redis")
    port = free_port()
    process = Process("redis", [REDIS_SERVER, "--port", port, "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", work], dict(os.environ), work)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)

    def pings() -> bool:
        if process.popen.poll() is not None:
            pytest.fail(f"redis-server stopped at start:\n{process.output()}", pytrace=False)
        try:
            return client.ping()
        except redis.RedisError:
            return False

    try:
        wait_until(pings, 15, lambda: f"redis-server did not answer within 15 s:\n{process.output()}")
        yield port
    finally:
        client.close()
        process.stop()


@pytest.fixture(scope="module")
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@dataclass
class Cluster:
    a: tuple[str, int]
    b: tuple[str, int]
    token: str  # the advisor's API token
    app: object  # an application in this process on the same database, to read what was committed
    smtp: SMTPServer
    redis_port: int
    processes: list[Process]
    data: SimpleNamespace  # ids of what the setup created

    def both(self, n: int) -> tuple[str, int]:
        """A for even ``n``, B for odd: requests spread over both servers as a proxy spreads them."""
        return self.a if n % 2 == 0 else self.b

    def logs(self) -> str:
        return "\n".join(process.output() for process in self.processes)

    def read(self, statement) -> list:
        """Rows of ``statement`` as committed (a fresh session)."""
        with self.app.app_context():
            try:
                return list(db.session.execute(statement).all())
            finally:
                db.session.remove()


def production_env(database: str, redis_port: int, smtp_port: int, public_port: int, files: Path) -> dict:
    """The production configuration every process of the cluster shares."""
    env = {key: value for key, value in os.environ.items() if not key.startswith((
        "FLASK_", "MAIL_", "DATABASE_URL", "TEST_DATABASE_URL", "RATELIMIT_", "LOGIN_", "PUBLIC_URL", "APP_ENV",
        "SECRET_KEY", "FILES_DIR", "TRUSTED_HOSTS", "PROXY_FIX", "SESSION_COOKIE_", "PDF_CONVERTER",
        "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"))}
    env.update({
        "APP_ENV": "production",
        "DATABASE_URL": database,
        "SECRET_KEY": secrets.token_hex(32),
        "PUBLIC_URL": f"http://127.0.0.1:{public_port}",
        "FILES_DIR": str(files),
        "SEAL_KEY_DIR": seal_key_dir(),
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_DEFAULT_SENDER": SENDER,
        "PDF_CONVERTER": "none",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def working_day(days_ahead: int) -> dt.date:
    day = paris_today() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def prepare(app) -> SimpleNamespace:
    """What the staff would have typed before: the organisation, two published courses (the DUME one; a remote
    one for 30), a room, a virtual class, a trainer, a client company; and INVOICES drafts of a delivered session."""
    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.billing.invoices.drafts import add_line, create_draft
    from trainingmgr.catalogue.services import create_course, set_course_status
    from trainingmgr.companies.services import save_company
    from trainingmgr.demo.seeds import DUME_CHORUS_PRO
    from trainingmgr.demo.services import LOCATION, ORGANISATION
    from trainingmgr.organisation.services import update_organisation
    from trainingmgr.resources.services import save_location, save_trainer
    from trainingmgr.sessions.services import create_session

    with app.app_context():
        try:
            advisor = get_user_by_email(ADVISOR)
            update_organisation(ORGANISATION)
            dume = create_course(DUME_CHORUS_PRO, advisor, slug=DUME_CHORUS_PRO["slug"])
            remote_course = create_course({**DUME_CHORUS_PRO, "max_trainees": CONVOCATIONS, "delivery_mode": "distanciel"},
                                          advisor, slug="dume-distanciel")
            for course in (dume, remote_course):
                set_course_status(course, "published")
            room = save_location(None, LOCATION)
            remote = save_location(None, {"name": "Classe virtuelle", "is_remote": True,
                                          "meeting_url": "https://visio.example.com/salle"})
            db.session.flush()
            trainer = save_trainer(None, {"first_name": "Pierre", "last_name": "Lefèvre",
                                          "email": "formateur@multi.example"})
            company = save_company(None, {"name": "Atelier d'architecture Garonne", "siret": "44306184100021",
                                          "address": "8 quai de la Daurade", "postal_code": "31000",
                                          "city": "Toulouse"})
            db.session.flush()
            delivered, _ = create_session({"course_id": dume.id, "start_date": working_day(45), "format": "inter",
                                           "location_id": room.id, "trainer_ids": [trainer.id]}, advisor)
            # Delivered: the service would refuse to complete a session before its last slot (tests/billing does
            # the same).
            delivered.status = "completed"
            drafts = []
            for n in range(INVOICES):
                draft = create_draft(delivered, {"payer_kind": "company", "payer_company_id": company.id},
                                              advisor)
                add_line(draft, {"description": f"Formation, stagiaire {n + 1}", "quantity": "1",
                                          "unit_price": "600"}, advisor)
                drafts.append(draft)
            db.session.commit()
            return SimpleNamespace(dume=dume.id, remote_course=remote_course.id, room=room.id, remote=remote.id,
                                   trainer=trainer.id, drafts=[d.id for d in drafts])
        finally:
            db.session.remove()


@pytest.fixture(scope="module")
def cluster(own_database, redis_port, smtp, tmp_path_factory):
    from trainingmgr import create_app

    work = tmp_path_factory.mktemp("cluster")
    files = work / "files"
    files.mkdir()
    a, b = ("127.0.0.1", free_port()), ("127.0.0.1", free_port())
    env = production_env(own_database, redis_port, smtp.port, a[1], files)
    run_flask(["db", "upgrade"], env)
    processes: list[Process] = []
    app = None
    try:
        for name, (host, port) in (("server-a", a), ("server-b", b)):
            processes.append(Process(name, [BIN / "gunicorn", "--workers", "2", "--bind", f"{host}:{port}",
                                            "app:app"], env, work))
        for name in ("worker-1", "worker-2"):
            processes.append(Process(name, [BIN / "flask", "--app", "app", "worker", "--interval", "1"], env, work))
        run_flask(["user", "create", ADVISOR, "--role", "advisor", "--name", "Camille Conseil", "--password-stdin"],
                  env, stdin=PASSWORD + "\n")
        token = run_flask(["token", "create", ADVISOR, "--name", "several servers"], env).strip().splitlines()[-1]
        app = create_app({"SQLALCHEMY_DATABASE_URI": own_database, "SECRET_KEY": env["SECRET_KEY"],
                          "PUBLIC_URL": env["PUBLIC_URL"], "FILES_DIR": str(files), "PDF_CONVERTER": "none",
                          "SEAL_KEY_DIR": env["SEAL_KEY_DIR"],
                          "MAIL_BACKEND": "console"})
        made = Cluster(a, b, token, app, smtp, redis_port, processes, prepare(app))
        for process, address in zip(processes, (a, b)):
            wait_until(lambda: answers_login(process, address), 60,
                       lambda: f"{process.name} did not answer /login within 60 s:\n{process.output()}")
        for worker in processes[2:]:
            wait_until(lambda: worker.popen.poll() is not None or "Worker démarré" in worker.output(), 60,
                       lambda: f"{worker.name} did not start within 60 s:\n{worker.output()}")
            assert worker.popen.poll() is None, f"{worker.name} stopped at start:\n{worker.output()}"
        yield made
    finally:
        for process in reversed(processes):
            process.stop()
        if app is not None:
            with app.app_context():
                db.engine.dispose()


# --------------------------------------------------------------------------- requests


def url(address: tuple[str, int], path: str) -> str:
    return f"http://{address[0]}:{address[1]}{path}"


def csrf_of(response) -> str:
    match = CSRF.search(response.text)
    assert match, f"no CSRF token on {response.url} ({response.status_code})"
    return match.group(1)


def log_in(address: tuple[str, int]) -> requests.Session:
    browser = requests.Session()
    token = csrf_of(browser.get(url(address, "/login"), timeout=30))
    response = browser.post(url(address, "/login"), data={"email": ADVISOR, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 302, (response.status_code, response.text[:500])
    return browser


def api(cluster: Cluster, address, method: str, path: str, body: dict | None = None) -> dict | list:
    response = requests.request(method, url(address, "/api/v1" + path), json=body, timeout=60,
                                headers={"Authorization": f"Bearer {cluster.token}", "Accept": "application/json"})
    assert response.status_code in (200, 201), (method, path, response.status_code, response.text[:1000])
    return response.json()


def api_call(cluster: Cluster, address, method: str, path: str, body: dict) -> Call:
    return Call(address, method, "/api/v1" + path, json.dumps(body).encode(), {
        "Authorization": f"Bearer {cluster.token}", "Accept": "application/json", "Content-Type": "application/json"})


def summary(answers) -> str:
    return f"statuses {dict(Counter(status for status, _, _ in answers))}; first answers {answers[:3]}"


def inline_trainee(prefix: str, n: int) -> dict:
    return {"trainee": {"civility": "Mme" if n % 2 else "M.", "first_name": f"Prénom{n:02d}",
                        "last_name": f"Nom{n:02d}", "email": f"{prefix}{n:02d}@exemple.fr"}}


def open_session(cluster: Cluster, **settings) -> int:
    """A session created through server A's API and opened through server B's."""
    created = api(cluster, cluster.a, "POST", "/sessions", {"format": "inter", "trainer_ids": [cluster.data.trainer],
                                                            **settings})
    assert api(cluster, cluster.b, "PATCH", f"/sessions/{created['id']}", {"status": "open"})["status"] == "open"
    return created["id"]


# --------------------------------------------------------------------------- the outbox


def outbox_rows(cluster: Cluster) -> list:
    from trainingmgr.messaging.models import OutboxMessage

    return cluster.read(select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.message_id,
                               OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.topic,
                               OutboxMessage.enrolment_id, OutboxMessage.last_error).order_by(OutboxMessage.id))


def drained_outbox(cluster: Cluster, timeout: float = 45) -> list:
    """The outbox once no message waits any more (the workers took and sent them all)."""
    wait_until(lambda: not any(row.status == "pending" for row in outbox_rows(cluster)), timeout,
               lambda: f"messages still pending after {timeout} s: "
                       f"{[tuple(r) for r in outbox_rows(cluster) if r.status == 'pending'][:5]}\n{cluster.logs()}")
    return outbox_rows(cluster)


def received(cluster: Cluster) -> Counter:
    """How many times the SMTP server received each Message-ID."""
    return Counter(message["Message-ID"] for message in cluster.smtp.messages)


# --------------------------------------------------------------------------- a) enrolments


@pytest.fixture(scope="module")
def twenty_enrolments(cluster):
    """ENROLMENTS enrolments sent at once, alternately to A and B, into an open session of SEATS seats."""
    session_id = open_session(cluster, course_id=cluster.data.dume, start_date=working_day(30).isoformat(),
                              location_id=cluster.data.room, capacity=SEATS)
    path = f"/sessions/{session_id}/enrolments"
    answers = at_once([api_call(cluster, cluster.both(n), "POST", path, inline_trainee("stagiaire", n))
                       for n in range(ENROLMENTS)])
    return session_id, answers


def test_twenty_simultaneous_enrolments_on_two_servers_fill_the_seats_then_the_waiting_list(cluster,
                                                                                             twenty_enrolments):
    from trainingmgr.enrolments.models import Enrolment

    session_id, answers = twenty_enrolments
    assert [status for status, _, _ in answers] == [201] * ENROLMENTS, summary(answers)
    bodies = [body for _, _, body in answers]
    assert [b["trainee"]["email"] for b in bodies] == [f"stagiaire{n:02d}@exemple.fr" for n in range(ENROLMENTS)]
    assert len({b["id"] for b in bodies}) == ENROLMENTS
    confirmed = [b for b in bodies if b["status"] == "confirmed"]
    waitlisted = [b for b in bodies if b["status"] == "waitlisted"]
    assert (len(confirmed), len(waitlisted)) == (SEATS, ENROLMENTS - SEATS), [(b["id"], b["status"]) for b in bodies]
    # Arrival order, whichever server took the request: the seats to the first enrolments created, the waiting
    # list numbered 1, 2, 3… in creation order.
    by_id = [(b["id"], b["status"], b["waitlist_position"]) for b in sorted(bodies, key=lambda b: b["id"])]
    waiting = ENROLMENTS - SEATS
    assert [s for _, s, _ in by_id] == ["confirmed"] * SEATS + ["waitlisted"] * waiting, by_id
    assert [p for _, _, p in by_id] == [None] * SEATS + list(range(1, waiting + 1)), by_id

    # The database agrees with the answers, and so do both servers.
    rows = cluster.read(select(Enrolment.id, Enrolment.status, Enrolment.waitlist_position)
                        .where(Enrolment.session_id == session_id).order_by(Enrolment.id))
    assert [tuple(row) for row in rows] == by_id
    for address in (cluster.a, cluster.b):
        assert api(cluster, address, "GET", f"/sessions/{session_id}")["seats_left"] == 0


# --------------------------------------------------------------------------- b) e-mails


def test_every_email_is_sent_exactly_once_by_two_workers(cluster, twenty_enrolments):
    session_id, answers = twenty_enrolments
    assert [status for status, _, _ in answers] == [201] * ENROLMENTS, summary(answers)
    rows = drained_outbox(cluster)

    # Every enrolment told its trainee where it stands: one message each, all of them sent.
    status_mails = Counter(row.enrolment_id for row in rows if row.topic == "enrolment_status")
    assert status_mails == Counter({body["id"]: 1 for _, _, body in answers})
    assert all(row.status == "sent" and row.last_error == "" for row in rows), [
        tuple(row) for row in rows if row.status != "sent" or row.last_error][:5]
    # Each message reached the SMTP server once: no Message-ID, no recipient and subject twice.
    assert received(cluster) == Counter({row.message_id: 1 for row in rows})
    pairs = Counter((str(message["To"]), str(message["Subject"])) for message in cluster.smtp.messages)
    assert max(pairs.values()) == 1, [pair for pair, count in pairs.items() if count > 1]
    assert len(cluster.smtp.messages) == len(rows)


# --------------------------------------------------------------------------- c) automations


def firings_of(cluster: Cluster, session_id: int) -> list:
    """The ledger's rows of the convocation rule for that session."""
    from trainingmgr.automations.models import AutomationFiring, AutomationRule

    return cluster.read(select(AutomationFiring.recipient, AutomationFiring.message_id).join(AutomationRule)
                        .where(AutomationFiring.session_id == session_id, AutomationRule.code == "convocation")
                        .order_by(AutomationFiring.id))


@pytest.fixture(scope="module")
def convocations(cluster):
    """CONVOCATIONS confirmed enrolments of a session starting in a few days, whose convocations (the automation
    rule « convocation », due at J−7, already past) wait for the session's confirmation; then the session confirmed
    through server B, which makes the CONVOCATIONS messages due at the same moment for both workers' passes.
    Returns (session id, enrolment ids) once every convocation is in the ledger."""
    session_id = open_session(cluster, course_id=cluster.data.remote_course, start_date=working_day(2).isoformat(),
                              location_id=cluster.data.remote, capacity=CONVOCATIONS)
    path = f"/sessions/{session_id}/enrolments"
    answers = at_once([api_call(cluster, cluster.both(n), "POST", path, inline_trainee("convoque", n))
                       for n in range(CONVOCATIONS)])
    assert [(status, body["status"]) for status, _, body in answers] == [(201, "confirmed")] * CONVOCATIONS, \
        summary(answers)
    ids = [body["id"] for _, _, body in answers]

    # The workers' passes send each confirmation e-mail (another rule) but convoke nobody to a session still open.
    def confirmations_sent() -> bool:
        rows = [row for row in outbox_rows(cluster) if row.enrolment_id in ids and row.topic == "enrolment_status"]
        return len(rows) == CONVOCATIONS and all(row.status == "sent" for row in rows)

    wait_until(confirmations_sent, 60, lambda: f"confirmation e-mails not all sent\n{cluster.logs()}")
    assert firings_of(cluster, session_id) == []
    assert [row for row in outbox_rows(cluster) if row.topic == "convocation"] == []
    assert api(cluster, cluster.b, "PATCH", f"/sessions/{session_id}", {"status": "confirmed"})["status"] == "confirmed"
    wait_until(lambda: len(firings_of(cluster, session_id)) >= CONVOCATIONS, 90,
               lambda: f"convocations not all fired after 90 s: {len(firings_of(cluster, session_id))}\n"
                       f"{cluster.logs()}")
    return session_id, ids


def test_every_automation_fires_exactly_once_with_two_workers(cluster, convocations):
    from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent

    session_id, ids = convocations
    # The ledger: one row per trainee, each with its message, whichever worker claimed it.
    fired = firings_of(cluster, session_id)
    assert sorted(row.recipient for row in fired) == sorted(f"convoque{n:02d}@exemple.fr"
                                                            for n in range(CONVOCATIONS))
    assert all(row.message_id is not None for row in fired), fired[:3]
    # Its effect, once per trainee: one convocation queued per enrolment, one line in each enrolment's history.
    rows = drained_outbox(cluster)
    convocation_rows = [row for row in rows if row.topic == "convocation"]
    assert Counter(row.enrolment_id for row in convocation_rows) == Counter({i: 1 for i in ids})
    queued = cluster.read(select(EnrolmentEvent.enrolment_id, func.count()).where(
        EnrolmentEvent.enrolment_id.in_(ids), EnrolmentEvent.kind == "convocation",
        EnrolmentEvent.message.startswith("Convocation mise en envoi")).group_by(EnrolmentEvent.enrolment_id))
    assert dict(queued) == {i: 1 for i in ids}
    # And each convocation left once, its date recorded.
    counts = received(cluster)
    assert [counts[row.message_id] for row in convocation_rows] == [1] * CONVOCATIONS
    sent_at = cluster.read(select(Enrolment.id).where(Enrolment.id.in_(ids), Enrolment.convocation_sent_at.is_(None)))
    assert sent_at == []


# --------------------------------------------------------------------------- d) invoices


def test_invoice_numbers_stay_gapless_when_both_servers_issue_at_once(cluster):
    from trainingmgr.billing.models import Invoice, InvoiceSequence

    drafts = cluster.data.drafts
    browser = log_in(cluster.b)
    page = browser.get(url(cluster.a, f"/billing/{drafts[0]}"), allow_redirects=False, timeout=30)
    assert page.status_code == 200, page.status_code  # logged in on B, the session holds on A
    form = urlencode({"csrf_token": csrf_of(page)}).encode()
    headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in browser.cookies),
               "Content-Type": "application/x-www-form-urlencoded"}
    answers = at_once([Call(cluster.both(n), "POST", f"/billing/{invoice_id}/issue", form, headers)
                       for n, invoice_id in enumerate(drafts)])

    assert [(status, urlsplit(location).path) for status, location, _ in answers] == [
        (302, f"/billing/{invoice_id}") for invoice_id in drafts], summary(answers)
    year = paris_today().year
    issued = cluster.read(select(Invoice.number, Invoice.sequence, Invoice.status, Invoice.docx_file_id)
                          .where(Invoice.id.in_(drafts)).order_by(Invoice.sequence))
    assert [(number, sequence) for number, sequence, _, _ in issued] == [
        (f"F{year}-{n:04d}", n) for n in range(1, INVOICES + 1)]  # consecutive: no gap, no duplicate
    assert all(status == "issued" and docx for _, _, status, docx in issued), issued
    assert cluster.read(select(InvoiceSequence.last_number).where(
        InvoiceSequence.kind == "invoice", InvoiceSequence.year == year)) == [(INVOICES,)]


# --------------------------------------------------------------------------- e) logout


def test_a_logout_on_one_server_ends_the_session_on_the_other(cluster):
    browser = log_in(cluster.a)
    copy = requests.Session()  # the same cookies in another client, e.g. a stolen cookie
    for cookie in browser.cookies:
        copy.cookies.set(cookie.name, cookie.value)
    before = copy.get(url(cluster.b, "/"), allow_redirects=False, timeout=30)
    assert before.status_code == 200, (before.status_code, before.headers.get("Location"))

    home = browser.get(url(cluster.a, "/"), allow_redirects=False, timeout=30)
    out = browser.post(url(cluster.a, "/logout"), data={"csrf_token": csrf_of(home)}, allow_redirects=False,
                       timeout=30)
    assert (out.status_code, urlsplit(out.headers.get("Location", "")).path) == (302, "/login")

    for address in (cluster.b, cluster.a):
        after = copy.get(url(address, "/"), allow_redirects=False, timeout=30)
        assert (after.status_code, urlsplit(after.headers.get("Location", "")).path) == (302, "/login"), (
            f"the logged-out cookie still opens {url(address, '/')}: {after.status_code}")


# --------------------------------------------------------------------------- f) login limit


def test_the_login_limit_holds_across_servers(cluster):
    """LOGIN_LIMIT failed logins per minute from one address, wherever they land: with memory storage each of the
    four gunicorn worker processes would allow as many."""
    import redis

    limits = redis.Redis(host="127.0.0.1", port=cluster.redis_port, socket_timeout=5)
    limits.flushdb()  # the logins of the other tests do not count
    browser = requests.Session()
    token = csrf_of(browser.get(url(cluster.a, "/login"), timeout=30))

    def attempt(address, n: int) -> int:
        return browser.post(url(address, "/login"), allow_redirects=False, timeout=30, data={
            "email": f"intrus{n:02d}@multi.example", "password": "pas-le-bon-mot-de-passe", "csrf_token": token,
        }).status_code

    try:
        refused = [attempt(cluster.both(n), n) for n in range(LOGIN_LIMIT)]
        assert refused == [422] * LOGIN_LIMIT  # wrong password, within the limit
        assert [attempt(cluster.a, LOGIN_LIMIT), attempt(cluster.b, LOGIN_LIMIT + 1)] == [429, 429]
    finally:
        limits.flushdb()
        limits.close()
