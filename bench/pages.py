"""The pages with ten years of data: p95 of the catalogue, a course sheet and the dashboard (and a few other
pages), as ratios against the p95 of the login page measured in the same run, on an application started as a
real HTTP server.

Usage: .venv/bin/python bench/pages.py [--datasets demo history] [--samples 200] [--years 10]
                                        [--sessions 1500] [--enrolments 10000] [--database-url URL]

For each dataset it builds a throw-away database (SQLite in a temporary folder, or with --database-url a
PostgreSQL server on which a uniquely named database is created, then dropped), migrates it and loads the demo
(today's date); "history" then adds ten years of data in bulk (bench/history.py: from January 2017 to six months
ahead, about 1,500 sessions with their half-day slots, 10,000 enrolments, 7,500 trainees of 400 companies,
7,700 invoices and their payments, 5,300 answered satisfaction surveys). The build time is printed apart: it
is not a measured figure. On PostgreSQL the build ends with ANALYZE, as autovacuum would within a minute.
The pages: GET /login (the baseline), the public catalogue, the DUME course sheet (its sessions to come and its
public indicators over ten years of surveys), the advisor's dashboard, the sessions from today on, last year's
BPF and the Qualiopi board (last 12 months).

The application is then served by werkzeug's threaded server in this process (as bench/signing.py does), on a
free port of 127.0.0.1, with the configuration's defaults (CSRF, sessions, connection pool). One client logs in
as the advisor through the login form, warms every page up (5 requests each, not counted), then sends
--samples rounds; in each round it requests every page once, one request after another, each on a new
connection (werkzeug answers in HTTP/1.0), in the same order. Sequential requests measure what a page costs
the server, not how it queues: the concurrency is bench/signing.py's subject. Interleaving the pages round by
round spreads a burst of load on a shared CPU over every page alike, the baseline included.

The baseline is GET /login without a session (a template render, one SQL statement). Printed per page and
dataset: p50 and p95 latency (ms), p95 / p95 of the login page, and the SQL statements of one request (they
must not grow with the history: an N+1 query would show here first). Checked: the dashboard with the history
stays within DASHBOARD_MAX_RATIO (the run fails otherwise).
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import os
import re
import statistics
import sys
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event, text  # noqa: E402

from bench.support import database  # noqa: E402
from tests.api.test_enrolment_race import running_server  # noqa: E402 - the threaded server of the race tests
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
ADVISOR = ("conseil@formaction.example", "conseil-demo-2026")
COURSE = "marches-publics-dume-et-chorus-pro"  # a demo course: it has sessions in every dataset
BASELINE = "login (baseline)"
HEADLINE = ("catalogue /catalogue/", "course sheet", "dashboard /")
# The dashboard with ten years of history must stay within its ratio measured before its figures were added
# (p95 / p95 of the login page: 55.6x on SQLite, 38.2x on PostgreSQL, 100 samples, 1,500 sessions), give or take
# the noise of a p95 on a shared machine.
DASHBOARD_MAX_RATIO = 60.0


def pages(today: dt.date) -> dict[str, tuple[str, bool]]:
    """name: (path, as the advisor). The first is the baseline."""
    return {
        BASELINE: ("/login", False),
        "catalogue /catalogue/": ("/catalogue/", False),
        "course sheet": (f"/catalogue/{COURSE}", False),
        "dashboard /": ("/", True),
        "sessions from today": (f"/sessions/?from={today.isoformat()}", True),
        f"BPF {today.year - 1}": (f"/bpf/{today.year - 1}", True),
        "qualiopi board": ("/qualite/qualiopi", True),
    }


# --------------------------------------------------------------------------- the client


class Client:
    """One browser: its cookies, one new connection per request."""

    def __init__(self, address):
        self.host, self.port = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, cookies: bool = True):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = {"User-Agent": "bench/pages.py"}
        if cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            if cookies:
                for header in response.headers.get_all("Set-Cookie") or []:
                    for morsel in SimpleCookie(header).values():
                        self.cookies[morsel.key] = morsel.value
            return response.status, text
        finally:
            connection.close()

    def login(self, email: str, password: str) -> None:
        status, body = self.request("GET", "/login")
        found = CSRF.search(body)
        if status != 200 or found is None:
            raise SystemExit(f"FAILED: GET /login answered {status} without a login form")
        status, body = self.request("POST", "/login", {"csrf_token": found.group(1), "email": email,
                                                       "password": password})
        if status != 302:
            raise SystemExit(f"FAILED: the advisor's login answered {status}")


# --------------------------------------------------------------------------- measures


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else values[0]


def measure(address, targets: dict[str, tuple[str, bool]], samples: int) -> dict[str, dict]:
    advisor = Client(address)
    advisor.login(*ADVISOR)
    public = Client(address)

    def get(path: str, as_advisor: bool) -> float:
        client = advisor if as_advisor else public
        start = time.perf_counter()
        status, body = client.request("GET", path, cookies=as_advisor)
        elapsed = time.perf_counter() - start
        if status != 200:
            raise SystemExit(f"FAILED: GET {path} answered {status}: {body[:200]}")
        return elapsed

    counter = itertools.count()  # next() is atomic: statements counted from the server's thread

    def _count(*args, **kwargs):
        next(counter)

    statements = {}
    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        for name, (path, as_advisor) in targets.items():
            for _ in range(5):  # warm-up: templates, statement caches, connection pool
                get(path, as_advisor)
            before = next(counter)
            get(path, as_advisor)
            statements[name] = next(counter) - before - 1
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(samples):
        for name, (path, as_advisor) in targets.items():
            times[name].append(get(path, as_advisor))
    base = p95(times[BASELINE])
    return {name: {"p50": statistics.median(values), "p95": p95(values), "ratio": p95(values) / base,
                   "sql": statements[name]} for name, values in times.items()}


def build(dataset: str, sessions: int, enrolments: int, today: dt.date, years: int = 10) -> dict:
    from flask_migrate import upgrade

    from bench.history import build_history
    from trainingmgr.demo.services import load_demo

    upgrade()
    load_demo(today=today)
    db.session.commit()
    made = build_history(today, sessions=sessions, enrolments=enrolments, years=years) if dataset == "history" else {}
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load: the planner's statistics. (SQLite has none
        # unless someone runs ANALYZE: the application never does, so neither does the bench.)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return made


def run(dataset: str, samples: int, database_url: str | None, sessions: int = 1500, enrolments: int = 10000,
        years: int = 10, quiet: bool = False) -> dict:
    """Build ``dataset`` ("demo" or "history") on a throw-away database, serve it, measure every page.
    Returns {"backend", "build_seconds", "made", "pages": {name: {p50, p95, ratio, sql}}}."""
    from trainingmgr.core.timeutil import paris_today

    today = paris_today()
    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": f"{tmp}/files",
                          "PDF_CONVERTER": "none"})
        try:
            with app.app_context():
                started = time.perf_counter()
                made = build(dataset, sessions, enrolments, today, years)
                built = time.perf_counter() - started
                backend = db.engine.dialect.name
                if not quiet:
                    what = ", ".join(f"{v} {k}" for k, v in made.items()) if made else "the demo only"
                    print(f"[{backend}, {dataset}] built in {built:.0f} s: {what}", flush=True)
                db.session.remove()
                with running_server(app) as address:
                    figures = measure(address, pages(today), samples)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return {"backend": backend, "dataset": dataset, "build_seconds": built, "made": made, "samples": samples,
            "pages": figures}


def print_table(results: list[dict], samples: int) -> None:
    backend = results[0]["backend"]
    names = list(results[0]["pages"])
    width = 38
    print(f"\n{backend}: p95 of each page / p95 of the login page, {samples} sequential requests per page")
    header = f"{'page':<24}" + "".join(f"{r['dataset'] + ' (p50 / p95 ms, ratio, SQL)':>{width}}" for r in results)
    print(header)
    print("-" * len(header))
    for name in names:
        cells = "".join(
            f"{'%.1f / %.1f ms  %5.1fx  %3d SQL' % (f['p50'] * 1000, f['p95'] * 1000, f['ratio'], f['sql']):>{width}}"
            for f in (r["pages"][name] for r in results))
        print(f"{name:<24}{cells}")
    print("(ratio = p95 of the page / p95 of GET /login, same run, same server; demo = the demo data only, "
          "history = ten years added)")


def check(results: list[dict]) -> list[str]:
    """The thresholds: the history dashboard's ratio (DASHBOARD_MAX_RATIO). Returns the failures, in words."""
    failures = []
    for result in results:
        figures = result["pages"]["dashboard /"]
        if result["dataset"] == "history" and figures["ratio"] > DASHBOARD_MAX_RATIO:
            failures.append(f"dashboard with history: {figures['ratio']:.1f}x the login page, more than "
                            f"{DASHBOARD_MAX_RATIO:.0f}x")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=("demo", "history"), default=["demo", "history"])
    parser.add_argument("--samples", type=int, default=200, help="requests per page (p95 needs 100 or more)")
    parser.add_argument("--years", type=int, default=10, help="years of history (default 10)")
    parser.add_argument("--sessions", type=int, help="sessions of the history (default: 150 a year)")
    parser.add_argument("--enrolments", type=int, help="enrolments of the history (default: 1,000 a year)")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created on it, then dropped)")
    args = parser.parse_args()
    if args.samples < 2:
        parser.error("--samples: at least 2")
    if args.years < 1:
        parser.error("--years: at least 1")
    sessions, enrolments = args.sessions or 150 * args.years, args.enrolments or 1000 * args.years
    results = [run(d, args.samples, args.database_url, sessions, enrolments, args.years) for d in args.datasets]
    print_table(results, args.samples)
    failures = check(results)
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
