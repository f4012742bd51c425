"""A stored file takes its final name only when the transaction that adds its row commits.

``files.services.store_bytes`` writes ``<FILES_DIR>/<sha[:2]>/<sha>.<random>.part`` (a hard link of the final file
when that already holds the content: nothing written) and records it in the session's ``info``. Then:

- just before the outermost transaction commits (after its last flush), each one is renamed to ``<sha>``, its time
  set to now (the sweep reads the rows before it looks at the files: a file about to be named by a row is young);
- a rollback removes the ones stored since what it rolls back: the whole transaction, or only a savepoint
  (``begin_nested``, as the job runner does) — the enclosing transaction's files stay for its commit;
- a transaction that ends without committing (session closed) removes what is left.

A final file is never removed here: another committed row may name the same content. What a process killed in the
middle leaves (``.part`` files, a final file renamed just before a COMMIT that never came) is removed by
``flask files sweep`` and hourly by the worker (files/sweep.py). Until the commit, ``path_for`` gives the code of
the same session the temporary file (a pack zips documents generated in its own transaction).
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_STAGED = "files.staged"  # session.info key: {sha256: Staged}
TEMPORARY_SUFFIX = ".part"
# <sha>.<random>.part, and <sha>.tmp that versions before this one wrote for an instant
TEMPORARY_NAME = re.compile(r"[0-9a-f]{64}(?:\.[0-9a-f]+\.part|\.tmp)")


def is_temporary(name: str) -> bool:
    """A file name of a file waiting for its transaction's commit (never part of a backup)."""
    return bool(TEMPORARY_NAME.fullmatch(name))


@dataclass
class Staged:
    temporary: Path
    final: Path
    transaction: SessionTransaction | None  # the innermost transaction (savepoint or outermost) that stored it


def staged_path(session: Session, digest: str) -> Path | None:
    """The temporary file of this content while it waits for this session's commit, else None."""
    entry = session.info.get(_STAGED, {}).get(digest)
    return entry.temporary if entry is not None else None


def stage(session: Session, data: bytes, digest: str, final: Path) -> Path:
    """Put ``data`` (of SHA-256 ``digest``) under a temporary name beside ``final``, until the commit."""
    entries = session.info.setdefault(_STAGED, {})
    if digest in entries:  # the same content twice in one transaction: one file
        return entries[digest].temporary
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f"{final.name}.{secrets.token_hex(8)}{TEMPORARY_SUFFIX}")
    if not _link_existing(final, temporary, digest):  # absent, or damaged on disk: written from these bytes
        with open(temporary, "xb") as handle:
            handle.write(data)
    entries[digest] = Staged(temporary, final, session.get_nested_transaction() or session.get_transaction())
    return temporary


def _link_existing(final: Path, temporary: Path, digest: str) -> bool:
    """Pin the final file that already holds this content under the temporary name (a hard link): a sweep that
    removes the final name meanwhile cannot lose it, the commit's rename brings it back."""
    try:
        os.link(final, temporary)
    except OSError:  # no final file yet, or no hard links on this file system
        return False
    try:
        with open(temporary, "rb") as handle:
            holds = hashlib.file_digest(handle, "sha256").hexdigest() == digest
        if holds:
            os.utime(temporary)  # the inode's time, both names: young for the sweep
            return True
    except OSError:
        pass
    temporary.unlink(missing_ok=True)
    return False


def _publish(session: Session) -> None:
    """Give each staged file its final name. One that fails stays staged (removed by the rollback that follows)."""
    entries = session.info.get(_STAGED)
    while entries:
        digest, entry = next(iter(entries.items()))
        os.utime(entry.temporary)  # young when it appears under its final name
        os.replace(entry.temporary, entry.final)
        entry.temporary.unlink(missing_ok=True)  # a hard link of the final file: rename() leaves both names
        del entries[digest]


def _within(transaction: SessionTransaction | None, boundary: SessionTransaction) -> bool:
    if transaction is None:
        return boundary.parent is None
    while transaction is not None:
        if transaction is boundary:
            return True
        transaction = transaction.parent
    return False


def _discard(session: Session, boundary: SessionTransaction | None) -> None:
    """Remove the files staged inside ``boundary`` (every staged one when None)."""
    entries = session.info.get(_STAGED)
    if not entries:
        return
    for digest, entry in list(entries.items()):
        if boundary is None or _within(entry.transaction, boundary):
            entry.temporary.unlink(missing_ok=True)
            del entries[digest]


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(_STAGED):
        return  # a savepoint's release: its files now wait for the enclosing transaction
    session.flush()  # the rows first: a flush that fails leaves the files temporary, removed by the rollback
    _publish(session)


def _after_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        _publish(session)  # normally done before the commit; here if the outermost one committed over a savepoint


def _after_soft_rollback(session: Session, transaction: SessionTransaction) -> None:
    boundary = transaction  # what the database rolled back: this savepoint, or the enclosing one, or everything
    while boundary.parent is not None and not boundary.nested:
        boundary = boundary.parent
    _discard(session, boundary)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        _discard(session, None)  # the outermost transaction ended without committing them (session closed)


def install() -> None:
    """Listen to the transactions of the application's sessions (idempotent)."""
    from flask_sqlalchemy.session import Session as FlaskSession

    if not event.contains(FlaskSession, "before_commit", _before_commit):
        event.listen(FlaskSession, "before_commit", _before_commit)
        event.listen(FlaskSession, "after_commit", _after_commit)
        event.listen(FlaskSession, "after_soft_rollback", _after_soft_rollback)
        event.listen(FlaskSession, "after_transaction_end", _after_transaction_end)
