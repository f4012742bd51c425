"""Rendering a mail template (subject and body) in the documents' sandbox, and checking one before it is saved.

The sandbox is the Word templates' (documents/rendering/sandbox.py): no attribute starting with "_", nothing
unsafe to call, what a template builds and outputs bounded (documents/rendering/limits.py). ``check_template``
refuses more, before anything runs: a forbidden construct or a name outside the context's catalogue, each with its
line, so that the organisation sees at save time what the worker would otherwise fail on."""
from __future__ import annotations

import re

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError

from ..core.errors import ValidationError
from ..documents.rendering import limits
from ..documents.rendering.sandbox import RecordingUndefined, Sandbox, syntax_message, tracked
from . import registry

# Jinja's globals a mail template may use beside the catalogue ("loop" is a for loop's own).
ALLOWED_GLOBALS = frozenset({"range", "loop", "namespace", "dict", "cycler", "joiner"})
# Statements that would reach other templates (there are none to reach, and the sandbox gives no loader).
FORBIDDEN_STATEMENTS = ((nodes.Include, "{% include %}"), (nodes.Extends, "{% extends %}"),
                        (nodes.Import, "{% import %}"), (nodes.FromImport, "{% from %}"))
# Filters and tests that read an attribute named by a string ("attr", and the attribute= of map, sort…).
_ATTRIBUTE_FILTERS = frozenset({"attr"})


class RenderError(ValidationError):
    """A template that cannot be rendered with this context; the message is French."""


class MailSandbox(Sandbox):
    """The documents' sandbox, where an unsafe attribute (``''.__class__``, ``x|attr('__init__')``) stops the
    render at once instead of rendering as nothing: a mail is not sent with a hole in it."""

    def unsafe_undefined(self, obj, attribute):
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


def sandbox() -> MailSandbox:
    """The sandbox a mail template renders in: no autoescape (the text part; the HTML part escapes it), an unknown
    name renders as nothing, the output counted in the render's budget."""
    return MailSandbox(undefined=RecordingUndefined, autoescape=False, finalize=limits.charge_output)


_WHITESPACE = re.compile(r"[ \t\r\n]+")


def render(subject: str, body: str, context: dict) -> tuple[str, str]:
    """(the subject on one line, the text) of a template with ``context`` (plain dicts, lists and strings), in the
    sandbox and its limits. RenderError (French) on a broken template, a forbidden access or a runaway one."""
    subject = _WHITESPACE.sub(" ", _render(subject, context, "Objet")).strip()  # keeps « 500,00 € » non-breaking
    return subject, _render(body, context, "Corps").strip() + "\n"


def _render(source: str, context: dict, part: str) -> str:
    bounds = limits.Limits.from_config()
    try:
        with limits.bounded(bounds):
            return sandbox().from_string(source).render(tracked(context))
    except limits.RenderTimeout:
        seconds = f"{bounds.seconds:g}".replace(".", ",")
        raise RenderError(f"{part} : le modèle a dépassé la durée permise ({seconds} s ; une boucle sans fin ?).") \
            from None
    except TemplateSyntaxError as exc:
        raise RenderError(f"{_where(part, exc.lineno)} : erreur de syntaxe : {syntax_message(exc)}.") from None
    except SecurityError as exc:
        raise RenderError(f"{_where(part, limits.template_line(exc))} : accès interdit (fonctions internes de "
                          "Python) ; seules les variables du catalogue sont utilisables.") from None
    except limits.TEMPLATE_ERRORS as exc:
        reason = next((text or getattr(exc, "message", "") for kind, text in limits.REASONS
                       if isinstance(exc, kind)), "erreur inattendue")
        raise RenderError(f"{_where(part, limits.template_line(exc))} : le modèle ne peut pas être rendu : "
                          f"{reason}.") from None
    except UndefinedError as exc:
        raise RenderError(f"{_where(part, limits.template_line(exc))} : une valeur absente est utilisée comme "
                          "une fonction, une liste ou un nombre.") from None
    except TemplateError as exc:
        raise RenderError(f"{_where(part, limits.template_line(exc))} : instruction impossible à exécuter "
                          f"({type(exc).__name__}).") from None


def _where(part: str, line: int | None) -> str:
    """« Corps, ligne 3 » (a subject is one line: « Objet »)."""
    return f"{part}, ligne {line}" if part != "Objet" and line else part



# --------------------------------------------------------------------------- checking at save time


def check_template(context_code: str, subject: str, body: str) -> list[str]:
    """The problems of a template for ``context_code``, one French line each with its place (empty: valid):
    syntax errors, forbidden constructs, names outside the catalogue, then a render with the catalogue's
    examples."""
    if context_code not in registry.CONTEXTS:
        return [f"Contexte de modèle inconnu : « {context_code} »."]
    known = registry.variable_names(context_code)
    problems: list[str] = []
    for part, source in (("Objet", subject), ("Corps", body)):
        problems += _static_problems(part, source, known)
    if problems:
        return problems
    try:
        render(subject, body, sample_context(context_code))
    except RenderError as exc:
        problems.append(exc.message)
    return problems


def _static_problems(part: str, source: str, known: set[str]) -> list[str]:
    try:
        tree = sandbox().parse(source)
    except TemplateSyntaxError as exc:
        return [f"{_where(part, exc.lineno)} : erreur de syntaxe : {syntax_message(exc)}."]
    found: list[tuple[int, str]] = []
    for line, what in _forbidden(tree):
        found.append((line, f"construction interdite « {what} »"))
    for line, name in _unknown_names(tree, known):
        found.append((line, f"variable inconnue « {name} »"))
    seen: set[tuple[int, str]] = set()
    problems = []
    for line, text in sorted(found, key=lambda item: item[0]):
        if (line, text) not in seen:
            seen.add((line, text))
            problems.append(f"{_where(part, line)} : {text}.")
    return problems


def _forbidden(tree: nodes.Template):
    """(line, construct) of each forbidden construct: an attribute or item starting with "_", a string naming
    one (``|attr('__class__')``, ``map(attribute='_x')``), a statement that reaches other templates."""
    for kind, label in FORBIDDEN_STATEMENTS:
        for node in tree.find_all(kind):
            yield node.lineno, label
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            yield node.lineno, node.attr
    for node in tree.find_all(nodes.Getitem):
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            yield node.lineno, node.arg.value
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        named = [kw.value for kw in node.kwargs if kw.key == "attribute"]
        if node.name in _ATTRIBUTE_FILTERS:
            named += node.args
        for value in named:
            if not isinstance(value, nodes.Const):
                yield node.lineno, f"{node.name}(…)"
            elif str(value.value).startswith("_"):
                yield node.lineno, str(value.value)
    for node in tree.find_all(nodes.Const):
        if isinstance(node.value, str) and "__" in node.value:
            yield node.lineno, node.value[:40]


def _unknown_names(tree: nodes.Template, known: set[str]):
    """(line, dotted name) of each name outside the catalogue. The names the template sets itself ({% set %},
    loop variables, macro arguments) are its own, except that a loop over a catalogue list reads its items'
    names from the catalogue (``{% for t in session.trainers %}{{ t.name }}`` is session.trainers[].name)."""
    own = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    aliases: dict[str, str] = {}
    for loop in tree.find_all(nodes.For):
        path = _path(loop.iter)
        if isinstance(loop.target, nodes.Name) and path is not None and path[0] not in own:
            aliases[loop.target.name] = ".".join(path)
    seen_chains: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if id(node) in seen_chains:
            continue
        for inner in _chain(node):
            seen_chains.add(id(inner))
        path = _path(node)
        if path is None or (isinstance(node, nodes.Name) and node.ctx != "load"):
            continue
        root, rest = path[0], path[1:]
        if root in aliases:
            root = aliases[root]
        elif root in own or root in ALLOWED_GLOBALS:
            continue
        unknown = _first_unknown(root, rest, known)
        if unknown:
            yield node.lineno, unknown


def _chain(node):
    """The nodes of an attribute chain (``a.b['c'].d``), outermost first."""
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        yield node
        node = node.node
    yield node


def _path(node) -> list[str] | None:
    """["session", "trainers", "name"] for ``session.trainers[0].name``; None when it does not start at a name.
    The walk stops at an attribute starting with "_" (refused on its own)."""
    parts: list[str] = []
    for item in _chain(node):
        if isinstance(item, nodes.Getattr):
            parts.append(item.attr)
        elif isinstance(item, nodes.Getitem):
            if isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str):
                parts.append(item.arg.value)
        elif isinstance(item, nodes.Name):
            parts.append(item.name)
        else:
            return None
    parts.reverse()
    cut = next((i for i, part in enumerate(parts) if part.startswith("_")), len(parts))
    return parts[:cut] or None


def _first_unknown(root: str, rest: list[str], known: set[str]) -> str | None:
    """The first name of the chain outside the catalogue; a name past a catalogue leaf is a method or a str
    attribute (``session.title.upper()``), left to the sandbox."""
    current = root
    if current not in known:
        return current
    for part in rest:
        candidate = f"{current}.{part}"
        if candidate in known:
            current = candidate
            continue
        if any(name.startswith(current + ".") for name in known):
            return candidate
        return None
    return None


def sample_context(context_code: str) -> dict:
    """The context built from the catalogue's examples (a list's items: one item), for the test render."""
    context: dict = {}
    for var in registry.CONTEXTS[context_code].catalogue:
        _place(context, var.name.split("."), var.example)
    return context


def _place(node: dict, segments: list[str], example: str) -> None:
    key, is_list = segments[0].removesuffix("[]"), segments[0].endswith("[]")
    if len(segments) == 1:
        if is_list and not isinstance(node.get(key), list):
            node[key] = [example]
        elif key not in node:
            node[key] = example
        return
    if is_list:
        if not isinstance(node.get(key), list) or not node[key] or not isinstance(node[key][0], dict):
            node[key] = [{}]
        _place(node[key][0], segments[1:], example)
    else:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        _place(node[key], segments[1:], example)
