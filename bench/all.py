"""Every benchmark of issue 10, on SQLite and on PostgreSQL, then one summary table of ratios.

Usage: .venv/bin/python bench/all.py [--quick] [--only pages signing documents bpf uploads seals esign] [--samples 200]
                                      [--database-url URL | --sqlite-only] [--no-pdf]

SQLite always (a file in a temporary folder); PostgreSQL too when a server is given: --database-url, else
BENCH_DATABASE_URL, else TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test; a database is created
on it for each benchmark, then dropped). `make bench` runs this script. Each figure is a ratio against a
baseline measured in the same run, on the same database, so that it does not depend on the machine:

  signing    bench/signing.py: 100 trainees sign one slot at once through a real server (drawn signatures);
             throughput and p99 of the POST against GET /login by as many clients at once, and its server
             CPU against a bare 10 KB insert served alike (the floor: fails above 3x);
  pages      bench/pages.py: ten years of data (about 1,500 sessions, 10,000 enrolments) on a real server;
             p95 of the public catalogue, a course sheet, the advisor's dashboard (and the sessions to come,
             last year's BPF, the Qualiopi board) against the p95 of GET /login, one request at a time;
  documents  bench/documents.py: the "dossier de session" of an 8-trainee session rendered to DOCX, against
             copying the same files (floor A); PDF conversion per document once warm (unless --no-pdf);
  bpf        bench/bpf.py: the BPF of a year of 10,000 enrolments against a year of 100, same database;
  seals      bench/seals.py: the sealed attendance register of 20 trainees x 10 half-days (210 records, 10 seals,
             each timestamped by a local RFC 3161 authority): a countersignature (append + seal) against a
             trainee's signature (append); verify_chain with its seals, then with its tokens (cold, warm),
             against recomputing the hash chain alone;
  uploads    bench/uploads.py: refusing each hostile upload (zip bombs, billion laughs, templates that build too
             much or never end, a pixel-bomb logo) through its page, time and peak memory against accepting
             the default template;
  esign      bench/esign.py: one electronic signature of the demo's convention: pades.sign (PAdES-B-B), with a
             timestamp from a local RFC 3161 authority (B-T), and signing.services.sign with its commit, against
             converting the same convention's DOCX to PDF with the warm LibreOffice (without LibreOffice, or with
             --no-pdf: rendering the PDF's pages with pades.render_pages, labelled).

It takes about 5 minutes per database on a 2-core machine (--quick: about half: 100 requests per page, one
signing round, 2 document rounds without PDF, 3 BPF repeats, 3 esign rounds); esign takes about a minute of it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BENCHES = ("signing", "pages", "documents", "bpf", "uploads", "seals", "esign")


def run_backend(url: str | None, args) -> dict:
    """Every chosen benchmark on one database (None: SQLite). Returns {bench: figures or an error text}."""
    from bench import bpf, documents, esign, pages, seals, signing, uploads

    quick = args.quick
    found: dict = {}
    steps = {
        "signing": lambda: signing.run(100, 100, 1 if quick else 2, "drawn", url)[1],
        "pages": lambda: pages.run("history", args.samples or (100 if quick else 200), url),
        "documents": lambda: documents.run(2 if quick else 5, url, with_pdf=not (quick or args.no_pdf),
                                           quiet=True),
        "bpf": lambda: bpf.run([100, 10000], 3 if quick else 5, url),
        "uploads": lambda: uploads.run(1 if quick else 3, url, quiet=True),
        "seals": lambda: seals.run(1 if quick else 3, 10 if quick else 30, url, quiet=True),
        "esign": lambda: esign.run(3 if quick else 10, url, office=not args.no_pdf, quiet=True),
    }
    for name in args.only:
        started = time.perf_counter()
        print(f"--- {name} on {'PostgreSQL' if url else 'SQLite'}...", flush=True)
        try:
            found[name] = steps[name]()
            if name == "pages":
                pages.print_table([found[name]], found[name]["samples"])
                for failure in pages.check([found[name]]):
                    print(f"FAILED: {failure}", flush=True)
            if name == "signing":
                for failure in signing.check({100: found[name]}):
                    print(f"FAILED: {failure}", flush=True)
            if name == "documents" and found[name].get("pdf_first_ok") is False:
                print(f"FAILED: the first PDF after start is not within {documents.FIRST_TARGET}x a warm one", flush=True)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - one failed bench does not hide the others
            traceback.print_exc()
            found[name] = f"FAILED: {exc}"
        print(f"    {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return found


def rows(found: dict) -> list[tuple[str, str, str]]:
    """(figure, ratio, what it is measured against / the absolute value) for one database."""
    out = []
    signing = found.get("signing")
    if isinstance(signing, dict):
        post, base = signing["POST signature"], signing["GET /login (baseline)"]
        out.append(("signing, 100 clients: throughput", f"{post['rate_ratio']:.1f}x",
                    f"{post['rate']:.0f} req/s vs login {base['rate']:.0f} req/s (lower is slower)"))
        out.append(("signing, 100 clients: p99", f"{post['p99_ratio']:.1f}x",
                    f"{post['p99'] * 1000:.0f} ms vs login {base['p99'] * 1000:.0f} ms"))
        floor = signing["POST bare insert (floor)"]
        out.append(("signing: server CPU / a bare 10 KB insert (at most 3x)", f"{post['cpu_floor_ratio']:.1f}x",
                    f"{post['cpu'] * 1000:.2f} vs {floor['cpu'] * 1000:.2f} ms/req, {post['sql']:.0f} SQL vs "
                    f"{floor['sql']:.0f}; throughput {post['rate_floor_ratio']:.1f}x below the insert's"))
    elif signing:
        out.append(("signing", signing, ""))
    result = found.get("pages")
    if isinstance(result, dict):
        login = result["pages"]["login (baseline)"]
        for name, figures in result["pages"].items():
            if name == "login (baseline)":
                continue
            out.append((f"10 years: {name} p95", f"{figures['ratio']:.1f}x",
                        f"{figures['p95'] * 1000:.0f} ms vs login {login['p95'] * 1000:.0f} ms, {figures['sql']} SQL"))
    elif result:
        out.append(("pages", result, ""))
    docs = found.get("documents")
    if isinstance(docs, dict):
        out.append((f"session pack, {docs['documents']} DOCX: render", f"{docs['render'] / docs['copy']:.1f}x",
                    f"{docs['render'] * 1000:.0f} ms vs copying the files {docs['copy'] * 1000:.0f} ms"))
        out.append(("session pack: render + archive", f"{docs['pack'] / docs['copy']:.1f}x",
                    f"{docs['pack'] * 1000:.0f} ms (contexts from the database, files, rows)"))
        if docs["pdf_warm"] is not None:
            out.append(("session pack: PDF, per document", f"{docs['pdf_warm'] / (docs['copy'] / docs['documents']):.0f}x",
                        f"{docs['pdf_warm'] * 1000:.0f} ms per document once warm (cold start {docs['pdf_cold']:.1f} s)"))
        if docs.get("pdf_first_shared") is not None:
            out.append(("first PDF after start (shared converter)",
                        f"{docs['pdf_first_shared'] / docs['pdf_warm_shared']:.1f}x",
                        f"{docs['pdf_first_shared'] * 1000:.0f} ms vs warm {docs['pdf_warm_shared'] * 1000:.0f} ms "
                        f"(own LibreOffice: {docs['pdf_first_own']:.1f} s, {docs['pdf_first_own'] / docs['pdf_warm_own']:.0f}x)"))
    elif docs:
        out.append(("documents", docs, ""))
    bpf = found.get("bpf")
    if isinstance(bpf, list):
        small, large = bpf[0], bpf[-1]
        out.append((f"BPF, {large['size']:,} enrolments in a year", f"{large['bpf'] / small['bpf']:.1f}x",
                    f"{large['bpf'] * 1000:.0f} ms vs {small['size']} enrolments {small['bpf'] * 1000:.0f} ms, "
                    f"{large['statements']} SQL each"))
    elif bpf:
        out.append(("bpf", bpf, ""))
    refusals = found.get("uploads")
    if isinstance(refusals, dict):
        from bench.uploads import BASELINE

        base = refusals[BASELINE]
        for label, figures in refusals.items():
            if label == BASELINE:
                continue
            memory = (f"; peak memory {figures['peak'] / base['peak']:.2f}x ({figures['peak'] / 2**20:.0f} MiB)"
                      if figures["peak"] and base["peak"] else "")
            out.append((f"refuse: {label}"[:42], f"{figures['seconds'] / base['seconds']:.1f}x",
                        f"{figures['seconds'] * 1000:.0f} ms vs accepting the default template "
                        f"{base['seconds'] * 1000:.0f} ms{memory}"))
    elif refusals:
        out.append(("uploads", refusals, ""))
    sealed = found.get("seals")
    if isinstance(sealed, dict):
        sign, base = sealed["sign"], sealed["verify_baseline"]
        out.append(("seals: countersign (append + seal)", f"{sealed['countersign'] / sign:.1f}x",
                    f"{sealed['countersign'] * 1000:.1f} ms (seal {sealed['seal'] * 1000:.1f} ms) vs a trainee's "
                    f"signature {sign * 1000:.1f} ms, with commit"))
        for key, label in (("seals", f"seals: verify {sealed['records']} records + {sealed['seals']} seals"),
                           ("tokens_cold", f"seals: verify + {sealed['seals']} tokens, cold"),
                           ("tokens_warm", f"seals: verify + {sealed['seals']} tokens, warm")):
            value = sealed[f"verify_{key}"]
            out.append((label, f"{value / base:.1f}x",
                        f"{value * 1000:.1f} ms vs the hash chain alone {base * 1000:.1f} ms"))
    elif sealed:
        out.append(("seals", sealed, ""))
    signed = found.get("esign")
    if isinstance(signed, dict):
        from bench.esign import LABELS

        base = signed["baseline"]
        for key, label in LABELS.items():
            out.append((f"esign: {label}", f"{signed[key] / base:.1f}x",
                        f"{signed[key] * 1000:.0f} ms vs {signed['baseline_label']} {base * 1000:.0f} ms"))
    elif signed:
        out.append(("esign", signed, ""))
    return out


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + cpu if cpu else ''}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about half the time: fewer samples and rounds")
    parser.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    parser.add_argument("--samples", type=int, help="requests per page (default 200, 100 with --quick)")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: BENCH_DATABASE_URL, TEST_DATABASE_URL)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--no-pdf", action="store_true",
                        help="leave LibreOffice out: the session pack's PDF conversion, the esign baseline's")
    args = parser.parse_args()
    postgres = None if args.sqlite_only else (args.database_url or os.environ.get("BENCH_DATABASE_URL")
                                              or os.environ.get("TEST_DATABASE_URL"))
    started = time.perf_counter()
    results = {"SQLite": run_backend(None, args)}
    if postgres:
        results["PostgreSQL"] = run_backend(postgres, args)
    else:
        print("(PostgreSQL left out: set BENCH_DATABASE_URL or TEST_DATABASE_URL, or pass --database-url)")
    elapsed = time.perf_counter() - started

    tables = {name: rows(found) for name, found in results.items()}
    labels = list(dict.fromkeys(label for table in tables.values() for label, _, _ in table))
    print(f"\nSummary, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}; "
          f"{elapsed / 60:.1f} min in all")
    for name, found in results.items():
        build = found.get("pages")
        if isinstance(build, dict):
            print(f"{name}: ten years built in {build['build_seconds']:.0f} s (not a measured figure): "
                  + ", ".join(f"{v} {k}" for k, v in build["made"].items()))
    header = f"{'figure':<42}" + "".join(f"{name:>12}" for name in tables)
    print(header)
    print("-" * len(header))
    for label in labels:
        cells = "".join(f"{next((r for lb, r, _ in table if lb == label), '-'):>12}" for table in tables.values())
        print(f"{label:<42}{cells}")
    print("\nWhat each ratio is measured against (same run, same database):")
    for name, table in tables.items():
        for label, _, against in table:
            if against:
                print(f"  {name:<10} {label:<42} {against}")
    print("\nRead: signing throughput = login's requests/s / the signature's (how many times slower), p99 = the "
          "signature's p99 / login's;\npages = the page's p95 / login's p95 (one request at a time, ten years of "
          "data); session pack = render time / copying the same DOCX files;\nBPF = a 10,000-enrolment year / a "
          "100-enrolment year (with the same SQL statements: no N+1); refuse = the refusal's time / accepting the "
          "default template's;\nesign = one signature's time / converting the same convention to PDF (LibreOffice, "
          "warm).")
    if any(isinstance(v, str) for found in results.values() for v in found.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
