"""Rendering a Word template with a context (``render``: the fast renderer, docxtpl when it cannot vouch for the
template), and checking an uploaded template against the catalogue (``validate_template``). See
docs/templates-sandbox.md."""
from __future__ import annotations

import io
import re
import zipfile

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateError, TemplateNotFound, TemplateRuntimeError, UndefinedError
from lxml import etree

from ..catalogue import mandatory_of, variables_of
from . import fastrender, limits
from .sample import sample_context
from .sandbox import Recorder, Rendered, TemplateProblem, check_package, sandbox, syntax_message, tracked, with_pictures


def render(template: bytes, context: dict) -> Rendered:
    """Render a .docx template with ``context``; the names it asked for and the context lacked are in
    ``missing``. A broken template raises TemplateProblem with a French message, and so does one that builds too
    much or runs too long (documents/rendering/limits.py) or fails as it renders (a division by zero, say).

    fastrender renders the template prepared once (a few milliseconds); a template using what it does not
    reproduce (fastrender.Unsupported: docxtpl's cell-level tags, colspan, cellbg, vm, hm, a tag inside an
    attribute, macros, includes, tags in the document properties or the footnotes…) is rendered by docxtpl.
    """
    bounds = limits.Limits.from_config()
    try:
        with limits.bounded(bounds):
            try:
                return fastrender.render(template, context)
            except fastrender.Unsupported:
                return _render_docxtpl(template, context)
    except limits.RenderTimeout:
        raise TemplateProblem(f"Le modèle ne peut pas être rendu : il a dépassé la durée permise "
                              f"({_seconds(bounds.seconds)} s ; une boucle sans fin ?).", field="file") from None
    except limits.RenderFailure as exc:
        raise TemplateProblem(exc.message, field="file") from None
    except TemplateSyntaxError as exc:
        where = limits.where_in(None, exc.lineno)
        raise TemplateProblem(f"Erreur de syntaxe dans le modèle : {syntax_message(exc)}"
                              + (f" ({where})" if where else ""), field="file") from None
    except SecurityError:
        raise TemplateProblem("Le modèle tente d'accéder à des éléments interdits (fonctions internes de Python) : "
                              "seules les variables du catalogue sont utilisables.", field="file") from None
    except TemplateError as exc:
        raise TemplateProblem(f"Le modèle ne peut pas être rendu : {_template_error(exc)}.", field="file") from None


def _seconds(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _render_docxtpl(template: bytes, context: dict) -> Rendered:
    """docxtpl's rendering (load, patch, compile, render and save the whole package each time). The package is
    checked first (files/safety.py), as a template stored before those checks may be rendered here."""
    from docxtpl import DocxTemplate  # loaded only when a template renders (0.4 s)

    check_package(template)
    try:
        tpl = DocxTemplate(io.BytesIO(template))
        tpl.init_docx()
    except Exception:
        raise TemplateProblem("Ce fichier n'est pas un document Word (.docx) lisible.", field="file") from None
    recorder = Recorder()
    try:
        tpl.render(with_pictures(tracked(context), tpl), jinja_env=sandbox(recorder), autoescape=True)
    except limits.TEMPLATE_ERRORS as exc:
        part = getattr(tpl, "current_rendering_part", None)
        raise limits.RenderFailure.of(exc, str(part.partname) if part is not None else None) from None
    buffer = io.BytesIO()
    tpl.save(buffer)
    return Rendered(buffer.getvalue(), recorder.missing)


def _template_error(exc: TemplateError) -> str:
    """A Jinja error other than a syntax error, in French."""
    if isinstance(exc, UndefinedError):
        return "une valeur absente du catalogue est utilisée comme une fonction, une liste ou un nombre"
    if isinstance(exc, (TemplateNotFound, TemplateRuntimeError)):
        return "les instructions include, import et extends ne sont pas disponibles dans un modèle"
    return "instruction du modèle impossible à exécuter"



def validate_template(doc_type: str, template: bytes) -> list[str]:
    """The problems of a template, one French line each (empty when it can be used)."""
    problems: list[str] = []
    try:
        rendered = render(template, sample_context(doc_type))
        absent = _mentions_not_shown(doc_type, template)
    except TemplateProblem as exc:
        return [exc.message]
    known = {v.name for v in variables_of(doc_type)}
    for name in rendered.missing:
        if name not in known:
            problems.append(f"Variable inconnue : « {name} » (voir le catalogue des variables).")
    problems += absent
    leftover = re.findall(r"\{\{|\{%|%\}|\}\}", _docx_text(rendered.docx))
    if leftover:
        problems.append("Des balises restent visibles après le rendu : vérifiez les accolades « {{ }} » et « {% %} ».")
    return problems


def _mentions_not_shown(doc_type: str, template: bytes) -> list[str]:
    """The mandatory mentions the template does not show, one French line each. The template is rendered with
    the sample context whose every mandatory value is a distinct sentinel, and each sentinel must be in the
    visible text: a variable inside a ``{# comment #}`` or a branch never taken does not count, while
    ``org['nda']`` counts as ``org.nda``."""
    context = sample_context(doc_type)
    sentinels = _plant_sentinels(context, mandatory_of(doc_type))
    text = visible_text(render(template, context).docx).casefold()  # a filter may change the case (upper)
    labels = {v.name: v.label for v in variables_of(doc_type)}
    return [f"Mention obligatoire absente : {_mention_label(labels[name])} (« {name} »)"
            for name, sentinel in sentinels.items() if sentinel.casefold() not in text]


def _plant_sentinels(context: dict, names: list[str]) -> dict[str, str]:
    """Replace the value of each of ``names`` in ``context`` by a sentinel of its own; the sentinel by name.
    A dotted name walks the nested dicts, ``[]`` each item of a list; a list or a dict gets the sentinel in
    each of its texts (so that a loop over ``course.objectives`` renders it). Shorter names first: a name
    inside a mandatory list keeps its own sentinel."""
    sentinels = {name: f"⟦M{number:02d}⟧" for number, name in enumerate(names, 1)}
    for name in sorted(names, key=lambda n: n.count(".")):
        _plant(context, name.split("."), sentinels[name])
    return sentinels


def _plant(node, segments: list[str], sentinel: str) -> None:
    key = segments[0].removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    if segments[0].endswith("[]"):
        for item in node[key] if isinstance(node[key], list) else ():
            _plant(item, segments[1:], sentinel)
    elif len(segments) > 1:
        _plant(node[key], segments[1:], sentinel)
    else:
        node[key] = _marked(node[key], sentinel)


def _marked(value, sentinel: str):
    """``value`` with each of its texts replaced by ``sentinel`` (pictures are kept)."""
    if isinstance(value, str):
        return sentinel
    if isinstance(value, list):
        return [_marked(item, sentinel) for item in value]
    if isinstance(value, dict):
        return {key: _marked(item, sentinel) for key, item in value.items()}
    return value


def _mention_label(label: str) -> str:
    """A catalogue label without its description of a list's fields ("Programme : liste de parties {…}")."""
    return re.sub(r"\s*(:\s*liste\b.*|\(liste[^)]*\))$", "", label)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def visible_text(docx: bytes) -> str:
    """The text a reader sees in a .docx: the body with its tables, the headers and the footers, without the
    runs formatted as hidden (deleted revisions and field codes are not ``w:t`` text)."""
    texts: list[str] = []
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        for name in archive.namelist():
            if re.match(r"word/(document|header\d*|footer\d*)\.xml$", name):
                for node in etree.fromstring(archive.read(name)).iter(f"{_W}t"):
                    hidden = node.getparent().find(f"{_W}rPr/{_W}vanish")
                    if hidden is None or hidden.get(f"{_W}val") in ("0", "false", "off"):
                        texts.append(node.text or "")
    return "".join(texts)


def _docx_text(docx: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return "".join(re.sub(r"<[^>]+>", "", archive.read(name).decode("utf-8", "replace"))
                       for name in archive.namelist() if re.match(r"word/(document|header\d*|footer\d*)\.xml", name))
