"""The fast renderer (trainingmgr/documents/rendering/fastrender.py) against docxtpl's rendering (the fallback).

No database: plain functions. Each default template and odd templates are rendered both ways (docxtpl forced by
making fastrender refuse everything) and must give the same text, the same pictures and the same missing names;
every fast-rendered file must be a sound package (zip, well-formed XML, relationships and content types that
python-docx follows), and LibreOffice must open a few of them.
"""
from __future__ import annotations

import concurrent.futures
import copy
import io
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree

from tests.documents.support import docx_images, docx_text, make_template
from tests.fixtures.pdf import pdf_text
from trainingmgr.documents import services
from trainingmgr.documents.catalogue import DOC_TYPES
from trainingmgr.documents.rendering import fastrender
from trainingmgr.documents.rendering.context import Picture
from trainingmgr.documents.rendering.sample import sample_context
from trainingmgr.documents.rendering.sandbox import Rendered, TemplateProblem

DOCUMENTS = Path(__file__).resolve().parents[2] / "documents"
CODES = list(DOC_TYPES)
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def template(code: str) -> bytes:
    return (DOCUMENTS / DOC_TYPES[code].filename).read_bytes()


def with_docxtpl(monkeypatch, data: bytes, context: dict) -> Rendered:
    """services.render with fastrender refusing the template: docxtpl's rendering."""
    with monkeypatch.context() as patch:
        patch.setattr(fastrender, "render", lambda *_: (_ for _ in ()).throw(fastrender.Unsupported("test")))
        return services.render(data, context)


def is_fast(data: bytes) -> bool:
    try:
        fastrender.prepared(data)
    except fastrender.Unsupported:
        return False
    return True


def assert_sound(docx: bytes) -> None:
    """A zip whose XML parts are well-formed, whose relationships reach existing parts, with unique picture
    ids in the body, that python-docx opens (it needs a content type for every part)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert len(names) == len(set(names))
        for name in names:
            if name.endswith((".xml", ".rels")):
                etree.fromstring(archive.read(name))
        for name in names:
            if name.endswith(".rels"):
                folder = name.split("_rels/")[0]
                for rel in etree.fromstring(archive.read(name)).iter(f"{RELS}Relationship"):
                    if rel.get("TargetMode") != "External":
                        target = re.sub(r"[^/]+/\.\./", "", folder + rel.get("Target")).lstrip("/")
                        assert target in names, (name, rel.get("Target"))
        body = archive.read("word/document.xml").decode()
        ids = re.findall(r'<wp:docPr id="(\d+)"', body)
        assert len(ids) == len(set(ids))
    Document(io.BytesIO(docx))


def assert_same(monkeypatch, data: bytes, context: dict) -> Rendered:
    fast = services.render(data, context)
    slow = with_docxtpl(monkeypatch, data, context)
    assert docx_text(fast.docx) == docx_text(slow.docx)
    assert docx_images(fast.docx) == docx_images(slow.docx)
    assert fast.missing == slow.missing
    assert_sound(fast.docx)
    return fast


def paragraphs(*specs) -> bytes:
    """A template of paragraphs, each a list of runs (so that tags can be split across runs, as Word does)."""
    document = Document()
    for runs in specs:
        paragraph = document.add_paragraph()
        for text in [runs] if isinstance(runs, str) else runs:
            paragraph.add_run(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def table_template(rows: list[list[str]], before: str = "", after: str = "") -> bytes:
    document = Document()
    if before:
        document.add_paragraph(before)
    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    for row, texts in zip(table.rows, rows):
        for cell, text in zip(row.cells, texts):
            cell.text = text
    if after:
        document.add_paragraph(after)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the default templates


@pytest.mark.parametrize("code", CODES)
def test_each_default_template_renders_fast_and_as_docxtpl_does(monkeypatch, code):
    data = template(code)
    assert is_fast(data)
    context = sample_context(code)  # Picture values: logo, signatures, QR code
    fast = assert_same(monkeypatch, data, context)
    assert fast.missing == []
    assert "{{" not in docx_text(fast.docx) and "{%" not in docx_text(fast.docx)


def test_pictures_are_in_their_parts_with_their_relationships(monkeypatch):
    context = sample_context("attendance_sheet")
    fast = assert_same(monkeypatch, template("attendance_sheet"), context)
    with zipfile.ZipFile(io.BytesIO(fast.docx)) as archive:
        names = archive.namelist()
        media = [n for n in names if n.startswith("word/media/")]
        assert media and all(n.endswith(".png") for n in media)
        assert len(media) == len({archive.read(n) for n in media})  # one part per distinct image
        assert '<Default Extension="png" ContentType="image/png"/>' in archive.read("[Content_Types].xml").decode()
        body = archive.read("word/document.xml").decode()
        rels = archive.read("word/_rels/document.xml.rels").decode()
        for rid in set(re.findall(r'r:embed="(rId\d+)"', body)):
            assert f'Id="{rid}"' in rels
        assert re.findall(r'<wp:docPr id="(\d+)"', body)[:2] == ["1001", "1002"]  # fix_docpr_ids
        # The logo is in the header: related from the header, whose relationships did not exist.
        header = archive.read("word/header1.xml").decode()
        assert "<pic:pic" in header
        header_rid = re.search(r'r:embed="(rId\d+)"', header).group(1)
        assert f'Id="{header_rid}"' in archive.read("word/_rels/header1.xml.rels").decode()
    extent = re.search(r'<wp:extent cx="(\d+)" cy="(\d+)"/>', header)
    assert int(extent.group(1)) == 35 * 36000  # the logo's 35 mm, in EMU; the height keeps the aspect ratio
    slow = with_docxtpl(monkeypatch, template("attendance_sheet"), context)
    with zipfile.ZipFile(io.BytesIO(slow.docx)) as archive:
        assert re.search(r'<wp:extent cx="(\d+)" cy="(\d+)"/>', archive.read("word/header1.xml").decode()).groups() \
            == extent.groups()


def test_values_with_tabs_breaks_and_forbidden_characters(monkeypatch):
    context = sample_context("convocation")
    context["org"]["name"] = "Tab\there\nnew line\fpage\aparagraph"
    context["course"]["title"] = "Ligne 1\nLigne 2 & <b>"
    fast = assert_same(monkeypatch, template("convocation"), context)
    with zipfile.ZipFile(io.BytesIO(fast.docx)) as archive:
        body = archive.read("word/document.xml").decode()
    assert "<w:br/>" in body and "&lt;b&gt;" in body
    context["course"]["title"] = "Copié de Word\x0bavec un saut\x01"
    fast = services.render(template("convocation"), context)
    assert_sound(fast.docx)
    assert "Copié de Wordavec un saut" in docx_text(fast.docx)


def test_a_table_row_loop_emptied_falls_back_to_docxtpl(monkeypatch):
    data = table_template([["{%tr for t in trainees %}"], ["{{ t }}"], ["{%tr endfor %}"]], "Avant", "Après")
    assert is_fast(data)
    assert_same(monkeypatch, data, {"trainees": ["Julie", "Thomas"]})
    assert_same(monkeypatch, data, {"trainees": []})  # no row left: docxtpl's fix_tables drops the grid


# --------------------------------------------------------------------------- behaviour


def test_missing_names_are_recorded_with_their_path(monkeypatch):
    data = paragraphs("{{ org.name }} {{ org.nope }} {{ unknown }}", ["{% for t in trainees %}", "{{ t.name }}",
                                                                        "{{ t.age }}", "{% endfor %}"])
    assert is_fast(data)
    fast = assert_same(monkeypatch, data, {"org": {"name": "ACME"}, "trainees": [{"name": "Julie"}]})
    assert fast.missing == ["org.nope", "unknown", "trainees[].age"]
    # A constant expression is output when the template compiles (once here, on each render with docxtpl):
    # what it records must still be in each render's missing names.
    data = paragraphs("{{ org.name }} {{ ''.__class__.__mro__ }}")
    assert is_fast(data)
    for _ in range(2):
        assert assert_same(monkeypatch, data, {"org": {}}).missing == ["__class__", "org.name"]


def test_missing_names_stay_with_their_render_across_threads():
    full = paragraphs("{{ org.name }}")
    partial = paragraphs("{{ org.name }} {{ org.city }}")

    def one(i):
        data, expected = (full, []) if i % 2 else (partial, ["org.city"])
        return services.render(data, {"org": {"name": f"N{i}"}}).missing == expected

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(80)))


def test_syntax_errors_and_unreadable_files(monkeypatch):
    for text, message in (("{% if org.name %}sans fin", "Erreur de syntaxe"),
                          ("{% frobnicate %}", "balise inconnue « {% frobnicate %} »")):
        data = paragraphs(text)
        with pytest.raises(TemplateProblem) as fast:
            services.render(data, {})
        with pytest.raises(TemplateProblem) as slow:
            with_docxtpl(monkeypatch, data, {})
        assert fast.value.message == slow.value.message and message in fast.value.message
    with pytest.raises(TemplateProblem, match="lisible"):
        services.render(b"PK\x03\x04 broken zip", {})


@pytest.mark.parametrize("attack", [
    "{{ org.logo.tpl }}{{ org.logo.data }}{{ org.logo._picture }}{{ org.logo.width }}",
    "{{ org.logo.tpl.replace_zipname('customXml/item1.xml', '/etc/hostname') }}",
    "{{ org.logo.tpl.save('/tmp/fastrender-attack.docx') }}",
    "{{ org.__class__ }}{{ ''.__class__.__mro__ }}",
])
def test_pictures_and_python_stay_out_of_reach(monkeypatch, attack):
    data = make_template(attack)
    context = {"org": {"logo": Picture(sample_context("convention")["org"]["logo"].data, 35)}}
    for render in (services.render, lambda d, c: with_docxtpl(monkeypatch, d, c)):
        try:
            rendered = render(data, context)
        except TemplateProblem:
            continue
        with zipfile.ZipFile(io.BytesIO(rendered.docx)) as archive:
            assert archive.read("customXml/item1.xml") == zipfile.ZipFile(io.BytesIO(data)).read("customXml/item1.xml")
        assert docx_text(rendered.docx).strip() == ""
    assert not Path("/tmp/fastrender-attack.docx").exists()


def test_values_are_escaped_and_pictures_are_not(monkeypatch):
    logo = sample_context("convention")["org"]["logo"]
    data = paragraphs(["{{ a }} ", "{% if logo %}", "{{ logo }}", "{% endif %}", " {{ b }}"])
    fast = assert_same(monkeypatch, data, {"a": "<w:t>&", "b": 'x"y\'z', "logo": logo})
    assert "<w:t>& x\"y'z" in docx_text(fast.docx).replace("  ", " ")
    assert docx_images(fast.docx) == 1


# --------------------------------------------------------------------------- what docxtpl renders instead


@pytest.mark.parametrize("data, fast", [
    (paragraphs("{{ a|safe }}"), False),  # unescaped output
    (paragraphs("{% macro m() %}x{% endmacro %}{{ m() }}"), False),
    (paragraphs(["{% if a %}", "oui"], "{% endif %}"), True),  # a block over two paragraphs: fine
    (table_template([["{% if a %}avant", "après{% endif %}"]]), False),  # from one cell to the next
    (table_template([["{%tc for c in cols %}", "{{ c }}", "{%tc endfor %}"]]), False),  # cells added
    (table_template([["{% colspan 2 %}x", ""]]), False),  # a tag inside an attribute
], ids=["safe", "macro", "paragraphs", "cells", "tc", "colspan"])
def test_what_the_fast_path_does_not_reproduce_is_rendered_by_docxtpl(monkeypatch, data, fast):
    assert is_fast(data) is fast
    context = {"a": "<b>ok</b>", "cols": ["1", "2", "3"]}
    slow = with_docxtpl(monkeypatch, data, context)
    assert docx_text(services.render(data, context).docx) == docx_text(slow.docx)


def test_tags_in_the_document_properties_are_rendered_by_docxtpl(monkeypatch):
    document = Document()
    document.core_properties.title = "Convention {{ client }}"
    document.add_paragraph("{{ client }}")
    buffer = io.BytesIO()
    document.save(buffer)
    assert not is_fast(buffer.getvalue())
    rendered = services.render(buffer.getvalue(), {"client": "ACME"})
    assert Document(io.BytesIO(rendered.docx)).core_properties.title == "Convention ACME"


def test_the_cache_is_bounded_and_shared(monkeypatch):
    fastrender.clear_cache()
    monkeypatch.setattr(fastrender, "CACHE_SIZE", 2)
    first, second, third = (make_template(f"{{{{ v }}}} {n}") for n in range(3))
    prepared = fastrender.prepared(first)
    assert fastrender.prepared(bytes(bytearray(first))) is prepared  # by content, not identity
    fastrender.prepared(second)
    fastrender.prepared(third)
    assert len(fastrender._CACHE) == 2 and fastrender.prepared(first) is not prepared
    assert docx_text(services.render(third, {"v": "x"}).docx).strip() == "x 2"
    fastrender.clear_cache()


# --------------------------------------------------------------------------- LibreOffice opens them


def test_libreoffice_opens_fast_rendered_documents(office):  # noqa: F811 - the fixture
    from trainingmgr.documents.conversion import pdf

    for code in ("attendance_sheet", "certificate", "convention"):
        context = copy.deepcopy(sample_context(code))
        rendered = services.render(template(code), context)
        data = pdf.convert(rendered.docx)
        assert data.startswith(b"%PDF")
        text = pdf_text(data)
        if text is not None:
            assert context["org"]["name"] in text, text[:300]
