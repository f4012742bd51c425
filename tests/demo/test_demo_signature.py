"""The demo's electronic signature: with a PDF converter (faked, as tests/signing does) and the signing certificate,
the upcoming DUME session's company convention is sent today and signed by both parties, the PDF's two signatures
verify, and loading again adds nothing; without the certificate, the demo says so and signs nothing. Without a
converter (the tests' PDF_CONVERTER=none): tests/demo/test_demo_load.py."""
from __future__ import annotations

from sqlalchemy import func, select

from trainingmgr.core.timeutil import paris_date, paris_today, utcnow
from trainingmgr.demo.services import load_demo
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.signing import pades
from trainingmgr.signing.models import SignatureRequest, SignatureRevision
from trainingmgr.signing.services import latest_pdf


SIGNED_LINE = "signée électroniquement par Marc Vidal (signature dessinée) puis Sophie Durand (nom saisi)"


def signature_lines(done: list[str]) -> list[str]:
    return [line for line in done if "ignature électronique" in line or "signée électroniquement" in line]


def counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (SignatureRequest, SignatureRevision, GeneratedDocument))


def test_the_upcoming_dume_convention_is_signed_by_both_parties(app, fake_pdf):  # noqa: F811
    started = utcnow()
    done = load_demo()
    (line,) = signature_lines(done)
    assert SIGNED_LINE in line and line.startswith("Convention CONV-") and "3 révisions PDF" in line
    (request,) = db.session.scalars(select(SignatureRequest)).all()
    document = request.document
    assert (request.status, document.doc_type, document.company.name) == (
        "completed", "convention", "Bureau d'études Occitanie Structures")
    assert document.session.status == "open" and document.session.course.slug == "marches-publics-dume-et-chorus-pro"
    company, organisation = request.signatories
    assert [(s.role, s.name, s.status, s.method) for s in request.signatories] == [
        ("company", "Marc Vidal", "signed", "drawn"), ("organisation", "Sophie Durand", "signed", "typed")]
    # Sent today, signed today in that order, ten days to sign, before the session starts.
    assert started <= request.created_at <= company.signed_at <= organisation.signed_at <= request.closed_at <= utcnow()
    assert paris_date(request.created_at) == paris_today() < request.deadline < document.session.first_date
    assert [r.number for r in request.revisions] == [0, 1, 2]
    report = pades.verify(latest_pdf(request),
                          trust_roots=pades.trust_certificates(directory=app.config["SIGNING_DIR"]))
    assert report.ok, report.problems
    assert [(s.field_name, s.signer) for s in report.signatures] == [
        ("signature-1", "Marc Vidal"), ("signature-2", "Sophie Durand")]
    before = counts()
    assert load_demo() == []
    assert counts() == before


def test_without_a_certificate_the_demo_makes_a_trial_one_in_the_organisations_name(app, fake_pdf, monkeypatch,  # noqa: F811
                                                                                      tmp_path):
    directory = tmp_path / "no-certificate"
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(directory))
    lines = load_demo()
    made = [line for line in lines if line.startswith("Certificat de signature d'essai créé")]
    assert made and "Formaction Sud-Ouest" in made[0]
    assert pades.identity(pades.load_signer(directory=str(directory))).subject.startswith("CN=Formaction Sud-Ouest")
    assert counts()[0] == 1


def test_with_an_unusable_certificate_the_demo_says_so_and_signs_nothing(app, fake_pdf, monkeypatch,  # noqa: F811
                                                                         tmp_path):
    directory = tmp_path / "broken"
    directory.mkdir()
    (directory / pades.CERT_FILE).write_bytes(b"not a certificate")
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(directory))
    (line,) = signature_lines(load_demo())
    assert line.startswith("Signature électronique de démonstration non chargée : ")
    assert line.endswith("(flask --app app signing init).")
    assert counts()[0] == 0
    assert not db.session.scalars(select(GeneratedDocument).where(
        GeneratedDocument.doc_type == "convention",
        GeneratedDocument.company.has(siret="52151247500018"),
        GeneratedDocument.session.has(status="open"))).all()
    assert load_demo() == []  # said once


def test_make_run_makes_the_signing_certificate_once(app, monkeypatch, tmp_path):
    """`make run` runs `flask signing init --if-missing` after `flask demo load`, every time."""
    directory = tmp_path / "signing"
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(directory))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["signing", "init", "--if-missing"])
    assert first.exit_code == 0 and first.output.startswith(f"Certificat de signature créé dans {directory}")
    certificate = (directory / pades.CERT_FILE).read_bytes()
    again = runner.invoke(args=["signing", "init", "--if-missing"])
    assert again.exit_code == 0
    assert again.output == f"Le certificat de signature existe déjà dans {directory} : il est conservé.\n"
    assert (directory / pades.CERT_FILE).read_bytes() == certificate
    assert runner.invoke(args=["signing", "init"]).exit_code == 1  # without the option: refused, as before
