"""Rendering the documents of an 8-trainee session ("dossier de session"), against floors measured in the
same run.

Usage: .venv/bin/python bench/documents.py [--rounds 5] [--database-url URL] [--no-pdf]

It builds a throw-away database (like bench/signing.py), loads the demo, fills the demo DUME session to its
8 seats, delivers it (every trainee signs every half-day with a drawn signature, the trainer countersigns,
the session completes), then:
  1. renders the whole session pack in DOCX (programme, conventions, convocations, contracts, attendance sheet,
     attestations and certificates: about 30 documents), archived as the application does it (context JSON,
     SHA-256, stored files), median over the rounds;
  2. floor A: copies the same DOCX files unchanged (read the bytes, write them elsewhere);
     floor B: opens and saves the same DOCX files unchanged with python-docx (unzip, parse, serialise, zip);
  3. converts every document of the pack to PDF through the persistent converter (documents/pdf.py), the
     first conversion (cold: LibreOffice starts) apart.
Printed: the times, and the ratios pack / floor A, pack / floor B (target: within 10×), and the PDF seconds
per document once warm (target: well under 1 s).
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

from bench.signing import database  # noqa: E402 - the throw-away database of the signing bench
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

TRAINEES = 8


def build():
    """The demo DUME session with 8 trainees, delivered. Returns (session, advisor)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from tests.documents.conftest import deliver
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
    from trainingmgr.documents.context import attendance_or_live

    return attendance_or_live(session)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(rounds: int, database_url: str | None, with_pdf: bool) -> None:
    from docx import Document

    from trainingmgr.documents import pdf, services

    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": os.path.join(tmp, "files"),
                          "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context():
            session, advisor = build()
            services.generate_session_pack(session, advisor, pdf=False)  # warm-up: imports, caches
            db.session.commit()
            packs, copies, roundtrips = [], [], []
            for _ in range(rounds):
                seconds, documents = timed(lambda: services.generate_session_pack(session, advisor, pdf=False))
                db.session.commit()
                packs.append(seconds)
                files = [services.read_file(d, "docx") for d in documents]
                target = tempfile.mkdtemp(dir=tmp)
                sources = []
                for i, data in enumerate(files):
                    path = os.path.join(tmp, f"src-{i}.docx")
                    with open(path, "wb") as handle:
                        handle.write(data)
                    sources.append(path)
                copies.append(timed(lambda: [shutil.copyfile(p, os.path.join(target, os.path.basename(p)))
                                             for p in sources])[0])
                roundtrips.append(timed(lambda: [Document(p).save(os.path.join(target, "rt-" + os.path.basename(p)))
                                                 for p in sources])[0])
            count = len(documents)
            pack, copy, roundtrip = (statistics.median(v) for v in (packs, copies, roundtrips))
            print(f"Session pack of {TRAINEES} trainees: {count} DOCX documents, median of {rounds} round(s)")
            print(f"  {'':38} {'seconds':>9} {'per doc':>9} {'ratio':>8}")
            print(f"  {'render + archive (DOCX)':38} {pack:9.3f} {pack / count * 1000:7.1f}ms {'':>8}")
            print(f"  {'floor A: copy the DOCX files':38} {copy:9.4f} {copy / count * 1000:7.2f}ms "
                  f"{pack / copy:7.0f}×")
            print(f"  {'floor B: python-docx open + save':38} {roundtrip:9.3f} {roundtrip / count * 1000:7.1f}ms "
                  f"{pack / roundtrip:7.1f}×")
            if not with_pdf:
                return
            if not pdf.available():
                print("PDF: LibreOffice unavailable on this machine (DOCX only).")
                return
            cold, _ = timed(lambda: pdf.convert(files[0]))
            warm = [timed(lambda data=data: pdf.convert(data))[0] for data in files]
            print(f"PDF through the persistent converter: cold first conversion {cold:.2f} s; warm, {len(warm)} "
                  f"documents: median {statistics.median(warm):.3f} s, max {max(warm):.3f} s per document "
                  f"({statistics.median(warm) / (pack / count):.1f}× the DOCX render of one document)")
            pdf.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    run(args.rounds, args.database_url, not args.no_pdf)


if __name__ == "__main__":
    main()
