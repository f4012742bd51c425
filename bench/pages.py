"""The pages with ten years of data: p95 of the catalogue, a course sheet and the dashboard (and a few other
pages), as ratios against the p95 of the login page measured in the same run, on an application started as a
real HTTP server.

Usage: .venv/bin/python bench/pages.py [--datasets demo history] [--samples 200] [--years 10] [--short-years 2]
                                        [--sessions 1500] [--enrolments 10000] [--database-url URL]

For each dataset it builds a throw-away database (SQLite in a temporary folder, or with --database-url a
PostgreSQL server on which a uniquely named database is created, then dropped), migrates it and loads the demo
(today's date); "history" then adds ten years of data in bulk (bench/history.py: from January 2017 to six months
ahead, about 1,500 sessions with their half-day slots, 10,000 enrolments, 7,500 trainees of 400 companies,
7,700 invoices and their payments, 5,300 answered satisfaction surveys). The build time is printed apart: it
is not a measured figure. On PostgreSQL the build ends with VACUUM ANALYZE, as autovacuum would within a minute.
The pages: GET /login (the baseline), the public catalogue, the DUME course sheet (its sessions to come and its
public indicators over ten years of surveys), the advisor's dashboard, the sessions from today on, last year's
BPF and the Qualiopi board (last 12 months).

The application is then served by werkzeug's threaded server in this process (as bench/signing.py does), on a
free port of 127.0.0.1 (one server per dataset, all served at once and measured round by round together), with the configuration's defaults (CSRF, sessions, connection pool). One client logs in
as the advisor through the login form, warms every page up (5 requests each, not counted), then sends
--samples rounds; in each round it requests every page once, one request after another, each on a new
connection (werkzeug answers in HTTP/1.0), in the same order. Sequential requests measure what a page costs
the server, not how it queues: the concurrency is bench/signing.py's subject. Interleaving the pages round by
round spreads a burst of load on a shared CPU over every page alike, the baseline included.

The baseline is GET /login without a session (a template render, one SQL statement). Printed per page and
dataset: p50 and p95 latency (ms), p95 / p95 of the login page, and the SQL statements of one request (they
must not grow with the history: an N+1 query would show here first). Checked: the dashboard with the history
stays within DASHBOARD_MAX_RATIO (the run fails otherwise).

The lists (issue 22): every list of the back office is shown a page at a time, so that a page costs the same
whatever the history. With the "history" dataset, the run also builds a history of --short-years years (2 by
default, at the same pace: 150 sessions and 1,000 enrolments a year; 0 leaves it out) and measures every page
on both; for each list (LISTS) it prints the growth of its ratio from the short to the long history and fails
when it is above LIST_MAX_GROWTH, or when a page of the list takes more SQL statements on the long history.
"""
from __future__ import annotations

import argparse
import contextlib
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
from tests.fixtures.browser import running_server  # noqa: E402 - the threaded server of the browser tests
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
ADVISOR = ("conseil@formaction.example", "conseil-demo-2026")
COURSE = "marches-publics-dume-et-chorus-pro"  # a demo course: it has sessions in every dataset
BASELINE = "login (baseline)"
HEADLINE = ("catalogue /catalogue/", "course sheet", "dashboard /")
# The dashboard with ten years of history: 52x the login page before issue 22; the target is 10x (p95, 1,500
# sessions, both databases): the run fails above it (an N+1 query, the minute's memory gone, a table grown back).
DASHBOARD_MAX_RATIO = 10.0
# A list page's ratio may grow at most this much from --short-years to --years of history (issue 22: 1.3x).
LIST_MAX_GROWTH = 1.3
# The lists, as the advisor opens them (first page, searches); paged by core/paging.py.
LISTS = {
    "list: sessions": "/sessions/",
    "list: sessions, oldest": "/sessions/?page=1",
    "list: sessions, closed": "/sessions/?status=closed&page=2",
    "list: trainees": "/trainees/",
    "list: trainees, search": "/trainees/?q=martin",
    "list: companies": "/companies/",
    "list: companies, search": "/companies/?q=sarl",
    "list: invoices": "/billing/",
    "list: invoices, issued": "/billing/?status=issued&page=2",
    "list: quality requests": "/quality/requests/?status=",
    "list: improvement actions": "/quality/actions/",
    "list: API sessions": "/api/v1/sessions?from=2000-01-01",
    "list: API sessions, page 3": "/api/v1/sessions?from=2000-01-01&page=3&per_page=20",
    "enrolment form: companies": "/companies/search.json?q=sarl",
}


def pages(today: dt.date) -> dict[str, tuple[str, bool]]:
    """name: (path, as the advisor). The first is the baseline."""
    return {
        BASELINE: ("/login", False),
        "catalogue /catalogue/": ("/catalogue/", False),
        "course sheet": (f"/catalogue/{COURSE}", False),
        "dashboard /": ("/", True),
        "sessions from today": (f"/sessions/?from={today.isoformat()}", True),
        f"BPF {today.year - 1}": (f"/bpf/{today.year - 1}", True),
        "qualiopi board": ("/quality/qualiopi", True),
        **{name: (path, True) for name, path in LISTS.items()},
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


def measure(servers: list, targets: dict[str, tuple[str, bool]], samples: int) -> list[dict[str, dict]]:
    """``servers``: [(address, engine)] served at once. Every round requests each page from each server in turn
    (the first server one round, the last one the next), so that a burst of load on the machine hits every server alike (the two histories of the lists' growth are
    compared in the same moments, not one after the other). Returns each server's figures."""
    clients = []
    for address, _ in servers:
        advisor = Client(address)
        advisor.login(*ADVISOR)
        clients.append((advisor, Client(address)))

    def get(index: int, path: str, as_advisor: bool) -> float:
        advisor, public = clients[index]
        client = advisor if as_advisor else public
        start = time.perf_counter()
        status, body = client.request("GET", path, cookies=as_advisor)
        elapsed = time.perf_counter() - start
        if status != 200:
            raise SystemExit(f"FAILED: GET {path} answered {status}: {body[:200]}")
        return elapsed

    statements: list[dict[str, int]] = []
    for index, (_, engine) in enumerate(servers):
        counter = itertools.count()  # next() is atomic: statements counted from the server's thread

        def _count(*args, _counter=counter, **kwargs):
            next(_counter)

        counted = {}
        event.listen(engine, "before_cursor_execute", _count)
        try:
            for name, (path, as_advisor) in targets.items():
                for _ in range(5):  # warm-up: templates, statement caches, connection pool
                    get(index, path, as_advisor)
                before = next(counter)
                get(index, path, as_advisor)
                counted[name] = next(counter) - before - 1
        finally:
            event.remove(engine, "before_cursor_execute", _count)
        statements.append(counted)
    times: list[dict[str, list[float]]] = [{name: [] for name in targets} for _ in servers]
    for round_ in range(samples):
        # The servers' order alternates round by round: otherwise the first one's login (the baseline) always
        # follows the other server's heaviest page, and comes out 1.15–1.25× slower than the second one's.
        order = list(range(len(servers))) if round_ % 2 == 0 else list(reversed(range(len(servers))))
        for name, (path, as_advisor) in targets.items():
            for index in order:
                times[index][name].append(get(index, path, as_advisor))
    figures = []
    for counted, measured in zip(statements, times):
        base = p95(measured[BASELINE])
        figures.append({name: {"p50": statistics.median(values), "p95": p95(values), "ratio": p95(values) / base,
                               "sql": counted[name]} for name, values in measured.items()})
    return figures


def build(dataset: str, sessions: int, enrolments: int, today: dt.date, years: int = 10) -> dict:
    from flask_migrate import upgrade

    from bench.history import build_history
    from trainingmgr.demo.services import load_demo

    upgrade()
    load_demo(today=today)
    db.session.commit()
    made = build_history(today, sessions=sessions, enrolments=enrolments, years=years) if dataset == "history" else {}
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load (PostgreSQL 13 and later vacuum insert-only tables
        # too): the planner's statistics, and the visibility map that lets an index-only scan skip the table.
        # (SQLite has no statistics unless someone runs ANALYZE: the application never does, so neither does the
        # bench.) VACUUM cannot run inside a transaction: on a connection of its own, in autocommit.
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return made


def run(dataset: str, samples: int, database_url: str | None, sessions: int = 1500, enrolments: int = 10000,
        years: int = 10, quiet: bool = False) -> dict:
    """Build ``dataset`` ("demo" or "history") on a throw-away database, serve it, measure every page.
    Returns {"backend", "build_seconds", "made", "pages": {name: {p50, p95, ratio, sql}}}."""
    return run_many([(dataset, years, sessions, enrolments)], samples, database_url, quiet)[0]


def run_many(specs: list[tuple[str, int, int, int]], samples: int, database_url: str | None,
             quiet: bool = False) -> list[dict]:
    """Each (dataset, years, sessions, enrolments) of ``specs`` built on its own throw-away database, all served
    at once and measured together (measure). Returns run()'s result for each."""
    from trainingmgr.core.timeutil import paris_today

    today = paris_today()
    built_ones, servers = [], []
    with contextlib.ExitStack() as stack:
        for dataset, years, sessions, enrolments in specs:
            url, tmp = stack.enter_context(database(database_url))
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": f"{tmp}/files",
                              "PDF_CONVERTER": "none"})
            stack.callback(_dispose, app)
            with app.app_context():
                started = time.perf_counter()
                made = build(dataset, sessions, enrolments, today, years)
                built = time.perf_counter() - started
                backend, engine = db.engine.dialect.name, db.engine
                if not quiet:
                    what = ", ".join(f"{v} {k}" for k, v in made.items()) if made else "the demo only"
                    print(f"[{backend}, {dataset}, {years} years] built in {built:.0f} s: {what}", flush=True)
                db.session.remove()
            servers.append((stack.enter_context(running_server(app)), engine))
            built_ones.append({"backend": backend, "dataset": dataset, "years": years if dataset == "history" else 0,
                               "label": f"history {years}y" if dataset == "history" else dataset,
                               "build_seconds": built, "made": made, "samples": samples})
        for result, figures in zip(built_ones, measure(servers, pages(today), samples)):
            result["pages"] = figures
    return built_ones


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def print_table(results: list[dict], samples: int) -> None:
    backend = results[0]["backend"]
    names = list(results[0]["pages"])
    width = 42
    print(f"\n{backend}: p95 of each page / p95 of the login page, {samples} sequential requests per page")
    header = f"{'page':<28}" + "".join(f"{r.get('label', r['dataset']) + ' (p50 / p95 ms, ratio, SQL)':>{width}}"
                                       for r in results)
    print(header)
    print("-" * len(header))
    for name in names:
        cells = "".join(
            f"{'%.1f / %.1f ms  %5.1fx  %3d SQL' % (f['p50'] * 1000, f['p95'] * 1000, f['ratio'], f['sql']):>{width}}"
            for f in (r["pages"][name] for r in results))
        print(f"{name:<28}{cells}")
    print("(ratio = p95 of the page / p95 of GET /login, same run, same server; demo = the demo data only, "
          "history Ny = N years added)")
    growth = list_growth(results)
    if growth:
        short, long = growth[0]["short"], growth[0]["long"]
        print(f"\n{backend}: the lists from {short} to {long} years of history (fails above "
              f"{LIST_MAX_GROWTH:.1f}x, or with more SQL statements)")
        print(f"{'list':<28}{'ratio ' + str(short) + 'y':>10}{'ratio ' + str(long) + 'y':>10}{'growth':>9}"
              f"{'SQL ' + str(short) + 'y':>9}{'SQL ' + str(long) + 'y':>9}{'p50 growth':>12}")
        for row in growth:
            print(f"{row['name']:<28}{row['ratio_short']:>9.1f}x{row['ratio_long']:>9.1f}x{row['growth']:>8.2f}x"
                  f"{row['sql_short']:>9}{row['sql_long']:>9}{row['p50_growth']:>11.2f}x")
        print("(growth = ratio with the long history / ratio with the short one: checked; p50 growth = the same with "
              "the medians (p50 / p50 of the login page): for information)")


def list_growth(results: list[dict]) -> list[dict]:
    """Each list's ratio and statements on the shortest and the longest history of ``results`` (none with fewer
    than two histories)."""
    histories = sorted((r for r in results if r["dataset"] == "history"), key=lambda r: r.get("years", 0))
    if len(histories) < 2:
        return []
    short, long = histories[0], histories[-1]
    return [{"name": name, "short": short["years"], "long": long["years"],
             "ratio_short": short["pages"][name]["ratio"], "ratio_long": long["pages"][name]["ratio"],
             "growth": long["pages"][name]["ratio"] / short["pages"][name]["ratio"],
             "sql_short": short["pages"][name]["sql"], "sql_long": long["pages"][name]["sql"],
             "p50_growth": (long["pages"][name]["p50"] / long["pages"][BASELINE]["p50"])
             / (short["pages"][name]["p50"] / short["pages"][BASELINE]["p50"])}
            for name in LISTS if name in short["pages"] and name in long["pages"]]


def check(results: list[dict]) -> list[str]:
    """The thresholds: the history dashboard's ratio (DASHBOARD_MAX_RATIO), each list's growth from the short to
    the long history (LIST_MAX_GROWTH) and its statements. Returns the failures, in words."""
    failures = []
    longest = max((r.get("years", 0) for r in results if r["dataset"] == "history"), default=0)
    for result in results:
        figures = result["pages"]["dashboard /"]
        if result["dataset"] == "history" and result.get("years", longest) == longest \
                and figures["ratio"] > DASHBOARD_MAX_RATIO:
            failures.append(f"dashboard with history: {figures['ratio']:.1f}x the login page, more than "
                            f"{DASHBOARD_MAX_RATIO:.0f}x")
    for row in list_growth(results):
        if row["growth"] > LIST_MAX_GROWTH:
            failures.append(f"{row['name']}: {row['ratio_short']:.1f}x the login page with {row['short']} years of "
                            f"history, {row['ratio_long']:.1f}x with {row['long']} ({row['growth']:.2f}x, more than "
                            f"{LIST_MAX_GROWTH:.1f}x)")
        if row["sql_long"] > row["sql_short"]:
            failures.append(f"{row['name']}: {row['sql_short']} SQL statements with {row['short']} years of history, "
                            f"{row['sql_long']} with {row['long']}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=("demo", "history"), default=["demo", "history"])
    parser.add_argument("--samples", type=int, default=200, help="requests per page (p95 needs 100 or more)")
    parser.add_argument("--years", type=int, default=10, help="years of history (default 10)")
    parser.add_argument("--short-years", type=int, default=2,
                        help="the shorter history the lists' growth is measured from (default 2; 0: none)")
    parser.add_argument("--sessions", type=int, help="sessions of the history (default: 150 a year)")
    parser.add_argument("--enrolments", type=int, help="enrolments of the history (default: 1,000 a year)")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created on it, then dropped)")
    args = parser.parse_args()
    if args.samples < 2:
        parser.error("--samples: at least 2")
    if args.years < 1:
        parser.error("--years: at least 1")
    if not 0 <= args.short_years < args.years:
        parser.error("--short-years: from 0 (none) to less than --years")
    sessions, enrolments = args.sessions or 150 * args.years, args.enrolments or 1000 * args.years
    runs = [("demo", args.years)] if "demo" in args.datasets else []
    if "history" in args.datasets:
        runs += [("history", args.short_years)] if args.short_years else []
        runs.append(("history", args.years))
    # The shorter history at the same pace as the longer one (the same sessions and enrolments a year).
    results = run_many([(dataset, years, sessions * years // args.years, enrolments * years // args.years)
                        for dataset, years in runs], args.samples, args.database_url)
    print_table(results, args.samples)
    failures = check(results)
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
