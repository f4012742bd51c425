"""Templates that would exhaust the server while they render (documents/rendering/limits.py): each is refused with a 422 and
a French message naming the problem and where it is, nothing is stored; what legitimate templates do still works."""
from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from tests.documents.support import convention_template, docx_text, make_template, shown
from tests.helpers import page
from trainingmgr.documents import services
from trainingmgr.documents.catalogue import DOC_TYPES, mandatory_of
from trainingmgr.documents.models import DocumentTemplate
from trainingmgr.documents.rendering import fastrender, limits
from trainingmgr.documents.rendering.sandbox import TemplateProblem
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile


def upload(client, data: bytes):
    return client.post("/admin/templates/convention", data={"file": (io.BytesIO(data), "modele.docx"), "comment": ""},
                       content_type="multipart/form-data")


def text(message: str) -> str:
    return message.replace("\u202f", " ").replace("\xa0", " ")


def refused_upload(client, paragraph: str, *messages: str) -> None:
    response = upload(client, convention_template(paragraph))
    assert response.status_code == 422
    body = text(page(response))
    for message in messages:
        assert message in body, message
    assert db.session.scalar(select(func.count()).select_from(DocumentTemplate)) == 0
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0


def problem(template: bytes, context: dict | None = None) -> str:
    """The French message of the TemplateProblem rendering ``template`` raises."""
    with pytest.raises(TemplateProblem) as refusal:
        services.render(template, context or {"org": {"name": "Formaction"}})
    return text(refusal.value.message)


def with_docxtpl(monkeypatch, template: bytes, context: dict):
    """services.render with fastrender refusing the template: docxtpl's rendering."""
    with monkeypatch.context() as patch:
        patch.setattr(fastrender, "render", lambda *_: (_ for _ in ()).throw(fastrender.Unsupported("test")))
        return services.render(template, context)


PARAGRAPH = len(mandatory_of("convention")) + 2  # "Convention", the mandatory mentions, then the hostile paragraph


# --------------------------------------------------------------------------- through the upload page


def test_a_hundred_million_characters_are_refused_before_they_are_built(admin):
    refused_upload(admin, "{{ 'A' * 100000000 }}",
                   "le résultat de « * » compterait 100 000 000 caractères ou éléments (1 000 000 au plus)",
                   f"corps du document, vers le paragraphe n° {PARAGRAPH}")


def test_a_million_numbers_from_range_are_refused(admin):
    refused_upload(admin, "{% for i in range(10**6) %}{% endfor %}",
                   "range() produit trop de nombres : plus de 100 000 en tout pour ce document")


def test_nested_ranges_count_together(admin):
    refused_upload(admin, "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
                   "range() produit trop de nombres : plus de 100 000 en tout",
                   "(boucles imbriquées comprises)")


def test_a_division_by_zero_is_a_clear_refusal(admin):
    refused_upload(admin, "{{ 1/0 }}", "Le modèle ne peut pas être rendu : division par zéro",
                   f"vers le paragraphe n° {PARAGRAPH}")


def test_a_recursive_macro_is_a_clear_refusal(admin):
    refused_upload(admin, "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(1) }}",
                   "appels imbriqués trop profonds (une macro qui s'appelle elle-même ?)")


def test_a_render_past_its_time_is_stopped(admin, app, monkeypatch):
    """The bound is lowered, and a loop that outputs nothing runs into it (the fast renderer's loop, then
    docxtpl's inside a macro)."""
    monkeypatch.setitem(app.config, "TEMPLATE_RENDER_SECONDS", 0.3)
    endless = "{% for i in range(100000) %}{% for c in '" + "x" * 100000 + "' %}{% endfor %}{% endfor %}"
    fastrender.prepared(convention_template(endless))  # the fast renderer takes it (Unsupported otherwise)
    refused_upload(admin, endless, "il a dépassé la durée permise (0,3 s ; une boucle sans fin ?)")
    refused_upload(admin, "{% macro m() %}" + endless + "{% endmacro %}{{ m() }}", "il a dépassé la durée permise")


# --------------------------------------------------------------------------- each bound, rendering directly


@pytest.mark.parametrize("paragraph, message", [
    ("{{ 'x'|center(100000000) }}", "le résultat du filtre center compterait 100 000 000"),
    ("{{ 'x\\ny'|indent(10000000, true) }}", "le résultat du filtre indent compterait 20 000 003"),
    ("{{ ('ab ' * 300000)|wordwrap(1, wrapstring='-' * 100) }}", "le résultat du filtre wordwrap compterait"),
    ("{{ '%100000000s'|format('a') }}", "le texte mis en forme par « % » ou format compterait 100 000 012"),
    ("{{ '%*d' % (100000000, 1) }}", "le texte mis en forme par « % » ou format compterait 100 000 003"),
    ("{{ '{:>100000000}'.format(1) }}", "le texte mis en forme par format() compterait 100 000 013"),
    ("{{ '{:{w}}'.format(1, w=100000000) }}", "le texte mis en forme par format() compterait"),
    ("{{ 'ab'|replace('', 'x' * 1000000) }}", "le résultat du filtre replace compterait 3 000 002"),
    ("{{ ['ab' * 500000, 'cd' * 500000]|join('-') }}", "le résultat du filtre join compterait 2 000 001"),
    ("{{ [1, 2]|batch(100000000, 0)|list }}", "le résultat du filtre batch compterait 100 000 000"),
    ("{{ [1, 2]|slice(100000000)|list }}", "le résultat du filtre slice compterait 100 000 000"),
    ("{{ 'x'.ljust(100000000) }}", "le résultat de ljust() compterait 100 000 000"),
    ("{{ '0'.zfill(100000000) }}", "le résultat de zfill() compterait 100 000 000"),
    ("{{ ('\\t' * 1000).expandtabs(100000) }}", "le résultat de expandtabs() compterait 100 001 000"),
    ("{{ ('A' * 1000000).translate({65: 'B' * 1000}) }}", "le résultat de translate() compterait 1 000 000 000"),
    ("{{ '-'.join(['x' * 600000, 'y' * 600000]) }}", "le résultat de join() compterait 1 200 001"),
    ("{{ (1).to_bytes(1000000000, 'big') }}", "le résultat de to_bytes() compterait 1 000 000 000"),
    ("{{ lipsum(100000) }}", "le faux texte de lipsum() compterait 120 000 000"),
    ("{{ 'A' * 600000 + 'B' * 600000 }}", "le résultat de « + » compterait 1 200 000"),
    ("{% set ns = namespace(s='AAAAAAAAAA') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "le texte assemblé par « ~ » compterait 1 310 720"),
    ("{% set l = ['A' * 1000000] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}",
     "le résultat de extend() compterait 2 000 000"),
    ("{% set l = [] %}{% for i in range(100) %}{{ l.append('A' * 999999) }}{% endfor %}",
     "le modèle construit trop de texte : plus de 20 000 000 caractères ou éléments en tout"),
    ("{{ 2 ** 100000 }}", "le modèle calcule un nombre démesuré (plus de 65 536 bits)"),
    ("{{ range(10**20) }}", "nombre trop grand pour être calculé"),
    ("{{ [1][0] + 'a' }}", "opération impossible sur ces valeurs (types incompatibles)"),
    ("{{ 'x'|wordwrap(0) }}", "valeur invalide pour cette opération"),
    ("{{ {}.pop('x') }}", "élément absent d'une liste ou d'un dictionnaire"),
    ("{% set s %}{% for i in range(100000) %}{{ 'x' * 999 }}{% endfor %}{% endset %}",
     "le modèle construit trop de texte"),
])
def test_each_bound_refuses_with_its_reason(paragraph, message):
    found = problem(make_template("Titre", paragraph))
    assert found.startswith("Le modèle ne peut pas être rendu : ") and message in found, found
    assert "vers le paragraphe n° 2" in found, found


def test_the_output_of_a_part_is_bounded(app, monkeypatch):
    monkeypatch.setitem(app.config, "TEMPLATE_MAX_OUTPUT", 200_000)
    found = problem(make_template("{% for i in range(1000) %}{{ 'x' * 500 }}{% endfor %}"))
    assert "le texte produit dépasse 200 000 caractères (corps du document)" in found


def test_a_large_value_output_again_and_again_counts(monkeypatch):
    """Output goes to the page a slice at a time: a large value is charged on its own, in both renderers."""
    data = make_template("{% for i in range(1000) %}{{ big }}{% endfor %}")
    context = {"big": "x" * 1_000_000}
    assert "le modèle construit trop de texte" in problem(data, context)
    with pytest.raises(TemplateProblem, match="le modèle construit trop de texte"):
        with_docxtpl(monkeypatch, data, context)


def test_errors_name_the_header_or_footer(monkeypatch):
    from docx import Document

    document = Document()
    document.add_paragraph("Corps")
    document.sections[0].header.paragraphs[0].text = "{{ 1/0 }}"
    buffer = io.BytesIO()
    document.save(buffer)
    assert "division par zéro (en-tête header" in problem(buffer.getvalue())
    with pytest.raises(TemplateProblem) as slow:
        with_docxtpl(monkeypatch, buffer.getvalue(), {})
    assert "division par zéro (en-tête header" in slow.value.message


def test_both_renderers_give_the_same_refusal(monkeypatch):
    for paragraph in ("{{ 'A' * 100000000 }}", "{{ 1/0 }}", "{% for i in range(10**6) %}{% endfor %}",
                      "{{ '{:>100000000}'.format(1) }}"):
        data = make_template("Titre", "Texte", paragraph)
        fast = problem(data)
        with pytest.raises(TemplateProblem) as slow:
            with_docxtpl(monkeypatch, data, {})
        assert text(slow.value.message) == fast and "vers le paragraphe n° 3" in fast


def test_the_watchdog_never_fires_after_a_render(app, monkeypatch):
    """A render well within a short limit returns, and nothing interrupts the thread afterwards."""
    monkeypatch.setitem(app.config, "TEMPLATE_RENDER_SECONDS", 0.2)
    for _ in range(20):
        services.render(make_template("Bonjour {{ org.name }}"), {"org": {"name": "Formaction"}})
    time.sleep(0.5)
    assert sum(range(10**6)) > 0  # bytecode that a stray RenderTimeout would have interrupted


def test_a_loop_stops_at_its_next_step_once_past_the_deadline():
    """The usual stop: the watchdog marks the render expired and the render raises at its next safe point (a
    step of a loop), not asynchronously in whatever code runs."""
    give_up = time.monotonic() + 5
    with pytest.raises(limits.RenderTimeout):
        with limits.bounded(limits.Limits(0.05, 1000, 1000, 1000, 1000)) as budget:
            for _ in limits.watched(iter(lambda: time.monotonic() > give_up, True)):  # 5 s of steps
                pass
            pytest.fail("the loop was not stopped")
    assert budget.watch.expired and not budget.watch.fired


def test_code_without_a_safe_point_is_interrupted_after_the_grace(monkeypatch):
    """The last resort: Python code that reaches no safe point gets RenderTimeout raised in its thread, and
    nothing is left pending once the render is over."""
    monkeypatch.setattr(limits, "GRACE_SECONDS", 0.1)
    give_up = time.monotonic() + 5
    with pytest.raises(limits.RenderTimeout):
        with limits.bounded(limits.Limits(0.05, 1000, 1000, 1000, 1000)) as budget:
            while time.monotonic() < give_up:  # no safe point in here
                pass
            pytest.fail("the code was not interrupted")
    assert budget.watch.fired
    time.sleep(0.3)
    assert sum(range(10**5)) > 0


# --------------------------------------------------------------------------- what still works


@pytest.mark.parametrize("code", list(DOC_TYPES))
def test_the_body_is_cut_out_as_before(code):
    """fastrender takes the XML around the body from one serialisation with markers inside the body (taking a body
    of a few hundred thousand paragraphs out of the tree took minutes): the same bytes as taking it out."""
    from docxtpl import DocxTemplate
    from lxml import etree

    tpl = DocxTemplate(services._default_path(code))
    tpl.init_docx()
    root = tpl.docx.element
    body, marker = root.body, etree.Element("marker")
    root.replace(body, marker)
    before, _, after = etree.tostring(root, encoding="UTF-8", standalone=True).partition(b"<marker/>")
    root.replace(marker, body)
    whole = etree.tostring(root)
    assert fastrender._around_body(root) == (before, after)
    assert etree.tostring(root) == whole  # the markers are gone


def test_legitimate_templates_render_as_before(monkeypatch):
    data = make_template(
        "{{ 'ab'|center(6) }}|", "{{ '%05d'|format(42) }}", "{{ '{:>6}'.format('ab') }}|",
        "{% for i in range(3) %}{{ i }}{% endfor %}", "{{ org.name ~ ' !' }}", "{{ [1, 2, 3]|join(', ') }}",
        "{{ 'a-b'|replace('-', '+') }}", "{{ 'x' * 3 }}{{ 2 ** 10 }}{{ '%s/%s' % (1, 2) }}",
        "{{ org.name|upper|truncate(7, true, '…') }}", "{{ ('ab ' * 4)|wordwrap(5) }}",
        "{{ [1, 2, 3, 4]|batch(2)|list }}")
    context = {"org": {"name": "Formaction Sud"}}
    for rendered in (services.render(data, context), with_docxtpl(monkeypatch, data, context)):
        lines = docx_text(rendered.docx).split("\n")
        assert lines[:6] == ["  ab  |", "00042", "    ab|", "012", "Formaction Sud !", "1, 2, 3"], lines
        assert lines[6:9] == ["a+b", "xxx1024" + "1/2", "FORMAC…"], lines
        assert lines[9:12] == ["ab ab", "ab ab", "[[1, 2], [3, 4]]"], lines


def test_a_realistic_template_is_accepted_and_generates(admin_web, demo):
    from docx import Document
    from docx.shared import Mm

    from tests.files.support import real_png

    document = Document()
    document.sections[0].header.paragraphs[0].text = "{{ org.name }} – {{ org.city }}"
    document.sections[0].header.add_paragraph().add_run().add_picture(io.BytesIO(real_png(400, 200)), width=Mm(30))
    document.add_heading("Convention de formation professionnelle", 1)
    for name in mandatory_of("convention"):
        document.add_paragraph(shown(name))
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Formation", "{{ course.title }}"
    document.sections[0].footer.paragraphs[0].text = "Document n° {{ document.number }}"
    buffer = io.BytesIO()
    document.save(buffer)
    response = upload(admin_web, buffer.getvalue())
    assert response.status_code == 302, page(response)
    company = demo.enrolments["Julie"].company
    made = services.generate("convention", demo.chorus, demo.advisor, company=company, pdf=False)
    assert made.template_label == "modèle n° 1"
    assert demo.chorus.course.title in docx_text(services.read_file(made, "docx"))
    assert len(services.generate_session_pack(demo.chorus, demo.advisor, pdf=False)) >= 4
