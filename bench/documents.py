"""Rendering the documents of an 8-trainee session ("dossier de session"), against floors measured in the
same run.

Usage: .venv/bin/python bench/documents.py [--rounds 5] [--database-url URL] [--no-pdf]

It builds a throw-away database (like bench/signing.py), loads the demo, fills the demo DUME session to its
8 seats, delivers it (every trainee signs every half-day with a drawn signature, the trainer countersigns,
the session completes), then:
  1. render only: the contexts of the documents the session pack has (programme, conventions, convocations,
     contracts, attendance sheet, attestations and certificates: about 30 documents, the ones
     services.generate_session_pack makes) are built once; then each round renders them all to DOCX with
     services.render (no database, no archive), median over the rounds; the same with docxtpl's rendering
     (engine._render_docxtpl, the fallback, what every document cost before fastrender), for comparison;
  2. floor A: copies the rendered DOCX files unchanged, one per rendered document (read the bytes, write them
     elsewhere); floor B: opens and saves them unchanged with python-docx (unzip, parse, serialise, zip);
  3. render + archive: services.generate_session_pack, as the application does it: contexts built from the
     database, rendering, archive (context JSON, SHA-256, stored files, rows), every document issued anew
     (reuse=False: an unchanged pack otherwise hands back the documents already issued);
  4. converts every document of the pack to PDF through the persistent converter (documents/conversion/pdf.py), the
     first conversion (cold: LibreOffice starts) apart;
  5. the first PDF after start (issue 22): a fresh process (as a new gunicorn worker) converts the pack's
     documents, first with its own LibreOffice (no PDF_SERVER: the first one starts it; before), then through
     the shared converter, ``flask pdf serve``, started and waited for (``flask pdf wait``'s probe) as make
     does; its first document against its warm ones, and the resident memory of the converter against what
     each process carried with its own.
Printed: the times, and the headline ratio render only / floor A (target: within 10×), the other lines against
floor A as well, and the PDF seconds per document once warm (target: well under 1 s); the first PDF of a fresh
process through the shared converter must be within 3× a warm one (FIRST_TARGET), or the run fails (exit 1).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.support import database  # noqa: E402 - the benchmarks' throw-away database
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

TRAINEES = 8
TARGET = 10  # the DOCX pack within 10× floor A
FIRST_TARGET = 3  # the first PDF of a fresh process through the shared converter within 3× a warm one
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A fresh process converting files: the time of each conversion, whether it started a LibreOffice of its own,
# and the resident memory of that LibreOffice (its unoserver and soffice processes).
CLIENT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from bench.documents import group_rss
from trainingmgr.documents.conversion import pdf
times = []
for path in sys.argv[2:]:
    with open(path, "rb") as handle:
        data = handle.read()
    start = time.perf_counter()
    pdf.convert(data)
    times.append(time.perf_counter() - start)
own = pdf.status()["server_pid"]
print(json.dumps({"times": times, "own": own, "rss": group_rss(own) if own else 0}))
pdf.shutdown()
"""


def build():
    """The demo DUME session with 8 trainees, delivered. Returns (session, advisor)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from tests.fixtures.documents import deliver
    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.catalogue.models import Course
    from trainingmgr.demo.services import load_demo
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.sessions.models import TrainingSession
    from trainingmgr.trainees.services import save_trainee

    upgrade()
    load_demo()
    advisor = get_user_by_email("conseil@formaction.example")
    trainer = get_user_by_email("formateur@formaction.example")
    course = db.session.scalar(select(Course).where(Course.slug == "marches-publics-dume-et-chorus-pro"))
    session = db.session.scalar(select(TrainingSession).where(TrainingSession.course_id == course.id,
                                                              TrainingSession.status == "open"))
    taken = len([e for e in session_enrolments(session)])
    for i in range(TRAINEES - taken):
        trainee = save_trainee(None, {"civility": "Mme", "first_name": f"Stagiaire{i}", "last_name": "Banc",
                                      "email": f"banc.docs{i}@exemple.fr"})
        enrol(session, trainee, actor=advisor, notify=False)
    db.session.commit()
    deliver(session, advisor, trainer)
    assert len(session_enrolments(session)) == TRAINEES
    return session, advisor


def session_enrolments(session):
    from trainingmgr.documents.rendering.context import attendance_or_live

    return attendance_or_live(session)


def pack_inputs(session):
    """(template, context) of each document of the pack, built as services.generate builds them."""
    from trainingmgr.documents import services

    inputs = []
    for doc_type, enrolment, company in services.pack_subjects(session):
        subject = services._subject(doc_type, session, enrolment, company)
        number = f"{services._prefix(doc_type)}-{session.id:04d}-{subject.split(':')[-1]}-1"
        code = services._new_code() if doc_type in services.VERIFIABLE else None
        inputs.append((services.active_template(doc_type)[0],
                       services._context(doc_type, session, enrolment, company, number, code)))
    return inputs


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(rounds: int, database_url: str | None, with_pdf: bool, quiet: bool = False) -> dict:
    """Measure, print unless ``quiet``, and return the figures (seconds; ``pdf_warm`` None without PDF)."""
    from docx import Document

    from trainingmgr.documents import services
    from trainingmgr.documents.conversion import pdf
    from trainingmgr.documents.rendering import engine, fastrender

    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": os.path.join(tmp, "files"),
                          "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context():
            session, advisor = build()
            inputs = pack_inputs(session)
            count = len(inputs)
            fastrender.clear_cache()
            prepare, _ = timed(lambda: [services.render(t, c) for t, c in inputs])  # first render: preparation
            services.generate_session_pack(session, advisor, pdf=False, reuse=False)  # warm-up
            db.session.commit()
            renders, olds, packs, copies, roundtrips = [], [], [], [], []
            for _ in range(rounds):
                seconds, rendered = timed(lambda: [services.render(t, c).docx for t, c in inputs])
                renders.append(seconds)
                olds.append(timed(lambda: [engine._render_docxtpl(t, c) for t, c in inputs])[0])
                seconds, documents = timed(
                    lambda: services.generate_session_pack(session, advisor, pdf=False, reuse=False))
                db.session.commit()
                packs.append(seconds)
                assert len(documents) == count, (len(documents), count)
                target = tempfile.mkdtemp(dir=tmp)
                sources = []
                for i, data in enumerate(rendered):
                    path = os.path.join(tmp, f"src-{i}.docx")
                    with open(path, "wb") as handle:
                        handle.write(data)
                    sources.append(path)
                copies.append(timed(lambda: [shutil.copyfile(p, os.path.join(target, os.path.basename(p)))
                                             for p in sources])[0])
                roundtrips.append(timed(lambda: [Document(p).save(os.path.join(target, "rt-" + os.path.basename(p)))
                                                 for p in sources])[0])
            files = [services.read_file(d, "docx") for d in documents]
            render, old, pack, copy, roundtrip = (statistics.median(v) for v in (renders, olds, packs, copies,
                                                                                   roundtrips))
            figures = {"backend": db.engine.dialect.name, "documents": count, "render": render, "docxtpl": old,
                       "pack": pack, "copy": copy, "roundtrip": roundtrip, "prepare": prepare,
                       "pdf_cold": None, "pdf_warm": None}

            say = (lambda *args: None) if quiet else print

            def line(label, seconds, ratio=True):
                ratio_text = f"{seconds / copy:7.1f}×" if ratio else ""
                say(f"  {label:58} {seconds:8.4f} {seconds / count * 1000:7.2f}ms {ratio_text}")

            say(f"Session pack of {TRAINEES} trainees: {count} DOCX documents, median of {rounds} round(s); "
                f"ratios against floor A")
            say(f"  {'':58} {'seconds':>8} {'per doc':>9} {'floor A':>8}")
            line("render only (DOCX; contexts built once)", render)
            line("floor A: copy the DOCX files", copy, ratio=False)
            line("floor B: python-docx open + save", roundtrip)
            line("render only with docxtpl (the fallback; before)", old)
            line("render + archive (contexts from the database, files, rows)", pack)
            line("first render of each template (preparation, once)", prepare)
            verdict = "met" if render / copy <= TARGET else "NOT met"
            say(f"Headline: the DOCX pack renders in {render / copy:.1f}× the floor of copying its files "
                f"(target: within {TARGET}×: {verdict}); {old / render:.0f}× faster than docxtpl.")
            if not with_pdf:
                return figures
            if not pdf.available():
                say("PDF: LibreOffice unavailable on this machine (DOCX only).")
                return figures
            cold, _ = timed(lambda: pdf.convert(files[0]))
            warm = [timed(lambda data=data: pdf.convert(data))[0] for data in files]
            figures.update(pdf_cold=cold, pdf_warm=statistics.median(warm))
            say(f"PDF through the persistent converter: cold first conversion {cold:.2f} s; warm, {len(warm)} "
                f"documents: median {statistics.median(warm):.3f} s, max {max(warm):.3f} s per document "
                f"({statistics.median(warm) / (render / count):.0f}× the DOCX render of one document, "
                f"{statistics.median(warm) / (copy / count):.0f}× floor A)")
            pdf.shutdown()
            figures.update(first_pdf_after_start(files, tmp, say))
            return figures


def process_rss(pid: int) -> int:
    """Resident memory of a process, in bytes (0 when gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def group_rss(pgid: int) -> int:
    """Resident memory of a process group (a converter's unoserver, oosplash and soffice.bin), in bytes."""
    from trainingmgr.documents.conversion import pdf

    return sum(process_rss(pid) for pid in pdf._group_processes(pgid))


def fresh_client(paths: list[str], env: dict) -> dict:
    import json
    import subprocess

    result = subprocess.run([sys.executable, "-c", CLIENT, ROOT, *paths], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"the client process failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def first_pdf_after_start(files: list[bytes], tmp: str, say, count: int = 12) -> dict:
    """Item 5 of the docstring: the first PDF of a fresh process, with its own LibreOffice and through the shared
    converter, and the converter's start."""
    import signal
    import socket
    import subprocess

    from trainingmgr.documents.conversion import pdf_server

    paths = []
    for i, data in enumerate(files[:count]):
        paths.append(os.path.join(tmp, f"pdf-{i}.docx"))
        with open(paths[-1], "wb") as handle:
            handle.write(data)
    env = {k: v for k, v in os.environ.items() if k not in ("PDF_SERVER", "PDF_CONVERTER")}
    own = fresh_client(paths, env)  # before: each process starts its own LibreOffice at its first PDF
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    serve_env = {**env, "SECRET_KEY": "bench-" + "x" * 32, "DATABASE_URL": f"sqlite:///{tmp}/pdf-server.db",
                 "FILES_DIR": os.path.join(tmp, "pdf-server-files"), "APP_ENV": "development"}
    started = time.perf_counter()
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "app", "pdf", "serve",
                               "--address", address], cwd=ROOT, env=serve_env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        info = pdf_server.wait_ready(address, 120, pid=server.pid)
        ready = time.perf_counter() - started
        if info is None:
            raise RuntimeError("the shared converter did not become ready")
        shared = fresh_client(paths, {**env, "PDF_SERVER": address})
        supervisor_rss = process_rss(server.pid)
        converter_rss = supervisor_rss + group_rss(pdf_server.remote_info(address)["server_pid"])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    if shared["own"] is not None:
        raise RuntimeError("the client started its own LibreOffice instead of using the shared converter")
    own_first, own_warm = own["times"][0], statistics.median(own["times"][1:])
    first, warm = shared["times"][0], statistics.median(shared["times"][1:])
    ok = first <= FIRST_TARGET * warm
    mb = 1024 * 1024
    say(f"First PDF of a fresh process ({len(paths)} documents of the pack, then {len(paths) - 1} warm ones):")
    say(f"  {'':58} {'first':>8} {'warm':>8} {'first/warm':>10}")
    say(f"  {'own LibreOffice, started at the first PDF (before)':58} {own_first:8.3f} {own_warm:8.3f} "
        f"{own_first / own_warm:9.1f}×")
    say(f"  {'shared converter (flask pdf serve), started beforehand':58} {first:8.3f} {warm:8.3f} "
        f"{first / warm:9.1f}×")
    say(f"  shared converter ready {ready:.2f} s after its start (command, LibreOffice, one warm-up document); "
        f"warm through it {warm / own_warm:.2f}× a warm conversion in the process itself")
    say(f"  resident memory: the shared converter {converter_rss / mb:.0f} MB once (its process "
        f"{supervisor_rss / mb:.0f} MB included), against "
        f"{own['rss'] / mb:.0f} MB of LibreOffice in each process that converts with its own")
    say(f"Headline: the first PDF after start is {first / warm:.1f}× a warm one through the shared converter "
        f"(target: within {FIRST_TARGET}×: {'met' if ok else 'NOT met'}); with its own LibreOffice it was "
        f"{own_first / own_warm:.0f}× ({own_first:.2f} s).")
    return {"pdf_first_own": own_first, "pdf_warm_own": own_warm, "pdf_first_shared": first,
            "pdf_warm_shared": warm, "pdf_shared_ready": ready, "pdf_shared_rss": converter_rss,
            "pdf_own_rss": own["rss"], "pdf_first_ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    figures = run(args.rounds, args.database_url, not args.no_pdf)
    if figures.get("pdf_first_ok") is False:
        sys.exit(f"The first PDF after start is not within {FIRST_TARGET}× a warm one.")


if __name__ == "__main__":
    main()
