"""Trainees signing at once: throughput and p99 latency of POST /emargement/<token>, against a baseline.

N concurrent clients; the figures are ratios against a baseline measured in the same run.

Usage: .venv/bin/python bench/signing.py [--clients 100] [--class-size K] [--rounds 3] [--mode drawn|typed]
                                          [--database-url URL]

It builds a throw-away database (SQLite in a temporary folder, or with --database-url a PostgreSQL server on
which a uniquely named database is created, then dropped), migrates it, loads the demo, then for each round
N trainees in classes of K (default: N, up to 100, the most a course admits, so 200 clients are two classes
signing at once): each class a confirmed session of a course copy for K trainees, in a room for K with a
trainer of its own, whose first slot is today, its trainees enrolled and confirmed. The signing window is
widened to a day on each side (ATTENDANCE_OPENS_BEFORE_MINUTES / ATTENDANCE_CLOSES_AFTER_MINUTES), so that
today's slots are open whatever the time. The application is served by werkzeug's threaded server in this
process, on a free port of 127.0.0.1, with the configuration's defaults otherwise (CSRF, rate limits,
connection pool). A first small round warms the caches up and is not counted.

Four phases per round, each with N clients (one thread, one connection and one cookie jar each), connected
first and released together by a barrier, one request each:
  1. GET /login                      the baseline (a template render, one SQL statement);
  2. POST /bench/floor               the floor: a bare insert of a 10 KB row, then commit and redirect (302);
                                     the row is 10 KB of base64 text, URL-encoded as the drawing is; run again
                                     after phase 4, its figures are those of both runs (see below);
  3. GET /emargement/<token>         each client's signing page: the session cookie and the CSRF token;
  4. POST /emargement/<token>        the signature (a drawn PNG, or the trainee's name typed with --mode typed).
Every POST must answer 302, and each class's session must then hold exactly one signature per trainee on the
slot, in an intact hash chain of as many records (attendance.chain.verify_chain): otherwise the bench fails.

The floor's route exists only in the bench's application (``floor_blueprint``, registered before serving, exempt
from CSRF, no rate limit): one INSERT of the 10 KB form field into ``bench_floor``, a table of the bench's own
metadata created in the throw-away database (not one of the application's). It is what any request that stores
a signature costs at least: werkzeug, Flask, the form parsed, one INSERT and its commit on the same database and
connection pool.

Printed per N: wall time (first request sent to last answer received), throughput (requests/s), p50 and
p99 latency, SQL statements per request, the server's CPU per request, and the ratios p99 / p99 of the
baseline and throughput of the baseline / throughput; for the signature, its CPU per request / the floor's
and the floor's throughput / its own. With --rounds, the median of each figure over the rounds. Clients and
server share this process (and its GIL), in the baseline as in the measured phases.

Server CPU per request: the CPU time (time.thread_time, the thread's own clock) that the request's server
thread spends inside the application (a WSGI middleware around the Flask app, body included), summed over the
phase's requests / N. Unlike wall time or process time it counts neither the clients' threads of the same
process nor the time spent waiting for the GIL, the lock or the database, so it holds on a shared machine;
the database server's own CPU (PostgreSQL's backend) is not in it, the throughput ratio shows that side. The
run fails (exit 1) when a signature costs more than MAX_CPU_RATIO (3) times the floor's CPU.

There is no option to target an already-running server: the bench would need that server's SECRET_KEY (the
signing links) and its database (the session and trainees to sign for), and a window wide open there.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import http.client
import io
import itertools
import os
import re
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask import Blueprint, redirect, request  # noqa: E402
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, event, func, insert, select  # noqa: E402

from bench.support import database  # noqa: E402
from tests.fixtures.browser import running_server  # noqa: E402 - the threaded server of the browser tests
from trainingmgr import create_app  # noqa: E402
from trainingmgr.catalogue.services import MAX_TRAINEES_LIMIT as MAX_CLASS  # noqa: E402 - a course's most trainees
from trainingmgr.extensions import csrf, db, limiter  # noqa: E402

WINDOW_MINUTES = 24 * 60  # today's slots are open all day
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
PHASES = ("GET /login (baseline)", "POST bare insert (floor)", "GET signing page", "POST signature")
FLOOR_PHASE, SIGN_PHASE = PHASES[1], PHASES[3]
FLOOR_BYTES = 10 * 1024  # the floor's row, base64 text as the drawing's data URL
MAX_CPU_RATIO = 3.0  # a signature may cost at most this many times the floor's server CPU


# --------------------------------------------------------------------------- the floor and the CPU meter

FLOOR_TABLE = Table("bench_floor", MetaData(), Column("id", Integer, primary_key=True),
                    Column("body", LargeBinary, nullable=False))


def floor_blueprint() -> Blueprint:
    """POST /bench/floor: insert the form's ``payload`` (10 KB) as one row, commit, redirect. Only in the bench's
    app: no CSRF (the floor measures the insert, not the form's checks), no rate limit."""
    bp = Blueprint("bench_floor", __name__)

    @bp.route("/bench/floor", methods=["POST"])
    def floor():
        db.session.execute(insert(FLOOR_TABLE).values(body=request.form["payload"].encode()))
        db.session.commit()
        return redirect("/bench/floor")

    csrf.exempt(floor)
    return bp


class CpuMeter:
    """WSGI middleware: the CPU time of the server threads inside the application (body included), summed."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        self.total = 0.0

    def __call__(self, environ, start_response):
        started = time.thread_time()
        iterable = self.wsgi_app(environ, start_response)
        try:
            body = list(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
            spent = time.thread_time() - started
            with self.lock:
                self.total += spent
        return body

    def read(self) -> float:
        with self.lock:
            return self.total


# --------------------------------------------------------------------------- the database


@dataclass
class Signer:
    path: str  # /emargement/<token>
    name: str  # the trainee's full name


@dataclass
class Class:
    session_id: int
    slot_id: int
    trainees: int


@dataclass
class Round:
    classes: list[Class]
    signers: list[Signer]


def build(class_size: int, sizes: list[int]) -> list[Round]:
    """Migrate, load the demo, then per round ``sizes[r]`` trainees in classes of ``class_size``: each class a
    confirmed session of a course copy for ``class_size`` trainees starting today (Europe/Paris), in a room
    of its own with a trainer of its own, its trainees enrolled and confirmed. Returns what each round signs:
    the first slot (today) of each class."""
    from flask_migrate import upgrade

    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.attendance.access import signing_token
    from trainingmgr.catalogue.services import create_course, set_course_status
    from trainingmgr.core.timeutil import paris_today
    from trainingmgr.demo.seeds import DUME_CHORUS_PRO
    from trainingmgr.demo.services import load_demo
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.resources.services import save_location, save_trainer
    from trainingmgr.sessions.services import change_status, create_session
    from trainingmgr.trainees.services import save_trainee

    upgrade()
    FLOOR_TABLE.create(db.engine)
    load_demo(today=dt.date(2030, 1, 1))
    advisor = get_user_by_email("conseil@formaction.example")
    course = create_course({**DUME_CHORUS_PRO, "title": f"{DUME_CHORUS_PRO['title']} (banc d'essai)",
                            "max_trainees": class_size}, advisor, slug=f"banc-emargement-{class_size}")
    set_course_status(course, "published")
    today = paris_today()
    made = []
    numbers = itertools.count(1)
    for size in sizes:
        rnd = Round([], [])
        for first in range(0, size, class_size):
            k = next(numbers)
            room = save_location(None, {"name": f"Amphithéâtre {k}", "city": "Toulouse", "capacity": class_size})
            trainer = save_trainer(None, {"first_name": "Banc", "last_name": f"Formateur {k}"})
            db.session.flush()
            session, _ = create_session({"course_id": course.id, "start_date": today, "location_id": room.id,
                                         "trainer_ids": [trainer.id], "capacity": class_size, "format": "inter"},
                                        advisor)
            change_status(session, "open", advisor)
            enrolments = []
            for i in range(first, min(size, first + class_size)):
                trainee = save_trainee(None, {"civility": "Mme" if i % 2 else "M.", "first_name": f"Prénom{i:03d}",
                                              "last_name": f"Nom-Classe{k}", "email": f"banc{k}.{i:03d}@exemple.fr"})
                enrolments.append(enrol(session, trainee, actor=advisor, notify=False))
            change_status(session, "confirmed", advisor)
            db.session.commit()
            assert [e.status for e in enrolments] == ["confirmed"] * len(enrolments), Counter(
                e.status for e in enrolments)
            slot = min(session.slots, key=lambda s: (s.date, s.start_time))
            assert slot.date == today, (slot.date, today)
            rnd.classes.append(Class(session.id, slot.id, len(enrolments)))
            rnd.signers += [Signer(f"/emargement/{signing_token(e, slot)}", e.trainee.full_name) for e in enrolments]
        made.append(rnd)
    return made


def check_signatures(rnd: Round) -> None:
    """In each class, exactly one signature per trainee on the slot, in an intact chain of as many records."""
    from trainingmgr.attendance.chain import verify_chain
    from trainingmgr.attendance.models import AttendanceRecord

    db.session.remove()  # a fresh transaction: see what the server committed
    for klass in rnd.classes:
        signatures, trainees = db.session.execute(
            select(func.count(), func.count(AttendanceRecord.enrolment_id.distinct()))
            .where(AttendanceRecord.slot_id == klass.slot_id, AttendanceRecord.kind == "signature")).one()
        chain = verify_chain(klass.session_id)
        expected = klass.trainees
        if (signatures, trainees, chain.ok, chain.length) != (expected, expected, True, expected):
            raise SystemExit(f"FAILED: session {klass.session_id}: {signatures} signatures by {trainees} trainees on "
                             f"the slot, chain of {chain.length} records {chain.label} {chain.problem}; expected "
                             f"{expected} of each, intact")


# --------------------------------------------------------------------------- the server and the clients


@dataclass
class Client:
    """One phone: its cookies, and the CSRF token of the page it last read."""

    cookies: dict
    csrf_token: str = ""

    def cookie_header(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def keep_cookies(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            for morsel in SimpleCookie(header).values():
                self.cookies[morsel.key] = morsel.value


@dataclass
class Answer:
    status: int | None
    body: str
    started: float
    ended: float


def fire(address, requests: list[tuple[str, str, dict | None, Client]]) -> list[Answer]:
    """Send every (method, path, form, client) at once: one thread and one connection each, connected
    first, then released together by a barrier. Answers in the order of ``requests``."""
    host, port = address
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def worker(index: int, method: str, path: str, form: dict | None, client: Client) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=120)
        started = time.perf_counter()
        try:
            connection.connect()
            headers = {"User-Agent": "bench/signing.py", **client.cookie_header()}
            body = None
            if form is not None:
                body = urlencode(form).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            barrier.wait(timeout=60)
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read().decode("utf-8", "replace")
            answers[index] = Answer(response.status, raw, started, time.perf_counter())
            client.keep_cookies(response)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            answers[index] = Answer(None, repr(exc), started, time.perf_counter())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if any(thread.is_alive() for thread in threads):
        raise SystemExit("FAILED: a request never finished")
    return answers


def expect(phase: str, answers: list[Answer], status: int) -> None:
    wrong = [a for a in answers if a.status != status]
    if wrong:
        said = Counter((a.status, _gist(a.body)) for a in wrong)
        raise SystemExit(f"FAILED: {phase}: {len(wrong)} of {len(answers)} answers were not {status}: {dict(said)}")


def _gist(body: str) -> str:
    """What an error page says, briefly."""
    found = (re.search(r'data-error="[^"]*">([^<]+)<', body) or re.search(r'class="alert [^"]*"[^>]*>([^<]+)<', body)
             or re.search(r"<title>([^<]+)</title>", body))
    return html.unescape(found.group(1) if found else body[:80]).strip()


def _wall(answers: list[Answer], runs: int = 1) -> float:
    """First request sent to last answer received; for a phase run ``runs`` times (the floor), the sum over its runs
    (``answers`` holds them one after the other)."""
    size = len(answers) // runs
    parts = [answers[i * size:(i + 1) * size] for i in range(runs)]
    return sum(max(a.ended for a in part) - min(a.started for a in part) for part in parts)


def figures(answers: list[Answer], statements: int, cpu: float, runs: int = 1) -> dict:
    latencies = sorted(a.ended - a.started for a in answers)
    wall = _wall(answers, runs)
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98] if len(latencies) > 1 else latencies[0]
    return {"wall": wall, "rate": len(answers) / wall, "p50": statistics.median(latencies), "p99": p99,
            "sql": statements / len(answers), "cpu": cpu / len(answers)}


def drawing(index: int) -> str:
    """A signature as the page's canvas sends it: a PNG data URL, transparent with a stroke (a different
    one for each trainee)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    points = [(40 + 26 * k, 100 + (35 if (k + index) % 2 else -35) + (index * 7 + k * 13) % 30) for k in range(21)]
    pen.line(points, fill=(0, 0, 0, 255), width=4, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def measure_round(address, meter: CpuMeter, rnd: Round, mode: str) -> dict:
    counter = itertools.count()  # next() is atomic: statements counted from every server thread

    def _count(*args, **kwargs):
        next(counter)

    def phase(requests) -> tuple[list[Answer], int, float]:
        before, cpu = next(counter), meter.read()
        answers = fire(address, requests)
        return answers, next(counter) - before - 1, meter.read() - cpu

    n = len(rnd.signers)
    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        login, login_sql, login_cpu = phase([("GET", "/login", None, Client({})) for _ in range(n)])
        expect(PHASES[0], login, 200)

        payload = {"payload": base64.b64encode(os.urandom(FLOOR_BYTES * 3 // 4)).decode()}  # sent as a drawing is
        floor, floor_sql, floor_cpu = phase([("POST", "/bench/floor", payload, Client({})) for _ in range(n)])
        expect(FLOOR_PHASE, floor, 302)

        clients = [Client({}) for _ in range(n)]
        pages, pages_sql, pages_cpu = phase([("GET", s.path, None, c) for s, c in zip(rnd.signers, clients)])
        expect(PHASES[2], pages, 200)
        for client, page in zip(clients, pages):
            found = CSRF.search(page.body)
            if found is None:
                raise SystemExit(f"FAILED: no signing form on the page: {_gist(page.body)}")
            client.csrf_token = found.group(1)

        def form(index: int, signer: Signer, client: Client) -> dict:
            if mode == "typed":
                return {"csrf_token": client.csrf_token, "signature": "", "typed_name": signer.name}
            return {"csrf_token": client.csrf_token, "signature": drawing(index), "typed_name": ""}

        posts, posts_sql, posts_cpu = phase([("POST", s.path, form(i, s, c), c)
                                             for i, (s, c) in enumerate(zip(rnd.signers, clients))])
        expect(SIGN_PHASE, posts, 302)

        # The floor again, right after: its CPU is the mean of both runs, so that a change of load on a shared
        # machine during the round weighs on the floor as on the signatures.
        again, again_sql, again_cpu = phase([("POST", "/bench/floor", payload, Client({})) for _ in range(n)])
        expect(FLOOR_PHASE, again, 302)
        floor, floor_sql, floor_cpu = floor + again, floor_sql + again_sql, floor_cpu + again_cpu
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)
    check_signatures(rnd)
    result = {name: figures(answers, sql, cpu, 2 if name == FLOOR_PHASE else 1) for name, answers, sql, cpu in
              zip(PHASES, (login, floor, pages, posts), (login_sql, floor_sql, pages_sql, posts_sql),
                  (login_cpu, floor_cpu, pages_cpu, posts_cpu))}
    base, bare = result[PHASES[0]], result[FLOOR_PHASE]
    for values in result.values():
        values["p99_ratio"] = values["p99"] / base["p99"]
        values["rate_ratio"] = base["rate"] / values["rate"]
        values["cpu_floor_ratio"] = values["cpu"] / bare["cpu"]
        values["rate_floor_ratio"] = bare["rate"] / values["rate"]
    return result


def run(clients: int, class_size: int, rounds: int, mode: str, database_url: str | None) -> tuple[str, dict]:
    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": f"{tmp}/files",
                          "ATTENDANCE_OPENS_BEFORE_MINUTES": WINDOW_MINUTES,
                          "ATTENDANCE_CLOSES_AFTER_MINUTES": WINDOW_MINUTES})
        app.register_blueprint(floor_blueprint())
        meter = CpuMeter(app.wsgi_app)
        app.wsgi_app = meter
        try:
            with app.app_context():
                limiter.reset()
                # A first small round warms the caches up (templates, statements, imports) and is not counted.
                warmup, *made = build(class_size, [min(clients, 10)] + [clients] * rounds)
                backend = db.engine.dialect.name
                db.session.remove()
                with running_server(app) as address:
                    measure_round(address, meter, warmup, mode)
                    results = [measure_round(address, meter, rnd, mode) for rnd in made]
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    merged = {name: {key: statistics.median(r[name][key] for r in results) for key in results[0][name]}
              for name in PHASES}
    return backend, merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100],
                        help="concurrent clients, one run each (default 100, a full class; e.g. 50 100 200)")
    parser.add_argument("--class-size", type=int,
                        help=f"trainees per session (default: the clients, up to {MAX_CLASS}, a course's maximum)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=("drawn", "typed"), default="drawn",
                        help="a drawn signature (PNG data URL, as the canvas sends it) or the name typed in")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created on it, then dropped)")
    args = parser.parse_args()
    if args.rounds < 1 or min(args.clients) < 1:
        parser.error("--rounds and --clients: at least 1")
    if args.class_size is not None and not 1 <= args.class_size <= MAX_CLASS:
        parser.error(f"--class-size: from 1 to {MAX_CLASS} (a course's maximum)")
    results, classes = {}, {}
    for n in args.clients:
        size = min(n, args.class_size or MAX_CLASS)
        classes[n] = f"{n}" if size == n else f"{n} ({-(-n // size)} cl.)"
        backend, results[n] = run(n, size, args.rounds, args.mode, args.database_url)
    print(f"\n{backend}, {args.mode} signatures, median of {args.rounds} round(s); every POST answered 302 and "
          "each class's chain holds one signature per trainee, intact")
    header = (f"{'clients':>13}  {'phase':<25}{'wall s':>8}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'SQL/req':>8}"
              f"{'CPU ms/req':>11}{'p99 / base':>11}{'base req/s / req/s':>19}")
    print(header)
    print("-" * len(header))
    for n in args.clients:
        for name in PHASES:
            f = results[n][name]
            print(f"{classes[n]:>13}  {name:<25}{f['wall']:>8.2f}{f['rate']:>8.0f}{f['p50'] * 1000:>9.1f}"
                  f"{f['p99'] * 1000:>9.1f}{f['sql']:>8.1f}{f['cpu'] * 1000:>11.2f}{f['p99_ratio']:>10.1f}x"
                  f"{f['rate_ratio']:>18.1f}x")
    print("(base = GET /login by as many clients at once, same run; wall = first request sent to last answer;\n"
          " CPU = the server thread's CPU time inside the application per request (time.thread_time);\n"
          " cl. = the clients are trainees of that many sessions signing at once, one hash chain each)")
    print(f"\nsignature against the floor (a bare {FLOOR_BYTES // 1024} KB insert, same server, same database, same "
          "clients):")
    for n in args.clients:
        sign, bare = results[n][SIGN_PHASE], results[n][FLOOR_PHASE]
        print(f"{classes[n]:>13}  server CPU {sign['cpu_floor_ratio']:.1f}x the floor's ({sign['cpu'] * 1000:.2f} vs "
              f"{bare['cpu'] * 1000:.2f} ms/req, at most {MAX_CPU_RATIO:.0f}x); throughput {sign['rate_floor_ratio']:.1f}x "
              f"below ({sign['rate']:.0f} vs {bare['rate']:.0f} req/s); SQL {sign['sql']:.1f} vs {bare['sql']:.1f}")
    failures = check(results)
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        raise SystemExit(1)


def check(results: dict) -> list[str]:
    """The signatures whose server CPU exceeds MAX_CPU_RATIO times the floor's: {clients: figures} → messages."""
    return [f"{n} clients: a signature costs {r[SIGN_PHASE]['cpu_floor_ratio']:.1f}x the server CPU of a bare insert "
            f"(at most {MAX_CPU_RATIO:.0f}x)" for n, r in results.items()
            if r[SIGN_PHASE]["cpu_floor_ratio"] > MAX_CPU_RATIO]


if __name__ == "__main__":
    main()
