"""Refusing hostile uploads: time and peak memory of each refusal, as ratios against accepting the default
template in the same run.

Usage: .venv/bin/python bench/uploads.py [--rounds 3] [--database-url URL]

It builds a throw-away database (bench/support.py) with an administrator and the demo organisation, builds the
hostile files of tests/files/support.py (the 1 GiB part: zeros streamed through zlib, about 6 s, not measured),
then posts each through its real page with the application's test client, in this process: the template upload
page (/admin/templates/convention), the organisation form (logo) and the trainer form (CV). The baseline is
accepting the default convention template (documents/convention.docx: validated against the sample data, rendered
twice, stored) through the same page.

Per file: the median time of the request over --rounds (after one warm-up; the endless loop is measured once,
since it runs until TEMPLATE_RENDER_SECONDS), and the process's peak resident memory during one request (VmHWM once
/proc/self/clear_refs has reset it; Linux only), as ratios against the baseline's, with the growth of the peak
above the resident memory before the request. Every refusal must answer 422 and the baseline 302: otherwise the
bench fails (exit status 1).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.support import database  # noqa: E402
from tests.files.support import (BILLION_LAUGHS, gibibyte_bomb, many_entries, png, process_memory,  # noqa: E402
                                 reset_peak, with_entry, with_xml, zeros_entry)
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

BASELINE = "accept the default convention template"
ONCE = {"endless loop (stopped by the time limit)"}


def _organisation_form(logo: bytes) -> dict:
    from trainingmgr.demo.services import ORGANISATION

    data = {key: "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
            for key, value in ORGANISATION.items()}
    data["logo"] = (io.BytesIO(logo), "logo.png")
    return data


def template_page(client, data: bytes):
    return client.post("/admin/templates/convention", data={"file": (io.BytesIO(data), "modele.docx")},
                       content_type="multipart/form-data")


def logo_page(client, data: bytes):
    return client.post("/admin/organisation/", data=_organisation_form(data), content_type="multipart/form-data")


def cv_page(client, data: bytes):
    return client.post("/trainers/new", data={"first_name": "Jean", "last_name": "Banc",
                                              "cv": (io.BytesIO(data), "cv.docx")},
                       content_type="multipart/form-data")


def files(folder: str) -> dict:
    """label → (page, bytes, expected status) of the baseline and of each hostile file."""
    from tests.documents.support import make_template, shown
    from trainingmgr.documents import services
    from trainingmgr.documents.catalogue import mandatory_of

    with open(services._default_path("convention"), "rb") as handle:
        default = handle.read()

    def template(*extra: str) -> bytes:
        return make_template("Convention", *map(shown, mandatory_of("convention")), *extra)

    bomb = gibibyte_bomb(folder)
    cv = make_template("Jean Banc", "Formateur")
    endless = "{% for i in range(100000) %}{% for c in '" + "x" * 100000 + "' %}{% endfor %}{% endfor %}"
    return {
        BASELINE: (template_page, default, 302),
        "template with a 1 GiB extra part": (template_page, with_entry(template(), bomb, "word/bomb.bin"), 422),
        "template whose body is a 1 GiB bomb": (template_page, with_entry(template(), bomb, "word/document.xml"), 422),
        "template with a part compressed 1000x": (
            template_page, with_entry(template(), zeros_entry("word/padding.bin", 5 << 20)), 422),
        "template of 1,001 parts": (template_page, many_entries(template(), 1001), 422),
        "billion laughs in document.xml": (template_page, with_xml(template(), "word/document.xml", BILLION_LAUGHS),
                                           422),
        "{{ 'A' * 100000000 }}": (template_page, template("{{ 'A' * 100000000 }}"), 422),
        "range(10**6)": (template_page, template("{% for i in range(10**6) %}{% endfor %}"), 422),
        "nested ranges 1000 x 1000": (
            template_page, template("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"),
            422),
        "{{ 1/0 }}": (template_page, template("{{ 1/0 }}"), 422),
        "recursive macro": (template_page, template("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(1) }}"), 422),
        "endless loop (stopped by the time limit)": (template_page, template(endless), 422),
        "pixel-bomb logo (10 billion pixels)": (logo_page, png(100_000, 100_000), 422),
        "CV with a 1 GiB part": (cv_page, with_entry(cv, bomb, "word/media/photo.bin"), 422),
    }


def measure(client, page, data: bytes, expected: int, rounds: int, warm: bool = True) -> dict:
    """Median seconds of the request (after a warm-up request when ``warm``); peak resident memory (VmHWM) of one
    request and its growth over VmRSS."""
    def post():
        response = page(client, data)
        if response.status_code != expected:
            raise SystemExit(f"FAILED: answered {response.status_code} instead of {expected}")

    if warm:
        post()  # imports, caches
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        post()
        seconds.append(time.perf_counter() - started)
    peak = growth = None
    if reset_peak():
        before = process_memory("VmRSS")
        post()
        peak = process_memory("VmHWM")
        growth = peak - before
    return {"seconds": statistics.median(seconds), "peak": peak, "growth": growth}


def run(rounds: int, database_url: str | None, quiet: bool = False) -> dict:
    """Measure, print unless ``quiet``, and return {label: figures} (seconds, bytes; the baseline first)."""
    from flask_migrate import upgrade

    from trainingmgr.accounts.services import create_user
    from trainingmgr.demo.services import ORGANISATION
    from trainingmgr.organisation.services import update_organisation

    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" * 8, "FILES_DIR": f"{tmp}/files",
                          "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "WTF_CSRF_ENABLED": False, "PDF_CONVERTER": "none"})
        with app.app_context():
            upgrade()
            update_organisation(ORGANISATION)
            create_user("admin@bench.example", "bench-password-1", "admin", "Admin Banc")
            db.session.commit()
            client = app.test_client()
            if client.post("/login", data={"email": "admin@bench.example",
                                           "password": "bench-password-1"}).status_code != 302:
                raise SystemExit("FAILED: the administrator could not log in")
            started = time.perf_counter()
            made = files(tmp)
            if not quiet:
                print(f"Hostile files built in {time.perf_counter() - started:.0f} s (not measured); "
                      f"TEMPLATE_RENDER_SECONDS = {app.config['TEMPLATE_RENDER_SECONDS']}")
            results = {}
            for label, (page, data, expected) in made.items():
                once = label in ONCE
                results[label] = measure(client, page, data, expected, 1 if once else rounds, warm=not once)
                results[label]["bytes"] = len(data)
            db.session.remove()
            db.engine.dispose()
    if not quiet:
        print_table(results, rounds)
    return results


def print_table(results: dict, rounds: int) -> None:
    base = results[BASELINE]
    print(f"Median of {rounds} request(s) (the endless loop: one); ratios against {BASELINE!r} in the same run")
    print(f"  {'file':44} {'size':>8} {'time':>9} {'x base':>7} {'peak RSS':>9} {'x base':>7} {'growth':>8}")
    for label, figures in results.items():
        peak = "-" if figures["peak"] is None else f"{figures['peak'] / 2**20:.0f} MiB"
        peak_ratio = "-" if figures["peak"] is None else f"{figures['peak'] / base['peak']:.2f}"
        growth = "-" if figures["growth"] is None else f"{figures['growth'] / 2**20:.0f} MiB"
        print(f"  {label:44} {figures['bytes'] / 1024:6.0f} KB {figures['seconds'] * 1000:6.0f} ms "
              f"{figures['seconds'] / base['seconds']:6.2f}x {peak:>9} {peak_ratio:>6}x {growth:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    run(args.rounds, args.database_url)


if __name__ == "__main__":
    main()
