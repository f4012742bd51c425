"""Bounds on the rendering of a Word template: what the sandbox lets a template build (sizes checked before they
are built, TEMPLATE_MAX_*), and for how long (TEMPLATE_RENDER_SECONDS, a watchdog). A bound reached raises
TemplateLimit. See docs/templates-sandbox.md."""
from __future__ import annotations

import contextvars
import ctypes
import functools
import inspect
import itertools
import os
import re
import threading
import time
import types
from contextlib import contextmanager
from typing import NamedTuple

from flask import current_app, has_app_context
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import generate_lorem_ipsum
from markupsafe import Markup

from ...config import DEFAULTS
from ...core.formatting import number_fr

INTERCEPTED_BINOPS = frozenset({"*", "+", "%", "**"})
MAX_INT_BITS = 1 << 16  # an integer of 20,000 digits: no document needs more
OUTPUT_SLICE = 1024  # pieces of output counted at a time by ``concat``
WATCH_FROM = 1000  # a loop over fewer items than this has its start only as a safe point
LARGE_OUTPUT = 4096  # characters of one output value from which fastrender charges it
CONTAINER_CHARACTERS = 8
TEXTS = (str, bytes, bytearray)
SEQUENCES = (str, bytes, bytearray, list, tuple)
SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
CONTAINERS = (list, tuple, dict, set, frozenset)


class TemplateLimit(Exception):
    """A bound of the render reached; the message (French) says which."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RenderTimeout(BaseException):
    """A render past its deadline: raised at its next safe point, or by the watchdog in its thread as a last resort.
    A BaseException, so that no ``except Exception`` on its way (Jinja's constant folding, fastrender's preparation)
    swallows it."""


class Limits(NamedTuple):
    seconds: float
    max_size: int
    max_built: int
    max_range: int
    max_output: int

    @classmethod
    def from_config(cls) -> Limits:
        """The application's settings (config.py's defaults outside an application)."""
        config = current_app.config if has_app_context() else DEFAULTS
        return cls(config["TEMPLATE_RENDER_SECONDS"], config["TEMPLATE_MAX_SIZE"], config["TEMPLATE_MAX_BUILT"],
                   config["TEMPLATE_MAX_RANGE"], config["TEMPLATE_MAX_OUTPUT"])


class Budget:
    """What the current render has built so far, and its limits."""

    __slots__ = ("limits", "built", "ranged", "watch")

    def __init__(self, limits: Limits):
        self.limits = limits
        self.built = self.ranged = 0
        self.watch: _Watch | None = None

    def allow(self, size: int, what: str) -> None:
        """Refuse to build ``what`` of ``size`` characters or items: checked before it is built."""
        if size > self.limits.max_size:
            raise TemplateLimit(f"{what} compterait {number_fr(size)} caractères ou éléments "
                                f"({number_fr(self.limits.max_size)} au plus)")
        if self.built + size > self.limits.max_built:
            raise TemplateLimit(f"le modèle construit trop de texte : plus de {number_fr(self.limits.max_built)} "
                                "caractères ou éléments en tout")

    def charge(self, size: int, what: str) -> None:
        """Count what was built (refused beyond the limits, if an estimate fell short)."""
        self.allow(size, what)
        self.built += size


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("template_budget", default=None)


def budget() -> Budget:
    """The current render's budget (RenderTimeout once it is past its deadline: every hook of the sandbox asks for
    it, which makes it a safe point); outside a render (a template compiled alone), a fresh one."""
    found = _BUDGET.get()
    if found is not None and found.watch is not None and found.watch.running:
        if found.watch.expired:
            raise RenderTimeout()
        return found
    return Budget(Limits.from_config())


def watched(iterable):
    """What a template's ``{% for %}`` loops over (BoundedCodeGenerator): its start is a safe point, and each of its
    steps unless it loops over a list, a string or a dict of fewer than WATCH_FROM items (whose steps take little
    time: an inner loop's start is a safe point of its outer loop's step)."""
    found = _BUDGET.get()
    if found is None or found.watch is None or not found.watch.running:
        return iterable
    if found.watch.expired:
        raise RenderTimeout()
    if isinstance(iterable, (list, tuple, str, dict)) and len(iterable) < WATCH_FROM:
        return iterable
    return _watched(iterable, found.watch)


def _watched(iterable, watch: _Watch):
    for item in iterable:
        if watch.expired:
            raise RenderTimeout()
        yield item


@contextmanager
def bounded(limits: Limits | None = None):
    """Run a render within ``limits`` (the settings by default): its budget, and the watchdog's deadline. Inside
    another render, the outer one's budget and deadline hold."""
    outer = _BUDGET.get()
    if outer is not None and outer.watch is not None and outer.watch.running:
        yield outer
        return
    current = Budget(limits or Limits.from_config())
    current.watch = WATCHDOG.start(current.limits.seconds)
    token = _BUDGET.set(current)
    try:
        yield current
    finally:
        try:
            WATCHDOG.stop(current.watch)
        finally:
            _BUDGET.reset(token)


# --------------------------------------------------------------------------- the watchdog


GRACE_SECONDS = 1.0  # after the deadline, before the watchdog interrupts a render that reached no safe point


class _Watch:
    __slots__ = ("thread_id", "deadline", "running", "expired", "fired")

    def __init__(self, seconds: float):
        self.thread_id = threading.get_ident()
        self.deadline = time.monotonic() + seconds
        self.running, self.expired, self.fired = True, False, False


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Raise ``exception`` in the thread as soon as it runs Python code again (None: cancel one pending)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exception) if exception is not None else None)


class Watchdog:
    """One thread for every render of the process. At a render's deadline it marks it expired (the render stops at
    its next safe point); GRACE_SECONDS later, if the render still runs, it raises RenderTimeout in its thread.
    Firing and stopping take the same lock, so a render that has stopped is never interrupted; a render that stops
    as it is fired cancels the pending exception and raises RenderTimeout itself. The rendering thread only takes
    that lock with ``with``, which an asynchronous exception cannot leave held."""

    TICK = 0.02  # seconds between two looks at the deadlines while renders run

    def __init__(self):
        self._lock = threading.Lock()
        self._active: dict[int, _Watch] = {}
        self._wake = threading.Event()
        self._idle = False
        self._thread: threading.Thread | None = None

    def start(self, seconds: float) -> _Watch:
        watch = _Watch(seconds)
        with self._lock:
            self._active[id(watch)] = watch
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="template-watchdog", daemon=True)
                self._thread.start()
        if self._idle:
            self._wake.set()
        return watch

    def stop(self, watch: _Watch) -> None:
        """The render is over: RenderTimeout if it went past its deadline, whether or not it noticed."""
        with self._lock:
            watch.running = False
            self._active.pop(id(watch), None)
            fired, expired = watch.fired, watch.expired
        if fired:
            _raise_in(watch.thread_id, None)
        if expired:
            raise RenderTimeout()

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                for key, watch in list(self._active.items()):
                    if watch.deadline + GRACE_SECONDS <= now:
                        del self._active[key]
                        watch.running, watch.expired, watch.fired = False, True, True
                        _raise_in(watch.thread_id, RenderTimeout)
                    elif watch.deadline <= now:
                        watch.expired = True
                idle = self._idle = not self._active
            if idle:
                self._wake.wait(1.0)
                self._wake.clear()
            else:
                time.sleep(self.TICK)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._active = {}
        self._wake = threading.Event()
        self._idle = False
        self._thread = None


WATCHDOG = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG._after_fork)


# --------------------------------------------------------------------------- operators, ~ and output


def _size(value) -> int:
    return len(value) if isinstance(value, SIZED) else 1


def _charge(result, current: Budget, what: str = "le résultat") -> None:
    if isinstance(result, SIZED):
        current.charge(len(result), what)


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimit(f"le modèle calcule un nombre démesuré (plus de {number_fr(MAX_INT_BITS)} bits)")


def binop(operator: str, left, right, perform):
    """``left operator right`` for the intercepted operators, sized before it is computed."""
    current = budget()
    if operator == "*":
        if isinstance(left, SEQUENCES) and isinstance(right, int):
            current.allow(len(left) * max(right, 0), "le résultat de « * »")
        elif isinstance(right, SEQUENCES) and isinstance(left, int):
            current.allow(len(right) * max(left, 0), "le résultat de « * »")
        elif isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length())
    elif operator == "+":
        if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
            current.allow(len(left) + len(right), "le résultat de « + »")
    elif operator == "%":
        if isinstance(left, TEXTS):
            check_percent(left, right, current)
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _check_bits((abs(left).bit_length() - 1) * right)
    result = perform(left, right)
    _charge(result, current)
    return result


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def check_percent(template, values, current: Budget) -> None:
    """Size ``template % values`` before it is built: the template, each field's width and precision, the texts it
    inserts."""
    text = template if isinstance(template, str) else bytes(template).decode("latin-1")
    mapping = values if isinstance(values, dict) else None
    args = values if isinstance(values, tuple) else (values,)
    index, size = 0, len(text)
    for match in _PERCENT.finditer(text):
        key, width, precision, conversion = match.groups()
        if conversion == "%":
            continue
        for number in (width, precision):
            if number == "*":
                star = args[index] if index < len(args) else 0
                index += 1
                size += abs(star) if isinstance(star, int) else 0
            elif number:
                size += int(number)
        if key is not None:
            value = mapping.get(key) if mapping is not None else None
        else:
            value = args[index] if index < len(args) else None
            index += 1
        if isinstance(value, SIZED):
            size += len(value) * (1 if isinstance(value, TEXTS) else 4)
    current.allow(size, "le texte mis en forme par « % » ou format")


def join_values(join, values: tuple):
    """The ``~`` operator (Jinja's Concat: ``join`` is markup_join or str_join), sized before it is built."""
    current = budget()
    current.allow(sum(len(value) for value in values if isinstance(value, str)), "le texte assemblé par « ~ »")
    result = join(values)
    current.charge(len(result), "le texte assemblé par « ~ »")
    return result


def concat(pieces) -> str:
    """Environment.concat: what a render, a macro or a block outputs, joined; refused beyond TEMPLATE_MAX_OUTPUT
    characters. The pieces are counted OUTPUT_SLICE at a time, and joined once all are counted: the same static
    text repeated by a loop is never joined before it is counted."""
    limit = budget().limits.max_output
    iterator, islice = iter(pieces), itertools.islice
    piece = list(islice(iterator, OUTPUT_SLICE))
    size = sum(map(len, piece))
    collected = piece
    while len(piece) == OUTPUT_SLICE and size <= limit:
        piece = list(islice(iterator, OUTPUT_SLICE))
        size += sum(map(len, piece))
        collected += piece
    if size > limit:
        raise TemplateLimit(f"le texte produit dépasse {number_fr(limit)} caractères")
    return "".join(collected)


def charge_output(value, free: int = 0):
    """What ``{{ }}`` outputs counts in the budget: every text for docxtpl's rendering (Environment.finalize; inside
    a macro or a ``{% set %}`` block it piles up before ``concat`` sees it), the texts of more than LARGE_OUTPUT
    characters for fastrender's (``free``), whose output goes straight to ``concat``. A list or a dict is output
    as its repr: counted as CONTAINER_CHARACTERS characters an item."""
    if isinstance(value, str):
        if len(value) > free:
            budget().charge(len(value), "le texte produit")
    elif isinstance(value, CONTAINERS) and len(value) * CONTAINER_CHARACTERS > free:
        budget().charge(len(value) * CONTAINER_CHARACTERS, "le texte produit")
    return value


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``~`` sized before it joins (environment.checked_join), and what a
    ``{% for %}`` loops over passed through ``watched`` (environment.watched, called directly, not through the
    sandbox's call), so that its steps are safe points."""

    def visit_For(self, node, frame) -> None:
        if not getattr(node.iter, "watched_loop", False):
            call = nodes.Call(nodes.EnvironmentAttribute("watched"), [node.iter], [], None, None,
                              lineno=node.iter.lineno).set_environment(self.environment)
            call.watched_loop = True
            node.iter = call
        super().visit_For(node, frame)

    def visit_Call(self, node, frame, forward_caller: bool = False) -> None:
        if getattr(node, "watched_loop", False):
            self.write("environment.watched(")
            self.visit(node.args[0], frame)
            self.write(")")
        else:
            super().visit_Call(node, frame, forward_caller=forward_caller)

    @optimizeconst
    def visit_Concat(self, node, frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.checked_join({join}, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


# --------------------------------------------------------------------------- globals


def budgeted_range(*args) -> range:
    """range(), counted against TEMPLATE_MAX_RANGE numbers per render."""
    numbers = range(*args)
    current = budget()
    current.ranged += len(numbers)
    if current.ranged > current.limits.max_range:
        raise TemplateLimit(f"range() produit trop de nombres : plus de {number_fr(current.limits.max_range)} en "
                            "tout pour ce document (boucles imbriquées comprises)")
    return numbers


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 - Jinja's names
    budget().allow(n * max * 12 if isinstance(n, int) and isinstance(max, int) else 0, "le faux texte de lipsum()")
    return generate_lorem_ipsum(n, html, min, max)


GLOBALS = {"range": budgeted_range, "lipsum": bounded_lipsum}


# --------------------------------------------------------------------------- filters


def _int(value) -> int:
    return value if isinstance(value, int) else 0


def _materialised(iterable, current: Budget, what: str):
    """``iterable`` as a list of at most TEMPLATE_MAX_SIZE items (a list or a tuple as it is)."""
    if isinstance(iterable, (list, tuple, str)):
        return iterable
    items = list(itertools.islice(iter(iterable), current.limits.max_size + 1))
    current.allow(len(items), what)
    return items


def _joined_size(items, separator) -> int:
    texts = sum(len(item) for item in items if isinstance(item, TEXTS))
    return texts + (len(separator) if isinstance(separator, TEXTS) else 0) * max(len(items) - 1, 0)


def _replaced_size(text, old, new, count) -> int:
    text, old, new = str(text), str(old), str(new)
    found = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _f_center(current, a):
    value = a["value"]
    current.allow(max(_int(a["width"]), len(value) if isinstance(value, str) else 0), "le résultat du filtre center")


def _f_indent(current, a):
    text, width = a["s"], a["width"]
    if isinstance(text, str):
        per_line = len(width) if isinstance(width, str) else _int(width)
        current.allow(len(text) + (text.count("\n") + 1) * max(per_line, 0), "le résultat du filtre indent")


def _f_wordwrap(current, a):
    text, width = a["s"], _int(a["width"])
    if isinstance(text, str):
        breaks = len(text) // max(width, 1) + 1
        current.allow(len(text) + breaks * len(a["wrapstring"] or "\n"), "le résultat du filtre wordwrap")


def _f_truncate(current, a):
    if isinstance(a["s"], str):
        kept = min(len(a["s"]), max(_int(a["length"]), 0))
        current.allow(kept + len(str(a["end"])), "le résultat du filtre truncate")


def _f_format(current, a):
    if isinstance(a["value"], str):
        check_percent(a["value"], a["kwargs"] or a["args"], current)


def _f_replace(current, a):
    current.allow(_replaced_size(a["s"], a["old"], a["new"], a["count"]), "le résultat du filtre replace")


def _f_join(current, a):
    a["value"] = _materialised(a["value"], current, "le résultat du filtre join")
    if a["attribute"] is None:
        current.allow(_joined_size(a["value"], a["d"]), "le résultat du filtre join")


def _f_batch(current, a):
    current.allow(_int(a["linecount"]), "le résultat du filtre batch")


def _f_slice(current, a):
    current.allow(_int(a["slices"]), "le résultat du filtre slice")


def _f_list(current, a):
    a["value"] = _materialised(a["value"], current, "le résultat du filtre list")


# Filters whose parameters set the size of what they build: checked with their arguments by name first.
FILTER_CHECKS = {"center": _f_center, "indent": _f_indent, "wordwrap": _f_wordwrap, "truncate": _f_truncate,
                 "format": _f_format, "replace": _f_replace, "join": _f_join, "batch": _f_batch, "slice": _f_slice,
                 "list": _f_list}


def _bounded_filter(name: str, function):
    check = FILTER_CHECKS.get(name)
    signature = inspect.signature(function) if check is not None else None
    # Jinja's async variants (list, slice…) take the evaluation context their sync function, whose signature
    # inspect reports, does not: it is left out of the binding.
    skip = int(getattr(function, "jinja_pass_arg", None) is not None
               and getattr(inspect.unwrap(function), "jinja_pass_arg", None) is None)

    @functools.wraps(function)  # keeps jinja_pass_arg: Jinja still passes the environment or the context
    def bounded_filter(*args, **kwargs):
        if check is not None:
            bound = signature.bind(*args[skip:], **kwargs)
            bound.apply_defaults()
            check(budget(), bound.arguments)
            args, kwargs = args[:skip] + bound.args, bound.kwargs
        result = function(*args, **kwargs)
        if isinstance(result, SIZED) and len(result) > LARGE_OUTPUT:
            budget().charge(len(result), f"le résultat du filtre {name}")
        return result

    return bounded_filter


_FILTERS: dict = {}


def bounded_filters(filters: dict) -> dict:
    """The environment's filters, each charging what it builds beyond LARGE_OUTPUT characters or items (what it
    builds in a loop piles up only through what lists and outputs keep, which are charged), the ones of
    FILTER_CHECKS checked first."""
    for name, function in filters.items():
        if _FILTERS.get(name, (None,))[0] is not function:
            _FILTERS[name] = (function, _bounded_filter(name, function))
    return {name: _FILTERS[name][1] for name in filters}


# --------------------------------------------------------------------------- calls and str.format


def _text_method(name: str):
    what = f"le résultat de {name}()"

    def check(current, owner, args, kwargs):
        if name in ("ljust", "rjust", "center", "zfill"):
            width = args[0] if args else kwargs.get("width", 0)
            current.allow(max(_int(width), len(owner)), what)
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            tab = "\t" if isinstance(owner, str) else b"\t"
            current.allow(len(owner) + owner.count(tab) * max(_int(size), 0), what)
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], TEXTS):
            count = args[2] if len(args) > 2 else kwargs.get("count", -1)
            found = len(owner) + 1 if not args[0] else owner.count(args[0])
            found = min(found, count) if isinstance(count, int) and count >= 0 else found
            current.allow(len(owner) + found * max(_size(args[1]) - len(args[0]), 0), what)
        elif name == "join" and args:
            items = _materialised(args[0], current, what)
            current.allow(_joined_size(items, owner), what)
            args = (items,) + tuple(args[1:])
        elif name == "translate" and args:
            table = args[0]
            values = table.values() if isinstance(table, dict) else table if isinstance(table, (list, tuple)) else ()
            longest = max((len(v) for v in values if isinstance(v, TEXTS)), default=1)
            current.allow(len(owner) * max(longest, 1), what)
        return args, kwargs

    return check


def _list_method(name: str):
    what = f"le résultat de {name}()"

    def check(current, owner, args, kwargs):
        if name in ("append", "insert") and args:
            current.allow(len(owner) + 1, what)
            current.charge(_size(args[-1]), what)
        elif name == "extend" and args:
            items = _materialised(args[0], current, what)
            current.allow(len(owner) + len(items), what)
            current.charge(sum(_size(item) for item in items), what)
            args = (items,)
        return args, kwargs

    return check


def _dict_method(name: str):
    what = f"le résultat de {name}()"

    def check(current, owner, args, kwargs):
        if name == "update":
            added = [_materialised(args[0].items() if isinstance(args[0], dict) else args[0], current, what)] \
                if args else []
            current.allow(len(owner) + sum(len(a) for a in added) + len(kwargs), what)
            args = tuple(added)
        elif name == "setdefault" and args:
            current.allow(len(owner) + 1, what)
            current.charge(_size(args[-1]), what)
        return args, kwargs

    return check


def _int_method(name: str):
    what = f"le résultat de {name}()"

    def check(current, owner, args, kwargs):
        if name == "to_bytes":
            current.allow(_int(args[0] if args else kwargs.get("length", 1)), what)
        return args, kwargs

    return check


METHOD_CHECKS = (
    (TEXTS, {name: _text_method(name) for name in ("ljust", "rjust", "center", "zfill", "expandtabs", "replace",
                                                   "join", "translate")}),
    (list, {name: _list_method(name) for name in ("append", "insert", "extend")}),
    (dict, {name: _dict_method(name) for name in ("update", "setdefault")}),
    (int, {"to_bytes": _int_method("to_bytes")}),
)
_METHOD_TYPES = (types.BuiltinMethodType, types.MethodType)


def call(context, function, args: tuple, kwargs: dict):
    """What a template calls (SandboxedEnvironment.call, once the callable is known to be safe): a method whose
    arguments set the size of what it builds is checked first, and what any call builds is charged."""
    current = budget()
    if isinstance(function, _METHOD_TYPES):
        owner = function.__self__
        for kinds, checks in METHOD_CHECKS:
            if isinstance(owner, kinds):
                check = checks.get(function.__name__)
                if check is not None:
                    args, kwargs = check(current, owner, args, kwargs)
                break
    result = context.call(function, *args, **kwargs)
    _charge(result, current)
    return result


_SPEC_NUMBERS = re.compile(r"\d+")


class _Sized:
    """What makes a str.format bounded: the format string, and for each field its width, its precision and the text
    it inserts, added up before the field is formatted."""

    def vformat(self, format_string, args, kwargs):
        self._budget = budget()
        self._size = len(format_string)
        self._budget.allow(self._size, "le texte mis en forme par format()")
        result = super().vformat(format_string, args, kwargs)
        self._budget.charge(len(result), "le texte mis en forme par format()")
        return result

    def format_field(self, value, format_spec):
        self._size += max((int(n) for n in _SPEC_NUMBERS.findall(format_spec)), default=0)
        self._size += len(value) if isinstance(value, TEXTS) else 0
        self._budget.allow(self._size, "le texte mis en forme par format()")
        return super().format_field(value, format_spec)


class BoundedFormatter(_Sized, SandboxedFormatter):
    pass


class BoundedEscapeFormatter(_Sized, SandboxedEscapeFormatter):
    pass


def str_format(environment, value):
    """SandboxedEnvironment.wrap_str_format with the bounded formatters: ``value`` if it is a str.format or
    str.format_map method, wrapped; else None."""
    if not isinstance(value, _METHOD_TYPES) or value.__name__ not in ("format", "format_map"):
        return None
    owner = value.__self__
    if not isinstance(owner, str):
        return None
    if isinstance(owner, Markup):
        formatter = BoundedEscapeFormatter(environment, escape=owner.escape)
    else:
        formatter = BoundedFormatter(environment)
    is_map = value.__name__ == "format_map"

    def wrapper(*args, **kwargs):
        if is_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            args, kwargs = (), args[0]
        return type(owner)(formatter.vformat(owner, args, kwargs))

    return functools.update_wrapper(wrapper, value)


# --------------------------------------------------------------------------- what the user is told


# The errors a template can raise itself while it renders, and what they mean.
REASONS = (
    (TemplateLimit, None),
    (ZeroDivisionError, "division par zéro"),
    (OverflowError, "nombre trop grand pour être calculé"),
    (RecursionError, "appels imbriqués trop profonds (une macro qui s'appelle elle-même ?)"),
    (MemoryError, "mémoire insuffisante pour ce calcul"),
    (ArithmeticError, "calcul impossible"),
    (TypeError, "opération impossible sur ces valeurs (types incompatibles)"),
    (UnicodeError, "texte dans un encodage impossible"),
    (ValueError, "valeur invalide pour cette opération"),
    (LookupError, "élément absent d'une liste ou d'un dictionnaire"),
    (SyntaxError, "le texte produit n'est pas un document Word valide, ou une expression est trop complexe"),
)
TEMPLATE_ERRORS = tuple(kind for kind, _ in REASONS)
_PARAGRAPH_START = re.compile(r"<w:p(?=[ >])")


class RenderFailure(Exception):
    """A template's own error while it rendered, told in French (``message``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @classmethod
    def of(cls, exc: BaseException, part: str | None) -> RenderFailure:
        reason = next((text or getattr(exc, "message", "") for kind, text in REASONS if isinstance(exc, kind)),
                      "erreur inattendue")
        where = where_in(part, template_line(exc))
        return cls(f"Le modèle ne peut pas être rendu : {reason}{f' ({where})' if where else ''}.")


def template_line(exc: BaseException) -> int | None:
    """The template line an error was raised at (Jinja rewrites the traceback to the template's lines)."""
    line, trace = None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def where_in(part: str | None, line: int | None) -> str:
    """"corps du document, vers le paragraphe n° 3": a template's source has a line break before each paragraph
    (docxtpl puts one; fastrender an empty comment holding one), so that line N is in paragraph N - 1."""
    places = []
    if part:
        base = part.rsplit("/", 1)[-1]
        places.append("corps du document" if base.startswith("document") else
                      f"en-tête {base}" if base.startswith("header") else
                      f"pied de page {base}" if base.startswith("footer") else
                      "notes de bas de page" if base.startswith("footnotes") else f"partie {part}")
    if line is not None and line > 1:
        places.append(f"vers le paragraphe n° {line - 1}")
    return ", ".join(places)


def numbered(tokens) -> str:
    """The source of Jinja's ``tokens`` (tokeniter) with an empty comment holding a line break before each
    paragraph (``<w:p``) of its text (not inside a tag nor a raw block), as docxtpl puts a bare line break there:
    the output is unchanged, and a line number is a paragraph number."""
    pieces, raw = [], False
    for _, kind, value in tokens:
        if kind == "raw_begin":
            raw = True
        elif kind == "raw_end":
            raw = False
        elif kind == "data" and not raw:
            value = _PARAGRAPH_START.sub("{#\n#}<w:p", value)
        pieces.append(value)
    return "".join(pieces)

