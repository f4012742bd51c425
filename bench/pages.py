"""Page rendering cost as data grows, as ratios against a baseline measured in the same run.

Usage: .venv/bin/python bench/pages.py [--sessions 10 200] [--repeat 30] [--database-url URL]

It builds a throw-away database (SQLite in a temporary folder unless --database-url names an empty
PostgreSQL database), loads the demo, adds N extra sessions, then times the dashboard, the session
list, the public catalogue, a course sheet, the Qualiopi board and the complaints register through the
WSGI test client. The baseline is the login
page (a template render with no data query), so the ratios do not depend on the machine's speed.
A ratio that grows with N means work per session (e.g. an N+1 query); the query counts show it too.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event  # noqa: E402

from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402


def build(app, extra_sessions: int) -> None:
    from flask_migrate import upgrade

    from trainingmgr.demo.services import load_demo
    from trainingmgr.resources.services import save_location, save_trainer
    from trainingmgr.sessions.services import change_status, create_session

    upgrade()
    load_demo(today=dt.date(2030, 1, 1))
    from sqlalchemy import select

    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.catalogue.models import Course

    advisor = get_user_by_email("conseil@formaction.example")
    courses = list(db.session.scalars(select(Course)))
    for i in range(extra_sessions):
        room = save_location(None, {"name": f"Salle {i}", "city": "Toulouse", "capacity": 10})
        trainer = save_trainer(None, {"first_name": "F", "last_name": f"Formateur {i}"})
        db.session.flush()
        course = courses[i % len(courses)]
        day = dt.date(2030, 2, 4) + dt.timedelta(weeks=i // 5, days=i % 5)
        session, _ = create_session({"course_id": course.id, "start_date": day, "location_id": room.id,
                                     "trainer_ids": [trainer.id], "price_per_trainee": "600"}, advisor)
        change_status(session, "open", advisor)
    db.session.commit()


def measure(client, url: str, repeat: int) -> float:
    client.get(url)  # warm caches (templates, statements)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def queries(client, url: str) -> int:
    count = 0

    def _count(*args, **kwargs):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)
    return count


def run(n: int, repeat: int, database_url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": f"{tmp}/files",
                          "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost", "TESTING": True})
        with app.app_context():
            build(app, n)
            baseline = measure(app.test_client(), "/login", repeat)
            client = app.test_client()
            client.post("/login", data={"email": "conseil@formaction.example", "password": "conseil-demo-2026"})
            pages = {"dashboard /": "/", "sessions /sessions/": "/sessions/", "catalogue /catalogue/": "/catalogue/",
                     "course sheet": "/catalogue/chorus-pro",
                     # The extra sessions are in 2030: the board's period is widened to count them.
                     "qualiopi board": "/qualite/qualiopi?depuis=2029-01-01&jusqu=2031-12-31",
                     "complaints register": "/qualite/demandes/"}
            result = {name: (measure(client, path, repeat) / baseline, queries(client, path))
                      for name, path in pages.items()}
            db.session.remove()
            if database_url:
                db.drop_all()
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            db.engine.dispose()
            return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    results = {n: run(n, args.repeat, args.database_url) for n in args.sessions}
    names = list(next(iter(results.values())))
    print(f"{'page':<24}" + "".join(f"{f'{n} sessions':>26}" for n in args.sessions))
    for name in names:
        cells = "".join(f"{f'{results[n][name][0]:.1f}x login, {results[n][name][1]} SQL':>26}" for n in args.sessions)
        print(f"{name:<24}{cells}")
    print("(ratio = median time of the page / median time of the login page, same run)")


if __name__ == "__main__":
    main()
