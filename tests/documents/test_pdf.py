"""PDF copies through the persistent LibreOffice (trainingmgr/documents/conversion/pdf.py). No database: plain functions.

The tests that convert need Debian's LibreOffice and python3-uno (`make office` installs them); without them
they fail, unless SKIP_OFFICE_TESTS=1, with which they skip. Timings are printed (pytest -s to see them)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from flask import Flask

from trainingmgr.documents.conversion import pdf
from tests.fixtures.pdf import assert_pdf_of, make_docx, wait_group_gone


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("PDF_CONVERTER", "none")
    assert pdf.available() is False
    assert "désactivée" in pdf.unavailable_reason()
    with pytest.raises(pdf.PdfUnavailable, match="désactivée.*DOCX"):
        pdf.convert(make_docx())
    assert pdf.status()["server_pid"] is None


def test_the_application_config_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("PDF_CONVERTER", "auto")
    app = Flask(__name__)
    app.config["PDF_CONVERTER"] = "none"
    with app.app_context():
        assert pdf.available() is False
        with pytest.raises(pdf.PdfUnavailable, match="PDF_CONVERTER=none"):
            pdf.convert(make_docx())
    monkeypatch.setenv("PDF_CONVERTER", "none")
    with Flask(__name__).app_context():  # no PDF_CONVERTER in this config: the environment's
        assert pdf.available() is False


def test_missing_libreoffice_leaves_docx_only(monkeypatch):
    monkeypatch.delenv("PDF_CONVERTER", raising=False)
    monkeypatch.setattr(pdf, "_find_soffice", lambda: None)
    assert pdf.available() is False
    assert "LibreOffice n'est pas installé" in pdf.unavailable_reason()
    with pytest.raises(pdf.PdfUnavailable, match="LibreOffice n'est pas installé.*DOCX"):
        pdf.convert(make_docx())
    assert pdf.status()["server_pid"] is None


def test_converts_and_reuses_the_warm_server(office):
    docx = make_docx()
    assert pdf.available()
    started = time.monotonic()
    first = pdf.convert(docx)
    cold = time.monotonic() - started
    assert_pdf_of(first)
    status = pdf.status()
    assert status["backend"] == "unoserver", status
    assert status["server_pid"] and status["office_pid"], status
    office.append(status["server_pid"])

    warm = []
    for n in range(3):
        started = time.monotonic()
        again = pdf.convert(make_docx(f"Document numéro {n}"))
        warm.append(time.monotonic() - started)
        assert_pdf_of(again, f"Document numéro {n}")
    print(f"\nPDF: cold (start + conversion) {cold:.2f} s; warm {', '.join(f'{t:.3f}' for t in warm)} s")
    later = pdf.status()
    assert (later["server_pid"], later["office_pid"]) == (status["server_pid"], status["office_pid"])
    assert max(warm) < 10, warm
    assert max(warm) < cold, (cold, warm)


def test_a_bad_document_fails_in_french_and_the_server_stays(office):
    pdf.convert(make_docx())
    pid = pdf.status()["server_pid"]
    office.append(pid)
    with pytest.raises(pdf.PdfUnavailable, match="La conversion en PDF a échoué"):
        pdf.convert(b"PK\x03\x04 not really a Word document")
    assert pdf.status()["server_pid"] == pid
    assert_pdf_of(pdf.convert(make_docx()))


def test_restarts_once_when_libreoffice_died(office):
    pdf.convert(make_docx())
    before = pdf.status()
    office.append(before["server_pid"])
    os.kill(before["office_pid"], signal.SIGKILL)
    assert_pdf_of(pdf.convert(make_docx()))
    after = pdf.status()
    office.append(after["server_pid"])
    assert after["backend"] == "unoserver"
    assert after["server_pid"] != before["server_pid"]
    assert wait_group_gone(before["server_pid"]) == {}


def test_shutdown_stops_every_process_and_cleans_up(office):
    pdf.convert(make_docx())  # warm: the server of the test above
    server = pdf._server
    pgid, folder, pipes = server.process.pid, server.folder, list(server.pipes)
    assert folder.is_dir() and pdf._group_processes(pgid)
    pdf.shutdown()
    assert pdf.status()["server_pid"] is None
    assert wait_group_gone(pgid) == {}
    assert not folder.exists()
    assert not [p for p in pipes if os.path.exists(p)]


def test_per_document_fallback_converts_too(office):
    started = time.monotonic()
    assert_pdf_of(pdf._convert_per_document(make_docx(), 60))
    print(f"\nPDF: fallback, one soffice for the document: {time.monotonic() - started:.2f} s")
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("trainingmgr-pdf-once-*"))
