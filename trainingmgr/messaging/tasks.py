"""Long pieces of work run by the worker outside the request, with their progress and the file they produce.

A view starts a task (``start_task``), the worker runs it (``run_queued_tasks``), a runner is registered with
``@task_runner(kind)``. See docs/messaging.md for the runner's contract and the guarantees."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from ..core.errors import ConflictError, DomainError, NotFoundError, PermissionDenied
from ..core.formatting import count_fr, date_fr
from ..core.persistence import get_by_id
from ..core.timeutil import utcnow
from ..extensions import db
from .models import FINISHED_TASKS, TASK_STATUSES, UNFINISHED_TASKS, Task, TaskStatus

log = logging.getLogger(__name__)

# A running task whose heartbeat is older than this (seconds) is taken as interrupted (config TASK_STALE_SECONDS).
TASK_STALE_SECONDS = 120
# Runs of one task before an interruption fails it: the first run and one more.
MAX_TASK_ATTEMPTS = 2
# The file kind (files/services.KINDS) of the tasks' results.
RESULT_KIND = "export"

INTERRUPTED_ERROR = "Traitement interrompu (le serveur s'est arrêté) : relancez-le."
FAILED_ERROR = "Le traitement a échoué : {reason}"
UNKNOWN_KIND_ERROR = "Ce type de traitement (« {kind} ») n'est plus pris en charge."
# The attempts already spent when the task was last started afresh (« Relancer »): the interruption rule counts the
# runs since then. Attempts themselves only grow, so that a run never mistakes a later run's claim for its own.
BASE_KEY = "_base_attempts"
# When the hourly sweep deleted the task's result file (ISO 8601, UTC), in the payload: the page says so.
PURGED_KEY = "_result_purged_at"
# Days a finished task's file is kept (config TASK_RESULT_DAYS).
TASK_RESULT_DAYS = 7
PURGED_NOTICE = ("Fichier supprimé le {day} (conservé {days}) : relancez le traitement pour le produire à "
                 "nouveau.")
DEFAULT_UNIT = "éléments"

_RUNNERS: dict[str, Callable] = {}


class ResultGone(DomainError):
    """The task's file was deleted after TASK_RESULT_DAYS (410)."""

    status_code = 410
    code = "gone"


class TaskFailed(Exception):  # noqa: N818 - the runner's way to fail its task with a French sentence
    """Raised by a runner: the task fails with this French sentence, shown as it is."""


class _TaskLost(Exception):  # noqa: N818
    """This run no longer owns its task (it was declared interrupted and taken again): stop quietly."""


class _Stopped(Exception):  # noqa: N818
    """The worker was asked to stop (Ctrl-C, SIGTERM): the task goes back to the queue at once."""


@dataclass(frozen=True)
class TaskFile:
    """The file a runner produced, offered for download once the task is done."""

    data: bytes
    filename: str
    content_type: str


class Progress:
    """What a runner reports as it goes; each call writes the figures, the heartbeat, and commits."""

    def __init__(self, task: Task, attempt: int, echo: Callable[[Task], None] | None = None,
                 stop: Callable[[], bool] | None = None):
        self.task = task
        self.task_id = task.id
        self.attempt = attempt
        self.echo = echo
        self.stop = stop
        self.done = 0
        self.total = 0
        self.step = ""
        self.summary = ""

    def conclude(self, summary: str) -> None:
        """The sentence the page shows once the task is done (« 8 convocations envoyées… »); written with the
        outcome, in the commit that marks the task done."""
        self.summary = summary or ""

    def begin(self, total: int, step: str = "") -> None:
        """Announce how many items there are (and the first step); commits."""
        self.total = max(int(total), 0)
        self.done = 0
        self.step = step or ""
        self._write()

    def advance(self, step: str = "", by: int = 1) -> None:
        """Count ``by`` more items done and name the next step; commits the runner's work with the count."""
        self.done += by
        if self.total and self.done > self.total:
            self.total = self.done
        self.step = step or ""
        self._write()

    def _write(self) -> None:
        if self.stop is not None and self.stop():
            raise _Stopped()
        owned = db.session.execute(
            update(Task)
            .where(Task.id == self.task_id, Task.status == TaskStatus.RUNNING.value, Task.attempts == self.attempt)
            .values(done=self.done, total=self.total, step=self.step[:200], heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if not owned:
            raise _TaskLost()
        db.session.commit()
        if self.echo is not None:
            self.echo(self.task)


def task_runner(kind: str):
    """Register ``fn(task, progress) -> TaskFile | None`` as the runner of the tasks of ``kind``."""

    def register(fn):
        _RUNNERS[kind] = fn
        return fn

    return register


def start_task(kind: str, label: str, payload: dict, actor, *, unit: str = DEFAULT_UNIT,
               back_url: str = "") -> Task:
    """Queue a task for the worker; adds and flushes it, the caller commits (then shows ``tasks.show``)."""
    if kind not in _RUNNERS:
        raise LookupError(f"no runner registered for task kind {kind!r}")
    task = Task(kind=kind, label=(label or kind)[:200], payload=dict(payload or {}), status=TaskStatus.QUEUED.value,
                unit=(unit or DEFAULT_UNIT)[:40],
                actor_id=getattr(actor, "id", actor), back_url=(back_url or "")[:300])
    db.session.add(task)
    db.session.flush()
    return task


def unit_of(task: Task) -> str:
    """The word the counts of ``task`` are in (« documents »)."""
    return task.unit or DEFAULT_UNIT


# --------------------------------------------------------------------------- running


def claim_task(task_id: int) -> int | None:
    """Take a queued task for this run, committed (UPDATE … WHERE status = 'queued': one taker only) with
    whatever the session holds (a task just started by the command line is never seen queued by a worker).
    The attempt number this run owns, or None if another run took it first or it is not queued."""
    attempts = db.session.scalar(
        select(Task.attempts).where(Task.id == task_id, Task.status == TaskStatus.QUEUED.value))
    if attempts is None:
        db.session.rollback()
        return None
    now = utcnow()
    claimed = db.session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.QUEUED.value, Task.attempts == attempts)
        .values(status=TaskStatus.RUNNING.value, attempts=attempts + 1, started_at=now, heartbeat_at=now,
                finished_at=None, done=0, total=0, step="", error="")
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return attempts + 1 if claimed else None


def run_task(task_id: int, echo: Callable[[Task], None] | None = None, *,
             stop: Callable[[], bool] | None = None) -> Task:
    """Claim the task and run it now in this process (the worker, the command line, tests); ``echo(task)`` is
    called after each begin/advance. A task another run holds, or already finished, is returned untouched.
    ``stop()`` (the worker's Ctrl-C) is asked at each step: when true, the task goes back to the queue."""
    attempt = claim_task(task_id)
    if attempt is not None:
        _run_claimed(task_id, attempt, echo, stop)
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFoundError("Ce traitement n'existe pas.")
    return task


def _run_claimed(task_id: int, attempt: int, echo, stop) -> None:
    task = db.session.get(Task, task_id, populate_existing=True)
    kind = task.kind
    progress = Progress(task, attempt, echo, stop)
    try:
        runner = _RUNNERS.get(kind)
        if runner is None:
            raise TaskFailed(UNKNOWN_KIND_ERROR.format(kind=kind))
        result = runner(task, progress)
        _finish(task_id, attempt, result, progress.summary)
    except _TaskLost:
        db.session.rollback()
        log.warning("Traitement %s (%s) repris par un autre passage : cette exécution s'arrête", task_id, kind)
    except _Stopped:
        db.session.rollback()
        _requeue(task_id, attempt)
        log.info("Traitement %s (%s) remis en file : le worker s'arrête", task_id, kind)
    except TaskFailed as failure:
        db.session.rollback()
        _fail(task_id, attempt, str(failure) or FAILED_ERROR.format(reason="raison inconnue"))
    except DomainError as refusal:  # a service's refusal: its French message says what went wrong
        db.session.rollback()
        _fail(task_id, attempt, FAILED_ERROR.format(reason=refusal.message))
    except Exception as exc:
        db.session.rollback()
        log.exception("Le traitement %s (%s) a échoué", task_id, kind)
        _fail(task_id, attempt, FAILED_ERROR.format(reason=_describe(exc)))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__} : {text}" if text else type(exc).__name__


def _finish(task_id: int, attempt: int, result: TaskFile | None, summary: str = "") -> None:
    """Store the result and the summary and mark the task done, in one commit."""
    from ..files import services as file_services

    values = {"status": TaskStatus.DONE.value, "finished_at": utcnow(), "heartbeat_at": utcnow(), "step": "",
              "error": "", "summary": summary}
    if result is not None:
        stored = file_services.store_bytes(result.data, result.filename, RESULT_KIND)
        if result.content_type:
            stored.content_type = result.content_type[:120]
        db.session.flush()
        values.update(result_file_id=stored.id, result_name=stored.original_name)
    owned = db.session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.RUNNING.value, Task.attempts == attempt)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not owned:
        raise _TaskLost()
    db.session.execute(update(Task).where(Task.id == task_id, Task.total < Task.done)
                       .values(total=Task.done).execution_options(synchronize_session=False))
    db.session.commit()


def _requeue(task_id: int, attempt: int) -> None:
    """Back to the queue after a stop asked for: this run does not count against the interruption rule."""
    payload = db.session.scalar(select(Task.payload).where(Task.id == task_id))
    db.session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.RUNNING.value, Task.attempts == attempt)
        .values(status=TaskStatus.QUEUED.value, step="", heartbeat_at=None,
                payload={**(payload or {}), BASE_KEY: attempt})
        .execution_options(synchronize_session=False))
    db.session.commit()


def fail_task(task_id: int, error: str) -> None:
    """Fail a queued or running task from outside its run (the command line's Ctrl-C), committed."""
    db.session.rollback()
    db.session.execute(
        update(Task).where(Task.id == task_id, Task.status.in_(UNFINISHED_TASKS))
        .values(status=TaskStatus.FAILED.value, error=error[:2000], finished_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()


def _fail(task_id: int, attempt: int, error: str) -> None:
    db.session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.RUNNING.value, Task.attempts == attempt)
        .values(status=TaskStatus.FAILED.value, error=error[:2000], finished_at=utcnow(), result_file_id=None,
                result_name="")
        .execution_options(synchronize_session=False))
    db.session.commit()


def stale_seconds() -> int:
    return int(current_app.config.get("TASK_STALE_SECONDS") or TASK_STALE_SECONDS)


def interrupt_stale_tasks(now: dt.datetime | None = None) -> tuple[int, int]:
    """Running tasks silent for ``TASK_STALE_SECONDS``: queued again after their first run, failed after the
    second (committed). Returns (queued again, failed)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=stale_seconds())
    stale = db.session.execute(select(Task.id, Task.attempts, Task.payload)
                               .where(Task.status == TaskStatus.RUNNING.value, Task.heartbeat_at < cutoff)).all()
    requeued = failed = 0
    for task_id, attempts, payload in stale:
        runs = attempts - int((payload or {}).get(BASE_KEY) or 0)
        values = ({"status": TaskStatus.QUEUED.value, "step": "", "heartbeat_at": None} if runs < MAX_TASK_ATTEMPTS
                  else {"status": TaskStatus.FAILED.value, "error": INTERRUPTED_ERROR, "finished_at": now})
        # Conditioned on what was read: a run that wrote its heartbeat meanwhile keeps its task.
        changed = db.session.execute(
            update(Task).where(Task.id == task_id, Task.status == TaskStatus.RUNNING.value, Task.attempts == attempts,
                               Task.heartbeat_at < cutoff)
            .values(**values).execution_options(synchronize_session=False)).rowcount == 1
        if changed:
            requeued += values["status"] == TaskStatus.QUEUED.value
            failed += values["status"] == TaskStatus.FAILED.value
            log.warning("Traitement %s interrompu (aucun signe depuis %s s) : %s", task_id, stale_seconds(),
                        "remis en file" if values["status"] == TaskStatus.QUEUED.value else "en échec")
    db.session.commit()
    return requeued, failed


def queued_task_ids(limit: int = 20) -> list[int]:
    ids = list(db.session.scalars(select(Task.id).where(Task.status == TaskStatus.QUEUED.value)
                                  .order_by(Task.created_at, Task.id).limit(limit)))
    db.session.rollback()
    return ids


def run_queued_tasks(*, stop: Callable[[], bool] | None = None, limit: int = 20) -> tuple[int, int]:
    """One pass over the queue (the worker): interrupted tasks first, then the queued ones, oldest first, each
    run to its end. Returns (done, failed)."""
    interrupt_stale_tasks()
    done = failed = 0
    for task_id in queued_task_ids(limit):
        if stop is not None and stop():
            break
        task = run_task(task_id, stop=stop)
        done += task.status == TaskStatus.DONE.value
        failed += task.status == TaskStatus.FAILED.value
    return done, failed


# --------------------------------------------------------------------------- the pages


def can_see(user, task: Task) -> bool:
    """Staff see every task (they share the back office's work); nobody else sees any."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def ensure_can_see(user, task: Task) -> None:
    if not can_see(user, task):
        raise PermissionDenied("Ce traitement ne vous est pas accessible.")


def get_task(task_id, actor) -> Task:
    """Load a task for ``actor``: 404 if unknown, 403 if they may not see it."""
    task = get_by_id(Task, task_id, "Ce traitement n'existe pas.")
    ensure_can_see(actor, task)
    return task


def result_of(task: Task):
    """The stored result of a finished task, or NotFoundError while it is not there."""
    if task.status != TaskStatus.DONE.value or task.result_file is None:
        if is_purged(task):
            raise ResultGone(purged_notice(task))
        if task.status in UNFINISHED_TASKS:
            raise NotFoundError("Le fichier n'est pas encore prêt : le traitement est en cours.")
        if task.status == TaskStatus.FAILED.value:
            raise NotFoundError("Ce traitement a échoué : il n'a pas produit de fichier.")
        raise NotFoundError("Ce traitement n'a pas produit de fichier.")
    return task.result_file


def retry_task(task: Task, actor=None) -> Task:
    """« Relancer »: a failed task is queued again, with a fresh count of attempts; a done task whose file was
    deleted (``is_purged``) gives a new task of the same kind and payload. The task to follow (caller commits)."""
    if is_purged(task):
        payload = {k: v for k, v in (task.payload or {}).items() if not k.startswith("_")}
        return start_task(task.kind, task.label, payload, actor if actor is not None else task.actor_id,
                          unit=unit_of(task), back_url=task.back_url)
    if task.status != TaskStatus.FAILED.value:
        raise ConflictError(f"Ce traitement est « {task.status_label.lower()} » : seul un traitement en échec, "
                            "ou dont le fichier a été supprimé, peut être relancé.")
    task.status = TaskStatus.QUEUED.value
    task.payload = {**(task.payload or {}), BASE_KEY: task.attempts}
    task.done = task.total = 0
    task.step = task.error = task.summary = ""
    task.started_at = task.heartbeat_at = task.finished_at = None
    task.result_file_id = None
    task.result_name = ""
    return task


# --------------------------------------------------------------------------- old results


def result_days() -> int:
    return max(1, int(current_app.config.get("TASK_RESULT_DAYS") or TASK_RESULT_DAYS))


def is_purged(task: Task) -> bool:
    """A done task whose file was deleted after TASK_RESULT_DAYS: its name is kept, its file is not."""
    return task.status == TaskStatus.DONE.value and task.result_file_id is None and bool(task.result_name)


def purged_notice(task: Task) -> str:
    """« Fichier supprimé le 25/11/2026 (conservé 7 jours) : relancez… » ("" unless ``is_purged``)."""
    if not is_purged(task):
        return ""
    stamp = (task.payload or {}).get(PURGED_KEY)
    try:
        purged_at = dt.datetime.fromisoformat(stamp) if stamp else None
    except (TypeError, ValueError):
        purged_at = None
    if purged_at is None and task.finished_at is not None:
        purged_at = task.finished_at + dt.timedelta(days=result_days())
    day = date_fr(purged_at) or "?"
    return PURGED_NOTICE.format(day=day, days=count_fr(result_days(), "jour"))


def purge_old_results(now: dt.datetime | None = None) -> tuple[int, list[str]]:
    """Delete the result file of the tasks done more than TASK_RESULT_DAYS ago (files/services.delete_files: only
    a file no other row names), keeping their ``result_name``; flushed, the caller commits then removes the
    contents (``files.services.remove_contents``). Returns (tasks purged, digests of the rows deleted)."""
    from ..files import services as file_services

    now = now or utcnow()
    cutoff = now - dt.timedelta(days=result_days())
    rows = db.session.execute(select(Task.id, Task.result_file_id, Task.payload).where(
        Task.status == TaskStatus.DONE.value, Task.result_file_id.is_not(None), Task.finished_at < cutoff)).all()
    for task_id, _file_id, payload in rows:
        db.session.execute(update(Task).where(Task.id == task_id).values(
            result_file_id=None, payload={**(payload or {}), PURGED_KEY: now.isoformat()})
            .execution_options(synchronize_session=False))
    digests, kept = file_services.delete_files({file_id for _, file_id, _ in rows})
    if kept:
        log.warning("Fichiers de traitements gardés, d'autres lignes les désignent : %s", sorted(kept))
    return len(rows), digests


def percent(task: Task) -> int:
    if task.status == TaskStatus.DONE.value:
        return 100
    if not task.total:
        return 0
    return min(100, int(task.done * 100 / task.total))


def describe(task: Task) -> dict:
    """What the progress page polls (JSON)."""
    return {"id": task.id, "kind": task.kind, "label": task.label, "status": task.status,
            "status_label": task.status_label, "done": task.done, "total": task.total, "unit": unit_of(task),
            "percent": percent(task), "step": task.step, "error": task.error, "summary": task.summary,
            "finished": task.status in FINISHED_TASKS, "has_file": task.status == TaskStatus.DONE.value
            and task.result_file_id is not None, "result_name": task.result_name,
            "purged": purged_notice(task)}


def recent_tasks_query():
    """The tasks newest first (for the paged list)."""
    return select(Task).order_by(Task.created_at.desc(), Task.id.desc())


def task_counts() -> dict[str, int]:
    counts = dict(db.session.execute(select(Task.status, func.count()).group_by(Task.status)).all())
    return {status: counts.get(status, 0) for status in TASK_STATUSES}
