"""`flask signing init` and `flask signing verify FILE`: the trial certificate made once, then a PDF signed by the
organisation verifies offline (not in the archive: said, exit code 0 all the same), one byte flipped fails, a
database out of reach leaves the signatures checked, and a missing certificate or file is one French line.
The archived revisions: tests/signing/test_verify_upload.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from trainingmgr.signing import pades

from tests.signing.support import document, evidence

UNREACHABLE = "postgresql://trainingmgr:secret@127.0.0.1:1/trainingmgr"  # nothing listens on port 1


@pytest.fixture
def signing_dir(app, monkeypatch, tmp_path):
    directory = tmp_path / "signing"
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(directory))
    return directory


def _signed(directory: Path) -> bytes:
    pdf = pades.prepare(document("Convention de formation"), title="Convention", reference="CONV-0001-1-1",
                        slots=[pades.Slot("signature-1", "Pour l'entreprise")])
    signer = pades.load_signer(directory=str(directory))
    return pades.sign(pdf, "signature-1", evidence(pdf, "Camille Bernard"), signer)


def test_init_then_verify_a_signed_pdf_and_a_flipped_byte(app, signing_dir, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["signing", "init", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert f"Certificat de signature créé dans {signing_dir}" in result.output
    again = runner.invoke(args=["signing", "init"])
    assert again.exit_code == 1 and again.output.startswith("Erreur : Un certificat de signature existe déjà")
    signed = _signed(signing_dir)
    good = tmp_path / "convention.pdf"
    good.write_bytes(signed)
    result = runner.invoke(args=["signing", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "signature 1 (signature-1) par Camille Bernard" in result.output and "couvre tout le fichier : valide" \
        in result.output
    assert "Ce fichier ne correspond à aucun document de nos archives." in result.output
    position = signed.index(b"Convention de formation")
    bad = tmp_path / "modifiee.pdf"
    bad.write_bytes(signed[:position] + b"X" + signed[position + 1:])
    result = runner.invoke(args=["signing", "verify", str(bad)])
    assert result.exit_code == 1 and "Vérification échouée." in result.output


def test_verify_without_a_certificate_or_a_file_is_one_french_line(app, signing_dir, tmp_path):
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["signing", "verify", str(tmp_path / "absent.pdf")])
    assert missing.exit_code == 1 and missing.output.startswith("Erreur : Fichier ")
    unsigned = tmp_path / "simple.pdf"
    unsigned.write_bytes(document("Rien de signé"))
    result = runner.invoke(args=["signing", "verify", str(unsigned)])
    assert result.exit_code == 1 and result.output.startswith("Erreur : Aucun certificat de signature")
    assert len(result.output.strip().splitlines()) == 1 and isinstance(result.exception, SystemExit)


def test_an_unreadable_tsa_certificate_file_is_one_french_line(app, signing_dir, tmp_path, monkeypatch):
    assert app.test_cli_runner().invoke(args=["signing", "init"]).exit_code == 0
    signed = tmp_path / "convention.pdf"
    signed.write_bytes(_signed(signing_dir))
    monkeypatch.setitem(app.config, "TSA_CA_FILE", str(tmp_path / "absent.pem"))
    result = app.test_cli_runner().invoke(args=["signing", "verify", str(signed)])
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : Le fichier des autorités d'horodatage ")
    assert len(result.output.strip().splitlines()) == 1 and isinstance(result.exception, SystemExit)


def test_without_the_database_the_signatures_are_still_checked(app, make_app, signing_dir, tmp_path):
    assert app.test_cli_runner().invoke(args=["signing", "init"]).exit_code == 0
    signed = tmp_path / "convention.pdf"
    signed.write_bytes(_signed(signing_dir))
    offline = make_app(SQLALCHEMY_DATABASE_URI=UNREACHABLE, SIGNING_DIR=str(signing_dir))
    with offline.app_context():
        result = offline.test_cli_runner().invoke(args=["signing", "verify", str(signed)])
    assert result.exit_code == 0, result.output
    assert "Archives non consultées : Base de données injoignable : " in result.output
    assert result.output.strip().endswith("Toutes les signatures sont intactes et faites par le certificat de "
                                          "l'organisme.")
