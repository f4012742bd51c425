"""One electronic signature of a convention: what the PAdES signature costs (pades.sign, then with an RFC 3161
timestamp), and the whole signature as the server makes it (signing.services.sign with its commit), as ratios
against rendering the same document to PDF, measured in the same run.

Usage: .venv/bin/python bench/esign.py [--rounds 10] [--database-url URL] [--no-office]

It builds a throw-away database (like bench/seals.py: SQLite in a temporary folder, or with --database-url a
database created on that PostgreSQL server, then dropped), the trial signing certificate in a temporary SIGNING_DIR
(pades.init_certificate: RSA 3072, as `flask signing init` makes it) and a local RFC 3161 authority
(tests/tsa_server.py, LocalTSA, on 127.0.0.1; TSA_URL and TSA_CA_FILE point at it). It loads the demo (without
the Chorus Pro cycle), which generates the convention of the upcoming DUME session with its PDF and has both
parties sign it (trainingmgr/demo/signatures.py). Then, on that convention, round after round (the first one warms
up and is not counted), the variants interleaved:

  baseline       its DOCX converted to PDF by the warm LibreOffice (documents.conversion.pdf.convert): issuing the document.
                 Without LibreOffice (said in the output; or --no-office), the convention's PDF is a stand-in made
                 by pypdf (tests/signing/support.py, as the tests do) and the baseline is pades.render_pages of the
                 PDF signed below (its pages as PNG, what the signing page shows);
  PAdES          pades.sign of the company's field on the PDF as sent (revision 0, with its evidence page), a drawn
                 signature: PAdES-B-B;
  PAdES + TSA    the same, with a signature timestamp from the local authority: PAdES-B-T;
  service        signing.services.sign on a request sent for the round (send_for_signature and the one-time code
                 are not timed): lock, code and source checks, PAdES-B-T, the revision stored, commit; the company
                 first, then the organisation's signatory (the last one: the request completes and the signed PDF is
                 e-mailed to both).
The bench fails unless every signed PDF verifies (pades.verify, the certificate and the authority trusted), each
signature timestamped where it should be. Printed: medians in ms, and each one's ratio to the baseline.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import select  # noqa: E402

from bench.support import database  # noqa: E402 - the benchmarks' throw-away database
from trainingmgr import create_app  # noqa: E402
from trainingmgr.extensions import db  # noqa: E402

# pyHanko imports cryptography's DSA, deprecated: said once per process, nothing to act on (pyproject.toml ignores it
# in the tests too).
warnings.filterwarnings("ignore", message="DSA is deprecated")

VARIANTS = ("baseline", "pades", "pades_tsa", "service_first", "service_last")
LABELS = {  # what each figure is, short enough for bench/all.py's summary table
    "pades": "PAdES seal (pades.sign, B-B)",
    "pades_tsa": "PAdES + local TSA timestamp (B-T)",
    "service_first": "services.sign, 1st signer, commit",
    "service_last": "services.sign, last: completes",
}


@contextlib.contextmanager
def converter(office: bool):
    """Yields whether LibreOffice makes the PDFs; without it (or ``office`` False), a pypdf stand-in does, as
    tests/fixtures/signing.py ``fake_pdf`` does."""
    from tests.signing.support import document
    from trainingmgr.documents.conversion import pdf

    if office and pdf.available():
        try:
            yield True
        finally:
            pdf.shutdown()
        return
    available, convert = pdf.available, pdf.convert
    pdf.available = lambda: True
    pdf.convert = lambda docx, **options: document("Convention de formation (PDF de substitution)",
                                                   "Conditions générales, page 2")
    try:
        yield False
    finally:
        pdf.available, pdf.convert = available, convert


def prepare():
    """Migrate and load the demo: its convention signed by both parties. Returns (the convention, its request)."""
    from flask_migrate import upgrade

    from trainingmgr.demo.services import load_demo
    from trainingmgr.signing.models import SignatureRequest

    upgrade()
    done = load_demo(invoices=False, chorus_cycle=False)
    request = db.session.scalar(select(SignatureRequest).limit(1))
    if request is None or request.status != "completed":
        raise SystemExit("FAILED: the demo did not sign its convention: "
                         + " / ".join(line for line in done if "ignature" in line or "signée" in line))
    return request.document, request


class Checker:
    """Every signed PDF must verify, with as many timestamps as asked."""

    def __init__(self, signing_dir: Path, tsa):
        from trainingmgr.signing import pades

        self.trust = pades.trust_certificates(directory=str(signing_dir))
        self.tsa_roots = [tsa.ca_pem]

    def __call__(self, what: str, signed: bytes, signatures: int, timestamped: bool) -> None:
        from trainingmgr.signing import pades

        report = pades.verify(signed, trust_roots=self.trust, tsa_roots=self.tsa_roots)
        stamps = [s.timestamp is not None for s in report.signatures]
        if not report.ok or len(stamps) != signatures or stamps != [timestamped] * signatures:
            raise SystemExit(f"FAILED: {what}: {report.problems}, {len(stamps)} signatures, timestamps {stamps}")


def service_round(convention, advisor, check: Checker) -> list[float]:
    """Send the convention for signature again; the seconds of each signatory's services.sign with its commit."""
    from tests.signing.support import drawing
    from trainingmgr.core.timeutil import paris_today
    from trainingmgr.signing import access
    from trainingmgr.signing import services as signing

    keys = [candidate.key for candidate in signing.proposed_signatories(convention) if candidate.default]
    request = signing.send_for_signature(convention, keys, paris_today() + dt.timedelta(days=10), advisor)
    db.session.commit()
    drawn = "data:image/png;base64," + base64.b64encode(drawing()).decode()
    seconds = []
    for signatory in list(request.signatories):
        code = access.issue_code(signatory)
        db.session.commit()
        given = signing.SignatureInput(code=code, drawing=drawn if signatory.role == "company" else "",
                                       typed_name="" if signatory.role == "company" else signatory.name,
                                       consent=True, ip="192.0.2.1", user_agent="bench/esign.py")
        started = time.perf_counter()
        signing.sign(signatory, given)
        db.session.commit()
        seconds.append(time.perf_counter() - started)
    if request.status != "completed":
        raise SystemExit(f"FAILED: the request {request.id} is {request.status} after every signature")
    check(f"request {request.id}", signing.latest_pdf(request), len(request.signatories), True)
    return seconds


def run(rounds: int, database_url: str | None, office: bool = True, quiet: bool = False) -> dict:
    """Measure, print unless ``quiet``, and return the figures (seconds, medians)."""
    from tests.signing.support import evidence
    from tests.tsa_server import LocalTSA
    from trainingmgr.core import sealkeys
    from trainingmgr.documents.conversion import pdf
    from trainingmgr.documents import services as documents
    from trainingmgr.signing import pades
    from trainingmgr.signing.services import revision_pdf

    say = (lambda *args: None) if quiet else print
    with database(database_url) as (url, tmp), LocalTSA() as tsa:
        signing_dir, key_dir = Path(tmp) / "signing", Path(tmp) / "seal_keys"
        pades.init_certificate(signing_dir, "Formaction Sud-Ouest (banc)")
        sealkeys.create_key(key_dir)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FILES_DIR": os.path.join(tmp, "files"),
                          "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "SEAL_KEY_DIR": str(key_dir), "SIGNING_DIR": str(signing_dir), "TSA_URL": tsa.url,
                          "TSA_CA_FILE": tsa.ca_file})
        try:
            with app.app_context(), converter(office) as with_office:
                started = time.perf_counter()
                convention, request = prepare()
                build_seconds = time.perf_counter() - started
                backend = db.engine.dialect.name
                check = Checker(signing_dir, tsa)
                check("the demo's convention", revision_pdf(request, len(request.revisions) - 1), 2, True)
                docx, prepared = documents.read_file(convention, "docx"), revision_pdf(request, 0)
                signer = pades.load_signer(directory=str(signing_dir))
                company = evidence(prepared, "Marc Vidal", drawn=True)
                baseline = ((lambda: pdf.convert(docx)) if with_office
                            else (lambda: pades.render_pages(prepared)))
                calls = {"baseline": baseline,
                         "pades": lambda: pades.sign(prepared, "signature-1", company, signer),
                         "pades_tsa": lambda: pades.sign(prepared, "signature-1", company, signer, tsa_url=tsa.url)}
                times = {name: [] for name in VARIANTS}
                for repeat in range(rounds + 1):  # the first round warms up (LibreOffice, imports): not counted
                    for name, call in calls.items():
                        started = time.perf_counter()
                        made = call()
                        elapsed = time.perf_counter() - started
                        if name != "baseline":
                            check(name, made, 1, name == "pades_tsa")
                        if repeat:
                            times[name].append(elapsed)
                    first, last = service_round(convention, request.created_by, check)
                    if repeat:
                        times["service_first"].append(first)
                        times["service_last"].append(last)
                pages, number = len(pades.render_pages(prepared)), convention.number
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()

    figures = {"backend": backend, "rounds": rounds, "office": with_office, "pages": pages, "bytes": len(prepared),
               "build_seconds": build_seconds, **{name: statistics.median(times[name]) for name in VARIANTS}}
    figures["baseline_label"] = ("LibreOffice: DOCX to PDF, warm" if with_office
                                 else "pades.render_pages of the PDF (no LibreOffice)")
    base = figures["baseline"]
    say(f"\n{backend}: one signature of convention {number} ({pages} pages with the evidence page, "
        f"{len(prepared) / 1024:.0f} KiB), median of {rounds} round(s)")
    if not with_office:
        say("  LibreOffice " + ("left out (--no-office)" if not office else "is not installed (make office)")
            + ": the convention's PDF is a pypdf stand-in, and the baseline renders its pages to PNG instead")
    say(f"  {'':60}{'ms':>9}{'ratio':>9}")
    say(f"  {'baseline: ' + figures['baseline_label']:60}{base * 1000:9.1f}{'1.0x':>9}")
    for name, label in LABELS.items():
        say(f"  {label:60}{figures[name] * 1000:9.1f}{figures[name] / base:8.2f}x")
    say(f"(RSA 3072 self-signed certificate; the timestamp authority answers on 127.0.0.1, a real one adds its network "
        f"round trip; every signed PDF verified; {build_seconds:.0f} s to load the demo)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds (one more warms up)")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created on it, then dropped)")
    parser.add_argument("--no-office", action="store_true",
                        help="leave LibreOffice out: a pypdf stand-in PDF, and pages rendered as the baseline")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    run(args.rounds, args.database_url, office=not args.no_office)


if __name__ == "__main__":
    main()
