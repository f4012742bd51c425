"""The yearly BPF as enrolments grow: computation time as a ratio against a baseline measured in the same run, and
the number of SQL statements, which must not grow with the data.

Usage: .venv/bin/python bench/bpf.py [--enrolments 100 10000] [--repeat 5] [--database-url URL]

It builds a throw-away database (SQLite in a temporary folder, or with --database-url a PostgreSQL server on which
a uniquely named database is created, then dropped), migrates it, sets the demo organisation and both seed
courses up (classified for the BPF), then fills one calendar year per size (2030, 2031…) with bulk SQLAlchemy
Core inserts: sessions of 10 trainees over the year's weekdays, each with two half-days taught by one of ten
trainers (three external), trainees of every BPF status, enrolments completed / abandoned / absent with their
hours, funding lines of every kind (``FUNDING`` by the trainee's status, so that F-1 reads them), and two invoices
per session (the company, the OPCO under subrogation) plus a credit note every tenth session, and on every fifth
session an invoice to each other kind of funder (a fund of the self-employed, France Travail, a region).

Printed per size: the median time of billing.bpf.compute_bpf(year) over --repeat runs, its ratio to the first
size's (the baseline, so that the figures do not depend on the machine's speed), the ratio of a trivial query
(SELECT 1) in the same run, and the SQL statements behind one computation. The statements must be the same for
every size: otherwise the bench fails (exit status 1), as an N+1 query would.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event, insert, text  # noqa: E402

from bench.support import database  # noqa: E402
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

CLASS_SIZE = 10
STATUSES = ("employee", "employee", "employee", "job_seeker", "individual", "self_employed", "other")
# The funding lines of an enrolment by the n-th trainee's position in STATUSES: the employer and its OPCO, France
# Travail, the trainee alone, a fund of the self-employed, a region; some trainees have none.
FUNDING = (
    (("company", {}), ("opco", {"opco_name": "OPCO EP"})), (("company", {}),), (),
    (("france_travail", {"opco_name": "France Travail"}),), (("individual", {}), ("individual", {})),
    (("self_employed_fund", {"opco_name": "FIF PL"}),), (("public_funder", {"funder_category": "region"}),),
)


def setup() -> tuple[list, list[int]]:
    """Migrate; the demo organisation, both seed courses (classified), ten trainers. Returns (courses, trainer ids)."""
    from flask_migrate import upgrade

    from trainingmgr.catalogue.services import create_course
    from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
    from trainingmgr.demo.services import ORGANISATION
    from trainingmgr.organisation.services import update_organisation
    from trainingmgr.resources.models import Trainer

    upgrade()
    update_organisation(ORGANISATION)
    chorus = create_course({**CHORUS_PRO, "bpf_objective": "other", "nsf_code": "314"}, None, slug="chorus-pro")
    dume = create_course({**DUME_CHORUS_PRO, "bpf_objective": "rs", "nsf_code": "128"}, None, slug="dume")
    db.session.flush()
    trainers = list(db.session.scalars(insert(Trainer).returning(Trainer.id, sort_by_parameter_order=True), [
        {"first_name": "Banc", "last_name": f"Formateur {i}", "status": "organisation" if i >= 7 else "employee",
         "company_name": "Sous-traitant SARL" if i >= 7 else ""} for i in range(10)]))
    db.session.commit()
    return [chorus, dume], trainers


def fill_year(year: int, enrolments: int, courses: list, trainers: list[int]) -> None:
    """``enrolments`` enrolments in sessions of CLASS_SIZE over the weekdays of ``year``, with slots, trainees and
    invoices, in a few bulk inserts."""
    from trainingmgr.billing.models import Invoice
    from trainingmgr.enrolments.models import Enrolment, FundingLine
    from trainingmgr.sessions.models import Slot, TrainingSession
    from trainingmgr.trainees.models import Trainee

    days = [d for d in (dt.date(year, 1, 1) + dt.timedelta(n) for n in range(365)) if d.weekday() < 5]
    count = -(-enrolments // CLASS_SIZE)
    sessions = []
    for i in range(count):
        course = courses[i % len(courses)]
        sessions.append({"course_id": course.id, "course_version_id": course.current_version_id, "format": "inter",
                         "capacity": CLASS_SIZE, "min_trainees": 1, "price_per_trainee": Decimal("600.00"),
                         "status": "completed"})
    session_ids = list(db.session.scalars(
        insert(TrainingSession).returning(TrainingSession.id, sort_by_parameter_order=True), sessions))
    slots = []
    for i, session_id in enumerate(session_ids):
        day = days[i % len(days)]
        trainer = trainers[i % len(trainers)]
        slots.append({"session_id": session_id, "date": day, "start_time": dt.time(9), "end_time": dt.time(12, 30),
                      "trainer_id": trainer})
        slots.append({"session_id": session_id, "date": day, "start_time": dt.time(13, 30),
                      "end_time": dt.time(17), "trainer_id": trainer})
    db.session.execute(insert(Slot), slots)
    trainee_ids = list(db.session.scalars(insert(Trainee).returning(Trainee.id, sort_by_parameter_order=True), [
        {"first_name": f"Prénom{n}", "last_name": f"Nom{n}", "email": f"banc{year}.{n}@exemple.fr",
         "bpf_status": STATUSES[n % len(STATUSES)]} for n in range(enrolments)]))
    rows = []
    for n, trainee_id in enumerate(trainee_ids):
        status = ("completed", "completed", "completed", "completed", "abandoned", "no_show")[n % 6]
        hours = {"completed": Decimal("7.00"), "abandoned": Decimal("3.50"), "no_show": Decimal("0.00")}[status]
        rows.append({"session_id": session_ids[n // CLASS_SIZE], "trainee_id": trainee_id, "status": status,
                     "price_excl_vat": Decimal("600.00"), "hours_attended": hours})
    enrolment_ids = list(db.session.scalars(
        insert(Enrolment).returning(Enrolment.id, sort_by_parameter_order=True), rows))
    lines = [{"enrolment_id": enrolment_id, "kind": kind, "amount": Decimal("300.00"), **extra}
             for n, enrolment_id in enumerate(enrolment_ids) for kind, extra in FUNDING[n % len(STATUSES)]]
    db.session.execute(insert(FundingLine), lines)
    invoices = []
    for i, session_id in enumerate(session_ids):
        day = days[i % len(days)]
        common = {"status": "issued", "session_id": session_id, "issue_date": day, "year": year,
                  "total_vat": Decimal("0.00")}
        invoices.append({**common, "kind": "invoice", "number": f"F{year}-{2 * i + 1:05d}", "payer_kind": "company",
                         "total_excl_vat": Decimal("1800.00"), "total_incl_vat": Decimal("1800.00")})
        invoices.append({**common, "kind": "invoice", "number": f"F{year}-{2 * i + 2:05d}", "payer_kind": "opco",
                         "opco_name": "OPCO EP", "total_excl_vat": Decimal("4200.00"),
                         "total_incl_vat": Decimal("4200.00")})
        if i % 10 == 9:
            invoices.append({**common, "kind": "credit_note", "number": f"A{year}-{i:05d}", "payer_kind": "company",
                             "total_excl_vat": Decimal("600.00"), "total_incl_vat": Decimal("600.00")})
        if i % 5 == 4:
            for k, (payer_kind, extra) in enumerate((("self_employed_fund", {"opco_name": "FIF PL"}),
                                                    ("france_travail", {"opco_name": "France Travail"}),
                                                    ("public_funder", {"funder_category": "region"}))):
                invoices.append({**common, **extra, "kind": "invoice", "number": f"G{year}-{i:05d}-{k}",
                                 "payer_kind": payer_kind, "total_excl_vat": Decimal("300.00"),
                                 "total_incl_vat": Decimal("300.00")})
    db.session.execute(insert(Invoice), invoices)
    db.session.commit()


def median_time(action, repeat: int) -> float:
    action()  # warm the statement caches
    times = []
    for _ in range(repeat):
        db.session.expire_all()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def statements(action) -> int:
    count = 0

    def _count(*args, **kwargs):
        nonlocal count
        count += 1

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)
    return count


def run(sizes: list[int], repeat: int, database_url: str | None) -> list[dict]:
    from trainingmgr.billing.bpf.services import compute_bpf

    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": f"{tmp}/files",
                          "TESTING": True, "PDF_CONVERTER": "none"})
        with app.app_context():
            courses, trainers = setup()
            years = {size: 2030 + i for i, size in enumerate(sizes)}
            for size, year in years.items():
                fill_year(year, size, courses, trainers)
            results = []
            for size, year in years.items():
                bpf = compute_bpf(year)
                trainees = bpf.by_type[-1].trainees
                if trainees != size or not bpf.checks_ok:
                    raise SystemExit(f"FAILED: the BPF {year} counts {trainees} trainees for {size} enrolments "
                                     f"(checks {'ok' if bpf.checks_ok else 'failed'})")
                results.append({"size": size, "year": year,
                                "bpf": median_time(lambda: compute_bpf(year), repeat),
                                "trivial": median_time(lambda: db.session.execute(text("SELECT 1")).all(), repeat),
                                "statements": statements(lambda: compute_bpf(year)),
                                "products": bpf.products_total, "hours": bpf.by_type[-1].hours})
            db.session.remove()
            db.engine.dispose()
            return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, nargs="+", default=[100, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    results = run(args.enrolments, args.repeat, args.database_url)
    baseline = results[0]["bpf"]
    print(f"{'enrolments':>10} {'year':>5} {'BPF (ms)':>9} {'x baseline':>11} {'SELECT 1 (ms)':>14} {'SQL':>4}"
          f" {'products C':>12} {'hours F':>9}")
    for r in results:
        print(f"{r['size']:>10} {r['year']:>5} {r['bpf'] * 1000:>9.1f} {r['bpf'] / baseline:>10.1f}x"
              f" {r['trivial'] * 1000:>14.3f} {r['statements']:>4} {r['products']:>12} {r['hours']:>9}")
    print(f"(ratio = median time of the BPF / median time of the {results[0]['size']}-enrolment BPF, same run)")
    counts = {r["statements"] for r in results}
    if len(counts) != 1:
        raise SystemExit(f"FAILED: the SQL statements grow with the data: {[r['statements'] for r in results]}")
    print(f"SQL statements per BPF: {counts.pop()} whatever the number of enrolments")


if __name__ == "__main__":
    main()
