"""The default Word templates (documents/*.docx) against the tag catalogue and the sample contexts.

No database: plain functions. Each template is rendered with its type's sample context in a sandboxed Jinja
environment (as the application does, with and without autoescaping), and must leave no tag, no "None", and
show the sample value of every mandatory variable; its variables must all be in the catalogue.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from trainingmgr.documents.catalogue import DOC_TYPES, mandatory_of, variables_of
from trainingmgr.documents.defaults import build_all
from trainingmgr.documents.rendering.sample import sample_context, sample_variables

DOCUMENTS = Path(__file__).resolve().parents[2] / "documents"
CODES = list(DOC_TYPES)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
STORY = re.compile(r"word/(document|header\d*|footer\d*)\.xml$")
ENVIRONMENTS = {
    "sandbox": SandboxedEnvironment,
    "sandbox-strict-autoescape": lambda: SandboxedEnvironment(undefined=StrictUndefined, autoescape=True),
}


def _path(code: str) -> Path:
    return DOCUMENTS / DOC_TYPES[code].filename


def _render(code: str, environment: str) -> tuple[bytes, dict]:
    tpl = DocxTemplate(str(_path(code)))
    context = sample_context(code, tpl)
    tpl.render(context, jinja_env=ENVIRONMENTS[environment]())
    buffer = io.BytesIO()
    tpl.save(buffer)
    return buffer.getvalue(), context


def _paragraphs(docx: bytes) -> list[str]:
    """The text of every paragraph of the body, the tables, the headers and the footers."""
    texts = []
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        for name in archive.namelist():
            if STORY.match(name):
                root = etree.fromstring(archive.read(name))
                texts += ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")]
    return texts


def _template_source(code: str) -> str:
    """The template's XML once docxtpl has joined the runs of its tags (body, headers, footers)."""
    tpl = DocxTemplate(str(_path(code)))
    tpl.init_docx()
    parts = [tpl.patch_xml(tpl.get_xml())]
    for relation in tpl.docx.part.rels.values():
        if relation.reltype.endswith(("/header", "/footer")):
            parts.append(tpl.patch_xml(relation.target_part.blob.decode("utf-8")))
    return "".join(parts)


def _used_names(source: str) -> set[str]:
    """The dotted names a template uses, loop variables resolved ("r.name" in "for r in s.rows" in
    "for s in sheet.slots" is "sheet.slots[].rows[].name")."""
    found: set[str] = set()

    def path(node, scope):
        if isinstance(node, nodes.Name):
            return scope.get(node.name, node.name)
        if isinstance(node, nodes.Getattr):
            base = path(node.node, scope)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit(node, scope):
        if isinstance(node, nodes.For):
            visit(node.iter, scope)
            inner = {**scope, "loop": None}
            if isinstance(node.target, nodes.Name):
                iterated = path(node.iter, scope)
                inner[node.target.name] = f"{iterated}[]" if iterated else None
            for child in node.body + node.else_ + ([node.test] if node.test else []):
                visit(child, inner)
            return
        if isinstance(node, (nodes.Name, nodes.Getattr)):
            name = path(node, scope)
            if name:
                found.add(name)
                return
        for child in node.iter_child_nodes():
            visit(child, scope)

    visit(SandboxedEnvironment().parse(source), {})
    return found


def _leaves(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _leaves(item)]
    if isinstance(value, list):
        return [text for item in value for text in _leaves(item)]
    return [value] if isinstance(value, str) and value else []


def _sample_values(context: dict, name: str) -> list[str]:
    values = [context]
    for segment in name.split("."):
        key = segment.removesuffix("[]")
        values = [v[key] for v in values]
        if segment.endswith("[]"):
            values = [item for v in values for item in v]
    return _leaves(values)


def test_default_templates_exist_and_open():
    for code in CODES:
        assert _path(code).is_file(), f"{_path(code)} missing: python -m trainingmgr.documents.defaults"
        Document(str(_path(code)))


def test_committed_templates_are_the_built_ones(tmp_path):
    build_all(str(tmp_path))
    for code in CODES:
        built = (tmp_path / DOC_TYPES[code].filename).read_bytes()
        assert built == _path(code).read_bytes(), (
            f"{DOC_TYPES[code].filename} differs from what defaults.py builds: "
            f"run python -m trainingmgr.documents.defaults")


@pytest.mark.parametrize("code", CODES)
def test_template_uses_catalogue_variables_and_every_mandatory_one(code):
    known = set(sample_variables(code))  # the catalogue's, plus the fields of a list it names without them
    used = _used_names(_template_source(code))
    unknown = {n for n in used if n not in known and not (n.endswith("[]") and n[:-2] in known)}
    assert not unknown, f"{code}: variables not in the catalogue: {sorted(unknown)}"
    missing = [m for m in mandatory_of(code)
               if m not in used and not any(n.startswith((m + ".", m + "[]")) for n in used)]
    assert not missing, f"{code}: mandatory variables not used: {missing}"


@pytest.mark.parametrize("code", CODES)
def test_undeclared_variables_are_catalogue_roots(code):
    env = SandboxedEnvironment()
    undeclared = DocxTemplate(str(_path(code))).get_undeclared_template_variables(env)
    roots = {v.name.split(".")[0].removesuffix("[]") for v in variables_of(code)}
    assert undeclared <= roots, f"{code}: {sorted(undeclared - roots)}"
    mandatory_roots = {m.split(".")[0].removesuffix("[]") for m in mandatory_of(code)}
    assert mandatory_roots <= undeclared
    # dotted mandatory names, in the template's text as written (e.g. org.nda, not org.nda_mention)
    text = re.sub(r"<[^>]+>", "", _template_source(code))
    for name in mandatory_of(code):
        written = name.split("[]")[0]  # a name inside a list: the list's, in its loop
        assert re.search(re.escape(written) + r"(?![\w])", text), f"{code}: {name} not in the template"


@pytest.mark.parametrize("environment", list(ENVIRONMENTS))
@pytest.mark.parametrize("code", CODES)
def test_sample_renders_cleanly(code, environment):
    docx, context = _render(code, environment)
    Document(io.BytesIO(docx))  # python-docx reopens it
    paragraphs = _paragraphs(docx)
    text = "\n".join(paragraphs)
    for tag in ("{{", "{%", "}}", "%}", "{#", "#}"):
        assert tag not in text, f"{code}: {tag!r} left in {[p for p in paragraphs if tag in p][:3]}"
    assert not re.search(r"\bNone\b", text), f"{code}: 'None' in {[p for p in paragraphs if 'None' in p][:3]}"
    flat = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    for name in mandatory_of(code):
        values = _sample_values(context, name)
        assert values, f"{code}: no sample value for {name}"
        for value in values:
            assert re.sub(r"\s+", " ", value) in flat, f"{code}: sample value of {name} not shown: {value!r}"
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        media = [n for n in archive.namelist() if n.startswith("word/media/")]
    assert media, f"{code}: the sample images (logo, signatures, QR code) were not inserted"


def test_attendance_sheet_repeats_slots_and_rows():
    docx, context = _render("attendance_sheet", "sandbox")
    text = "\n".join(_paragraphs(docx))
    for slot in context["sheet"]["slots"]:
        assert slot["label"] in text
        assert slot["trainer_signed_at"] in text
        for row in slot["rows"]:
            assert row["signed_at"] in text
    assert text.count("Camille Roux") == 2 and "« Hugo Petit » (nom saisi)" in text
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        document = archive.read("word/document.xml").decode()
    # a drawn signature per slot for the trainee and for the trainer, and the QR code of the check page
    assert document.count("<wp:inline") == 5


def test_certificate_boxes():
    docx, _ = _render("certificate", "sandbox")
    paragraphs = _paragraphs(docx)
    boxes = [p for p in paragraphs if p[:1] in "☒☐" and p[1:2].isspace()]
    assert [p[0] for p in boxes] == ["☒", "☐", "☐", "☐"]
    assert "Action de formation par apprentissage" in boxes[3]


@pytest.mark.parametrize("code", CODES)
def test_sample_context_shape_and_determinism(code):
    first, second = sample_context(code), sample_context(code)
    assert first == second
    first["org"]["name"] = "changed"
    assert sample_context(code)["org"]["name"] == "Formaction Sud-Ouest"
    course = second["course"]
    assert len(course["objectives"]) == 2 and all(isinstance(o, str) for o in course["objectives"])
    assert len(course["programme"]) == 2
    for part in course["programme"]:
        assert set(part) == {"title", "when", "points"} and len(part["points"]) == 2
    assert len(second["session"]["slots"]) == 2
    if code == "attendance_sheet":
        assert all(len(slot["rows"]) == 2 for slot in second["sheet"]["slots"])
    if code == "certificate":
        assert [b["box"] for b in second["nature_boxes"]] == ["☒", "☐", "☐", "☐"]
