"""What a killed process leaves in the store: temporary files (``<sha>.<random>.part``, files/staging.py; ``<sha>.tmp``
of older versions) and final files that no ``stored_file`` row names (renamed just before a COMMIT that never came).

Only the content-addressed tree is looked at: ``FILES_DIR/<2 hex>/<64 hex>[…]``, whose name starts with its folder's.
Anything else there (another folder, a file of another shape, a symbolic link) is left alone, as are the backups,
the signing and sealing keys and the instance folder, which live elsewhere. Only files older than ``older_than``
are removed, so that a transaction in flight is never raced: its temporary files are young, and a file it relies
on is made young when it stores it and again when it commits (staging.py). No database write: reads only.

``sweep_results`` (run first by the hourly sweep and `flask files sweep`) deletes the files of the tasks finished more
than TASK_RESULT_DAYS ago (messaging/tasks.purge_old_results): their rows, committed, then their contents.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..core.formatting import size_fr
from ..extensions import db
from ..messaging.services import periodic_task
from .models import StoredFile
from .staging import is_temporary

log = logging.getLogger(__name__)

DEFAULT_AGE = dt.timedelta(minutes=60)
_FOLDER = re.compile(r"[0-9a-f]{2}")
_FINAL = re.compile(r"[0-9a-f]{64}")
_last_sweep: dict[str, float] = {}  # FILES_DIR -> time.monotonic() of this process's last hourly sweep


@dataclass
class Swept:
    temporary: int = 0
    orphans: int = 0
    size: int = 0
    paths: list[Path] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.temporary + self.orphans

    def summary(self) -> str:
        if not self.count:
            return "Aucun fichier orphelin."
        plural = "s" if self.count > 1 else ""
        detail = []
        if self.temporary:
            detail.append(f"{self.temporary} temporaire{'s' if self.temporary > 1 else ''}")
        if self.orphans:
            detail.append(f"{self.orphans} sans ligne en base")
        return (f"{self.count} fichier{plural} orphelin{plural} supprimé{plural} ({size_fr(self.size)}) : "
                + ", ".join(detail) + ".")


def _candidates(root: Path, cutoff: float) -> list[tuple[Path, bool, int]]:
    """(path, is temporary, size) of the store's files last changed before ``cutoff``."""
    found = []
    with os.scandir(root) as folders:
        for folder in folders:
            if not (_FOLDER.fullmatch(folder.name) and folder.is_dir(follow_symlinks=False)):
                continue
            with os.scandir(folder.path) as entries:
                for entry in entries:
                    temporary = is_temporary(entry.name)
                    if not (temporary or _FINAL.fullmatch(entry.name)) or not entry.name.startswith(folder.name):
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                    if info.st_mtime < cutoff:
                        found.append((Path(entry.path), temporary, info.st_size))
    return found


def sweep(older_than: dt.timedelta = DEFAULT_AGE) -> Swept:
    """Remove the temporary files and the final files no row names, last changed more than ``older_than`` ago."""
    swept = Swept()
    root = Path(current_app.config["FILES_DIR"])
    cutoff = time.time() - older_than.total_seconds()
    candidates = _candidates(root, cutoff) if root.is_dir() else []
    # The rows are read after the files are listed: a file named by a row committed meanwhile is kept.
    named = set(db.session.scalars(select(StoredFile.sha256).distinct()))
    for path, temporary, size in candidates:
        if not temporary and path.name in named:
            continue
        try:
            if path.stat().st_mtime >= cutoff:  # stored again since it was listed
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        swept.temporary += temporary
        swept.orphans += not temporary
        swept.size += size
        swept.paths.append(path)
    return swept


def sweep_results(now: dt.datetime | None = None) -> int:
    """Delete the result files of the tasks finished more than TASK_RESULT_DAYS ago: rows committed, then the
    contents no row names. The number of tasks whose file was deleted (0 when run again)."""
    from ..files.services import remove_contents
    from ..messaging.tasks import purge_old_results

    count, digests = purge_old_results(now)
    db.session.commit()
    remove_contents(digests)
    return count


def results_summary(count: int) -> str:
    if not count:
        return "Aucun fichier de traitement à supprimer."
    plural = "s" if count > 1 else ""
    return f"{count} fichier{plural} de traitement supprimé{plural} (plus anciens que la durée de conservation)."


@periodic_task
def sweep_files_hourly(now: dt.datetime) -> None:
    """At most once an hour in each worker process: the old task results (committed here), then the sweep with its
    default age."""
    key = str(current_app.config["FILES_DIR"])
    last = _last_sweep.get(key)
    if last is not None and time.monotonic() - last < 3600:
        return
    _last_sweep[key] = time.monotonic()
    purged = sweep_results(now)
    if purged:
        log.info("Fichiers : %s", results_summary(purged))
    swept = sweep()
    if swept.count:
        log.info("Fichiers : %s", swept.summary())
