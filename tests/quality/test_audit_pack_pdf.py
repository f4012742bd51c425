"""The audit pack's index as a PDF when LibreOffice is there (documents/conversion/pdf.py), as every PDF of the
application; without it, index.docx (tests/quality/test_audit_pack.py)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

from tests.fixtures.pdf import assert_pdf_of
from trainingmgr.quality import audit_pack


def test_the_index_is_a_pdf_when_the_converter_is_there(app, delivered, office, monkeypatch):
    monkeypatch.setitem(app.config, "PDF_CONVERTER", "auto")
    d = delivered
    since = min(d.chorus.first_date, d.dume.first_date) - dt.timedelta(days=1)
    pack = audit_pack.build_pack(audit_pack.plan_pack(since, since + dt.timedelta(days=90)))
    archive = zipfile.ZipFile(io.BytesIO(pack.data))
    assert "index.pdf" in archive.namelist() and "index.docx" not in archive.namelist()
    assert pack.note == ""
    assert_pdf_of(archive.read("index.pdf"), "Dossier d'audit Qualiopi")
