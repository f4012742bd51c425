"""The Jinja sandbox a Word template renders in: unknown names recorded (RecordingUndefined), pictures opaque to the
template, every render bounded by limits.py. Shared by the fast renderer (fastrender.py) and docxtpl's (engine.py)."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from jinja2 import ChainableUndefined
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from ...core.errors import ValidationError
from ...files import safety
from . import limits
from .context import Picture


class Recorder:
    def __init__(self):
        self.missing: list[str] = []


class RecordingUndefined(ChainableUndefined):
    """Renders as nothing, and remembers the name the template asked for (read by validate_template)."""

    recorder: Recorder | None = None

    def __str__(self) -> str:
        self._note()
        return ""

    def __iter__(self):
        self._note()
        return iter(())

    def __bool__(self) -> bool:
        self._note()
        return False

    def _recorder(self) -> Recorder | None:
        return type(self).recorder

    def _note(self) -> None:
        recorder = self._recorder()
        if recorder is not None:
            name = self._undefined_name or "?"
            if self._undefined_obj is not None and not isinstance(self._undefined_obj, ChainableUndefined):
                parent = getattr(self._undefined_obj, "_path", None)
                name = f"{parent}.{name}" if parent else name
            if name not in recorder.missing:
                recorder.missing.append(name)


class Node(dict):
    """A dict of the context that knows its dotted path (for the names of unknown variables)."""

    _path = ""


def tracked(value, path: str = ""):
    if isinstance(value, dict):
        node = Node({k: tracked(v, f"{path}.{k}" if path else k) for k, v in value.items()})
        node._path = path
        return node
    if isinstance(value, list):
        return [tracked(v, f"{path}[]") for v in value]
    return value


class Sandbox(SandboxedEnvironment):
    """The sandbox, where the pictures of the context expose no attribute: docxtpl's InlineImage carries its
    DocxTemplate, whose public methods read files into the document (replace_zipname) and write files
    (save). What a template builds is bounded (documents/rendering/limits.py): the operators *, +, % and ** and ~, the
    filters, the methods it calls, str.format, range() and lipsum(), and the output of a render."""

    opaque: tuple[type, ...] = ()
    intercepted_binops = limits.INTERCEPTED_BINOPS
    code_generator_class = limits.BoundedCodeGenerator

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters = limits.bounded_filters(self.filters)
        self.globals.update(limits.GLOBALS)
        self.concat = limits.concat
        self.checked_join = limits.join_values
        self.watched = limits.watched

    def is_safe_attribute(self, obj, attr: str, value) -> bool:
        return not isinstance(obj, self.opaque) and super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context, operator: str, left, right):
        return limits.binop(operator, left, right, self.binop_table[operator])

    def call(__self, __context, __obj, *args, **kwargs):  # Jinja's signature
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        return limits.call(__context, __obj, args, kwargs)

    def wrap_str_format(self, value):
        return limits.str_format(self, value)


def sandbox(recorder: Recorder | None = None) -> SandboxedEnvironment:
    from docxtpl import InlineImage  # docxtpl and python-docx load only when a template renders (0.4 s)

    undefined = type("BoundUndefined", (RecordingUndefined,), {"recorder": recorder})
    # finalize: what {{ }} outputs counts in the render's budget (a macro or a set block piles it up).
    environment = Sandbox(undefined=undefined, autoescape=False, finalize=limits.charge_output)
    environment.opaque = (InlineImage, Picture)
    return environment


def with_pictures(value, tpl):
    """The context with each Picture as docxtpl's InlineImage of ``tpl`` (for docxtpl's rendering)."""
    from docx.shared import Mm  # python-docx and docxtpl load only when a template renders (0.4 s)
    from docxtpl import InlineImage

    if isinstance(value, Picture):
        return InlineImage(tpl, io.BytesIO(value.data), width=Mm(value.width_mm))
    if isinstance(value, dict):
        node = Node({k: with_pictures(v, tpl) for k, v in value.items()})
        node._path = getattr(value, "_path", "")
        return node
    if isinstance(value, list):
        return [with_pictures(v, tpl) for v in value]
    return value


@dataclass
class Rendered:
    docx: bytes
    missing: list[str] = field(default_factory=list)


class TemplateProblem(ValidationError):
    pass


def check_package(template: bytes) -> None:
    """The checks of an uploaded package (files/safety.py), as a TemplateProblem: for the templates rendered here
    (one stored before those checks, say)."""
    try:
        safety.check_package(template, field="file")
    except ValidationError as exc:
        raise TemplateProblem(exc.message, field="file") from None


def syntax_message(exc: TemplateSyntaxError) -> str:
    """A Jinja syntax error in French (Word and mail templates alike); the original text when unknown."""
    message = str(exc.message or exc)
    translations = [
        (r"(?i)unexpected end of template.*'(end\w+)'", r"balise « {% \1 %} » manquante"),
        (r"(?i)unexpected end of template", r"fin du modèle inattendue (balise non fermée)"),
        (r"Encountered unknown tag '(\w+)'", r"balise inconnue « {% \1 %} »"),
        (r"unexpected '(.+?)'", r"caractère inattendu « \1 »"),
        (r"expected token '(.+?)', got '(.+?)'", r"« \1 » attendu, « \2 » trouvé"),
        (r"No (filter|test) named '(.+?)'", r"filtre ou test inconnu « \2 »"),
    ]
    for pattern, replacement in translations:
        match = re.search(pattern, message)
        if match:
            return match.expand(replacement)
    return message
