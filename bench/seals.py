"""The sealed attendance register: what sealing costs a countersignature, and what checking the seals and their
timestamps costs a verification, as ratios against baselines measured in the same run.

Usage: .venv/bin/python bench/seals.py [--rounds 3] [--repeats 30] [--database-url URL]

It builds a throw-away database (like bench/signing.py: SQLite in a temporary folder, or with --database-url a
database created on that PostgreSQL server, then dropped), loads the demo, makes a sealing key in a temporary
SEAL_KEY_DIR (core/sealkeys.py) and starts a local RFC 3161 authority (tests/tsa_server.py, LocalTSA; TSA_URL and
TSA_CA_FILE point at it). Then, per round, one session of a 40-hour course: 20 confirmed trainees × 10 half-days,
in progress; half-day after half-day, every trainee signs (attendance.services.sign, method "link", a drawn
signature), then the trainer countersigns (attendance.services.countersign, drawn too), which seals the chain's
head; the session then completes. Each call is timed with its commit, as a request would make it. A chain is
210 records under 10 seals; the queued timestamp jobs then run (messaging.services.run_due_jobs), one token per
seal. The bench fails unless every session verifies, sealed to its last record, each seal timestamped.

Figures, medians:
  1. sealing: a countersignature (append + seal: the records since the previous seal re-read and re-hashed,
     an Ed25519 signature, the seal row, the timestamp job) against a trainee's signature (append only), over
     the 200 signatures and 10 countersignatures of each round; and the share of the seal itself
     (seals.after_append, timed inside the countersignature);
  2. verifying the first round's register, ``--repeats`` times, each call in a fresh database session (as a
     request would), the variants interleaved:
       baseline      the hash chain only: verify_chain as it was before the seals (the same query of the
                     records, every hash recomputed with chain.record_hash, the head compared), reproduced here;
       seals         verify_chain(timestamps=False): the same, plus the seals (signatures, covered hashes, none
                     missing);
       tokens, cold  verify_chain(): plus the 10 RFC 3161 tokens, their cache emptied first
                     (seals._verified_token.cache_clear());
       tokens, warm  verify_chain() again: the tokens' checks come from the per-process cache.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event, select  # noqa: E402

from bench.support import database  # noqa: E402 - the benchmarks' throw-away database
from tests.fixtures.documents import drawing  # noqa: E402 - a drawn signature, a different stroke per seed
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

TRAINEES = 20
SLOTS = 10  # half-days: a 40-hour course of 8-hour days
FIRST_MONDAY = dt.date(2031, 3, 3)  # after the demo (loaded as of 2030-01-01); one week per round


def _at(day: dt.date, time_of_day: dt.time, minutes: int = 0) -> dt.datetime:
    from trainingmgr.core.timeutil import PARIS

    return (dt.datetime.combine(day, time_of_day, tzinfo=PARIS) + dt.timedelta(minutes=minutes)).astimezone(
        dt.timezone.utc)


class Counter:
    """SQL statements, counted on the engine."""

    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


def prepare():
    """Migrate, load the demo, a published 40-hour course for 20. Returns (course, advisor, trainer user,
    its Trainer row)."""
    from flask_migrate import upgrade

    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.catalogue.services import create_course, set_course_status
    from trainingmgr.demo.seeds import DUME_CHORUS_PRO
    from trainingmgr.demo.services import load_demo
    from trainingmgr.resources.models import Trainer

    upgrade()
    load_demo(today=dt.date(2030, 1, 1))
    advisor = get_user_by_email("conseil@formaction.example")
    trainer_user = get_user_by_email("formateur@formaction.example")
    trainer = db.session.scalar(select(Trainer).where(Trainer.user_id == trainer_user.id))
    course = create_course({**DUME_CHORUS_PRO, "title": f"{DUME_CHORUS_PRO['title']} (banc des scellements)",
                            "duration_hours": Decimal(4 * SLOTS), "duration_days": Decimal(SLOTS // 2),
                            "max_trainees": TRAINEES}, advisor, slug="banc-scellements")
    set_course_status(course, "published")
    db.session.commit()
    return course, advisor, trainer_user, trainer


def deliver(round_number: int, course, advisor, trainer_user, trainer, counter: Counter) -> dict:
    """One session of 20 trainees × 10 half-days, signed and countersigned call by call. Returns the session id
    and the timings (seconds, each call with its commit) and SQL statements per call."""
    from trainingmgr.attendance import seals
    from trainingmgr.attendance import services as attendance
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.resources.services import save_location
    from trainingmgr.sessions.services import change_status, create_session
    from trainingmgr.trainees.services import save_trainee

    room = save_location(None, {"name": f"Salle des scellements {round_number}", "city": "Toulouse",
                                "capacity": TRAINEES})
    db.session.flush()
    session, _ = create_session({"course_id": course.id, "start_date": FIRST_MONDAY + dt.timedelta(weeks=round_number),
                                 "location_id": room.id, "trainer_ids": [trainer.id], "capacity": TRAINEES,
                                 "format": "inter"}, advisor)
    change_status(session, "open", advisor)
    enrolments = []
    for i in range(TRAINEES):
        trainee = save_trainee(None, {"civility": "Mme" if i % 2 else "M.", "first_name": f"Prénom{i:02d}",
                                      "last_name": f"Scellé{round_number}", "email": f"scelle{round_number}.{i:02d}@exemple.fr"})
        enrolments.append(enrol(session, trainee, actor=advisor, notify=False))
    change_status(session, "confirmed", advisor)
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    assert len(slots) == SLOTS, len(slots)
    assert [e.status for e in enrolments] == ["confirmed"] * TRAINEES, [e.status for e in enrolments]
    change_status(session, "in_progress", advisor, now=_at(slots[0].date, slots[0].start_time))
    db.session.commit()
    drawings = [drawing(k) for k in range(TRAINEES + 1)]  # made beforehand: not part of what is measured

    sealing = []  # seconds spent in seals.after_append, per call
    original = seals.after_append

    def timed_after_append(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sealing.append(time.perf_counter() - started)

    signs, countersigns, seal_parts, sign_sql, countersign_sql = [], [], [], [], []
    seals.after_append = timed_after_append  # services calls it through the module: seals.after_append(...)
    try:
        for slot in slots:
            for i, enrolment in enumerate(enrolments):
                before, started = counter.count, time.perf_counter()
                attendance.sign(slot, enrolment, method="link", drawing=drawings[i],
                                now=_at(slot.date, slot.start_time, -5 + i), ip="192.0.2.1", user_agent="bench")
                db.session.commit()
                signs.append(time.perf_counter() - started)
                sign_sql.append(counter.count - before)
            sealing.clear()
            before, started = counter.count, time.perf_counter()
            attendance.countersign(slot, trainer_user, drawing=drawings[-1], now=_at(slot.date, slot.end_time, 1),
                                   ip="192.0.2.1", user_agent="bench")
            db.session.commit()
            countersigns.append(time.perf_counter() - started)
            countersign_sql.append(counter.count - before)
            seal_parts.append(sum(sealing))
    finally:
        seals.after_append = original
    change_status(session, "completed", advisor, now=_at(slots[-1].date, slots[-1].end_time, 2))
    db.session.commit()
    return {"session_id": session.id, "sign": signs, "countersign": countersigns, "seal": seal_parts,
            "sign_sql": sign_sql, "countersign_sql": countersign_sql}


def hash_only(session_id: int) -> bool:
    """The baseline: verify_chain as it was before the seals (chain.py's committed version), reproduced: the
    same query of the records, every hash recomputed with record_hash, the head compared; no seals."""
    from trainingmgr.attendance.chain import GENESIS, record_hash
    from trainingmgr.attendance.models import AttendanceChain, AttendanceRecord

    records = db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        .order_by(AttendanceRecord.seq, AttendanceRecord.id)
        .execution_options(populate_existing=True)
    ).all()
    head = db.session.get(AttendanceChain, session_id, populate_existing=True)
    previous = GENESIS
    for position, record in enumerate(records, start=1):
        if record.seq != position or record.prev_hash != previous or record_hash(record) != record.hash:
            return False
        previous = record.hash
    return head is not None and head.length == len(records) and head.head_hash == previous


def check_register(session_id: int) -> None:
    """The register verifies, sealed to its last record, each seal timestamped by the local authority."""
    from trainingmgr.attendance import seals
    from trainingmgr.attendance.chain import verify_chain

    db.session.remove()
    seals._verified_token.cache_clear()
    check = verify_chain(session_id)
    expected = TRAINEES * SLOTS + SLOTS
    stamped = sum(1 for view in check.seals if view.timestamp.startswith("horodaté le"))
    if not (check.ok and check.length == expected and check.sealed_length == expected and len(check.seals) == SLOTS
            and stamped == SLOTS and not check.warnings and hash_only(session_id)):
        raise SystemExit(f"FAILED: session {session_id}: {check.label} {check.problem} {check.warnings}; "
                         f"{check.length} records, sealed to {check.sealed_length}, {len(check.seals)} seals, "
                         f"{stamped} timestamped; expected {expected} records under {SLOTS} timestamped seals")


def run(rounds: int, repeats: int, database_url: str | None, quiet: bool = False) -> dict:
    """Measure, print unless ``quiet``, and return the figures (seconds, medians)."""
    from tests.tsa_server import LocalTSA
    from trainingmgr.attendance import seals
    from trainingmgr.attendance.chain import verify_chain
    from trainingmgr.attendance.models import AttendanceSeal
    from trainingmgr.core import sealkeys
    from trainingmgr.messaging.models import Job
    from trainingmgr.messaging.services import run_due_jobs

    say = (lambda *args: None) if quiet else print
    with database(database_url) as (url, tmp), LocalTSA() as tsa:
        key_dir = Path(tmp) / "seal_keys"
        sealkeys.create_key(key_dir)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": os.path.join(tmp, "files"),
                          "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "SEAL_KEY_DIR": str(key_dir), "TSA_URL": tsa.url, "TSA_CA_FILE": tsa.ca_file})
        counter = Counter()
        try:
            with app.app_context():
                course, advisor, trainer_user, trainer = prepare()
                backend = db.engine.dialect.name
                event.listen(db.engine, "before_cursor_execute", counter)
                started = time.perf_counter()
                delivered = [deliver(r, course, advisor, trainer_user, trainer, counter) for r in range(rounds)]
                build_seconds = time.perf_counter() - started
                # The demo's delivered sessions were sealed too (the key and the authority were there): their
                # timestamp jobs run along.
                done, failed = run_due_jobs(limit=10_000)
                pending = db.session.scalar(select(db.func.count()).select_from(Job).where(
                    Job.kind == seals.TIMESTAMP_JOB, Job.status != "done"))
                tokens = db.session.scalar(select(db.func.count()).select_from(AttendanceSeal).where(
                    AttendanceSeal.session_id.in_([made["session_id"] for made in delivered]),
                    AttendanceSeal.tsa_token.is_not(None)))
                if failed or pending or tokens != rounds * SLOTS:
                    raise SystemExit(f"FAILED: {done} jobs done, {failed} failed, {pending} timestamp jobs not done, "
                                     f"{tokens} seals of the bench's sessions timestamped; expected {rounds * SLOTS}")
                for made in delivered:
                    check_register(made["session_id"])

                session_id = delivered[0]["session_id"]
                variants = {
                    "baseline": lambda: hash_only(session_id),
                    "seals": lambda: verify_chain(session_id, timestamps=False).ok,
                    "tokens_cold": lambda: verify_chain(session_id).ok,
                    "tokens_warm": lambda: verify_chain(session_id).ok,
                }
                times = {name: [] for name in variants}
                statements = {}
                for repeat in range(repeats + 1):  # the first pass warms up (imports, statement caches): not counted
                    for name, call in variants.items():
                        db.session.remove()  # a fresh session, as a request would have
                        if name == "tokens_cold":
                            seals._verified_token.cache_clear()
                        before, started = counter.count, time.perf_counter()
                        ok = call()
                        elapsed = time.perf_counter() - started
                        if not ok:
                            raise SystemExit(f"FAILED: {name}: the register of session {session_id} does not verify")
                        if repeat:
                            times[name].append(elapsed)
                        statements[name] = counter.count - before
                event.remove(db.engine, "before_cursor_execute", counter)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()

    def median(key: str) -> float:
        return statistics.median(itertools.chain.from_iterable(made[key] for made in delivered))

    figures = {"backend": backend, "rounds": rounds, "repeats": repeats, "records": TRAINEES * SLOTS + SLOTS,
               "seals": SLOTS, "build_seconds": build_seconds,
               "sign": median("sign"), "countersign": median("countersign"), "seal": median("seal"),
               "sign_sql": median("sign_sql"), "countersign_sql": median("countersign_sql"),
               **{f"verify_{name}": statistics.median(values) for name, values in times.items()},
               **{f"verify_{name}_sql": count for name, count in statements.items()}}

    sign, countersign, seal_part = figures["sign"], figures["countersign"], figures["seal"]
    base = figures["verify_baseline"]
    say(f"\n{backend}: {rounds} session(s) of {TRAINEES} trainees × {SLOTS} half-days, {figures['records']} records "
        f"under {SLOTS} seals each, every seal timestamped; medians")
    say(f"  {'':50}{'ms':>9}{'SQL':>6}{'ratio':>9}")
    say(f"  {'trainee signs (append; baseline)':50}{sign * 1000:9.2f}{figures['sign_sql']:6.0f}{'1.0x':>9}")
    say(f"  {'trainer countersigns (append + seal)':50}{countersign * 1000:9.2f}{figures['countersign_sql']:6.0f}"
        f"{countersign / sign:8.1f}x")
    say(f"  {'  of which the seal (seals.after_append)':50}{seal_part * 1000:9.2f}{'':6}{seal_part / sign:8.1f}x")
    labels = {"baseline": "verify: hash chain only (baseline)", "seals": "verify: + seals (timestamps=False)",
              "tokens_cold": "verify: + seals + 10 tokens, cold", "tokens_warm": "verify: + seals + 10 tokens, warm"}
    for name, label in labels.items():
        value = figures[f"verify_{name}"]
        say(f"  {label:50}{value * 1000:9.2f}{figures[f'verify_{name}_sql']:6}{value / base:8.1f}x")
    say(f"(each call with its commit; sign: {rounds * TRAINEES * SLOTS} calls, countersign: {rounds * SLOTS}; "
        f"verify: {repeats} repeats on {figures['records']} records, each in a fresh database session; "
        f"{build_seconds:.0f} s to deliver the sessions)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="sessions delivered (sign and countersign timings)")
    parser.add_argument("--repeats", type=int, default=30, help="verifications of each kind")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created on it, then dropped)")
    args = parser.parse_args()
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats: at least 1")
    run(args.rounds, args.repeats, args.database_url)


if __name__ == "__main__":
    main()
