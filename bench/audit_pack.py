"""The « Dossier d'audit » of a 12-month period against one session's pack, measured in the same run.

Usage: .venv/bin/python bench/audit_pack.py [--rounds 5] [--database-url URL] [--no-pdf]

It builds a throw-away database (like bench/documents.py) and loads the whole demo (`flask demo load`: its two
delivered sessions of the last twelve months with their documents, invoices, surveys and complaints), then, each
round, median over the rounds:
  baseline: one session's pack as the « Télécharger le dossier » button zips it (documents.services
            .session_pack_zip: the current version of each document, read and checked against its SHA-256);
  1. the audit pack of the last 12 months (quality.audit_pack.build_pack, 3 sessions sampled: the demo holds 2),
     as the task and `flask quality audit-pack` build it: the sessions' chains, the consistency checks, the
     Qualiopi board, the registers, the index (PDF through the shared converter unless --no-pdf: its first
     conversion, LibreOffice starting, is a warm-up round apart) and the zip with its manifest;
  2. its parts alone: the Qualiopi board of the period (build_board), the consistency checks of the sampled
     sessions (period_mismatches), the index document without PDF (index_docx).
Printed: seconds, and each line as a ratio of the baseline; the headline is the 12-month pack per sampled session
against one session pack. No target: a reading, never a timed test.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.support import database  # noqa: E402 - the benchmarks' throw-away database
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(rounds: int, database_url: str | None, with_pdf: bool, quiet: bool = False) -> dict:
    """Measure, print unless ``quiet``, and return the figures (seconds)."""
    from flask_migrate import upgrade

    from trainingmgr.core.timeutil import paris_today
    from trainingmgr.demo.services import load_demo
    from trainingmgr.documents import services as documents
    from trainingmgr.quality import audit_pack
    from trainingmgr.quality.board.services import build_board
    from trainingmgr.quality.consistency import period_mismatches
    from trainingmgr.quality.pack.index import index_docx
    from trainingmgr.sessions.models import TrainingSession

    with database(database_url) as (url, tmp):
        config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": os.path.join(tmp, "files"),
                  "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
        if not with_pdf:
            config["PDF_CONVERTER"] = "none"
        app = create_app(config)
        with app.app_context():
            upgrade()
            load_demo()
            db.session.commit()
            today = paris_today()
            plan = audit_pack.plan_pack(today - dt.timedelta(days=365), today, sample=3)
            sessions = [db.session.get(TrainingSession, i) for i in plan.session_ids]
            first = timed(lambda: audit_pack.build_pack(plan))  # warm-up: the converter starts, caches fill
            built = first[1]
            baselines, packs, boards, checks, indexes = [], [], [], [], []
            for _ in range(rounds):
                baselines.append(timed(lambda: documents.session_pack_zip(sessions[0]))[0])
                packs.append(timed(lambda: audit_pack.build_pack(plan))[0])
                boards.append(timed(lambda: build_board(plan.period.since, plan.period.until, today))[0])
                checks.append(timed(lambda: period_mismatches(plan.period.since, plan.period.until,
                                                              session_ids=plan.session_ids))[0])
                indexes.append(timed(lambda: index_docx(built.index))[0])
                db.session.rollback()
            base, pack, board, check, index = (statistics.median(v) for v in (baselines, packs, boards, checks,
                                                                               indexes))
            count = len(plan.session_ids)
            figures = {"backend": db.engine.dialect.name, "sessions": count, "held": plan.held,
                       "files": len(built.manifest), "bytes": len(built.data), "baseline": base, "pack": pack,
                       "board": board, "checks": check, "index": index, "first": first[0],
                       "pdf": not built.note}
            say = (lambda *args: None) if quiet else print
            say(f"Audit pack of the last 12 months ({figures['backend']}): {count} sampled sessions of "
                f"{plan.held} held, {figures['files']} files, {figures['bytes'] // 1024} kB; index "
                f"{'PDF' if figures['pdf'] else 'DOCX (no converter)'}; median of {rounds} round(s)")
            say(f"  {'':56} {'seconds':>8} {'baseline':>9}")

            def line(label, seconds):
                say(f"  {label:56} {seconds:8.4f} {seconds / base:8.1f}×")

            line("baseline: one session pack (session_pack_zip)", base)
            line("12-month audit pack (build_pack)", pack)
            line("  per sampled session", pack / max(count, 1))
            line("  the Qualiopi board of the period", board)
            line("  the consistency checks of the sample", check)
            line("  the index as DOCX", index)
            line("first pack of the process (converter start, caches)", first[0])
            say(f"Headline: the 12-month pack costs {pack / max(count, 1) / base:.1f}× one session pack per "
                f"sampled session ({pack / base:.1f}× in all).")
            return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--no-pdf", action="store_true", help="index without the PDF converter (DOCX)")
    args = parser.parse_args()
    run(args.rounds, args.database_url, with_pdf=not args.no_pdf)


if __name__ == "__main__":
    main()
