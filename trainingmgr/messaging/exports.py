"""The CSV and XLSX exports whose size grows with the history (survey results, the improvement actions, the
complaints register, the sales journal, the BPF), made by a task rather than inside the request.

Each domain registers its exporter here by name (``@exporter(name, parse)``), as it registers its job handlers:

- ``parse(args, actor) -> dict`` reads the export's parameters (the page's filters, as strings) and refuses bad
  ones at once (a ``DomainError`` in French: 400/404/422 before any task starts); what it returns is stored in
  the task and must be JSON (ints, strings, lists);
- ``build(params, actor, rows) -> Built`` makes the file; it passes its rows through ``rows(…)``, which counts
  them on the task's progress every ``ROWS_PER_STEP`` rows.

A page's export button posts to the domain's export route, which calls ``start_export`` and shows the task's
page; the worker runs it (``run_export``) and the page offers the file. ``flask exports run NAME --param k=v
--out FILE`` runs the same exporter in the terminal with the same progress.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..core.errors import NotFoundError
from . import tasks

TASK_KIND = "export"
ROWS_PER_STEP = 200
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Built:
    """The file an exporter made."""

    data: bytes
    filename: str
    content_type: str


@dataclass(frozen=True)
class Exporter:
    name: str
    label: Callable[[dict], str]  # the task's label, from the parsed parameters
    parse: Callable[[Mapping[str, str], object], dict]
    build: Callable[[dict, object, "Rows"], Built]


EXPORTERS: dict[str, Exporter] = {}


def exporter(name: str, label: Callable[[dict], str], parse: Callable[[Mapping[str, str], object], dict]):
    """Register ``build(params, actor, rows) -> Built`` as the export ``name``."""

    def register(build):
        EXPORTERS[name] = Exporter(name, label, parse, build)
        return build

    return register


def get_exporter(name: str) -> Exporter:
    found = EXPORTERS.get(name)
    if found is None:
        raise NotFoundError(f"Export inconnu : « {name} ».")
    return found


class Rows:
    """Counts the rows an exporter writes on a progress (a task's, or the terminal's): ``rows(list)`` announces
    their number, then yields them, advancing every ``every`` rows."""

    def __init__(self, progress, every: int | None = None):
        self.progress = progress
        self.every = max(int(every or ROWS_PER_STEP), 1)

    def __call__(self, rows: Iterable, step: str = "Écriture des lignes") -> Iterable:
        rows = list(rows)
        self.progress.begin(len(rows), step)
        pending = 0
        for row in rows:
            yield row
            pending += 1
            if pending == self.every:
                self.progress.advance(step, by=pending)
                pending = 0
        if pending:
            self.progress.advance(step, by=pending)


def start_export(name: str, args: Mapping[str, str], actor, back_url: str = ""):
    """Check the export's parameters at once (their refusal is the request's answer) and queue its task. The
    caller commits."""
    found = get_exporter(name)
    params = found.parse(args, actor)
    return tasks.start_task(TASK_KIND, found.label(params)[:200], {"exporter": name, "params": params}, actor,
                            unit="lignes", back_url=back_url)


def export_response(name: str, args: Mapping[str, str], actor, back_url: str = ""):
    """For an export route: start the export, commit, and send the user to the task's page (303)."""
    from flask import redirect, url_for

    from ..extensions import db

    task = start_export(name, args, actor, back_url)
    db.session.commit()
    return redirect(url_for("tasks.show", task_id=task.id), 303)


def build_export(name: str, params: dict, actor, progress) -> Built:
    """Make the export's file with ``progress`` (a task's or the terminal's)."""
    progress.begin(0, "Lecture des données")
    return get_exporter(name).build(params, actor, Rows(progress))


@tasks.task_runner(TASK_KIND)
def run_export(task, progress) -> tasks.TaskFile:
    from ..accounts.models import User
    from ..extensions import db

    name = (task.payload or {}).get("exporter", "")
    if name not in EXPORTERS:
        raise tasks.TaskFailed(f"Cet export (« {name} ») n'existe plus.")
    actor = db.session.get(User, task.actor_id) if task.actor_id else None
    if actor is None or not actor.is_active:
        raise tasks.TaskFailed("Le compte qui a demandé cet export n'existe plus ou est désactivé.")
    built = build_export(name, task.payload.get("params") or {}, actor, progress)
    return tasks.TaskFile(built.data, built.filename, built.content_type)
