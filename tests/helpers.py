"""Helpers shared by the tests (the fixtures live in tests/fixtures/, one module per subject)."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid

# A Monday far enough ahead that no test date is in the past; none of its week is a public holiday.
MONDAY = dt.date(2031, 3, 3)

PASSWORDS = {
    "admin@test.example": "admin-password-1",
    "conseil@test.example": "advisor-password-1",
    "formateur@test.example": "trainer-password-1",
    "formateur2@test.example": "trainer2-password-1",
}


def login(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": PASSWORDS[email]})
    assert response.status_code == 302, response.get_data(as_text=True)


def page(response) -> str:
    """The response body with HTML entities decoded (Jinja escapes apostrophes as &#39;)."""
    import html

    return html.unescape(response.get_data(as_text=True))


@contextlib.contextmanager
def throwaway_postgresql(prefix: str, *, fast: bool = True):
    """A PostgreSQL database of its own on TEST_DATABASE_URL's server, dropped afterwards; yields its URL.
    ``fast``: commits need not wait for the disk (the database is thrown away)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from trainingmgr.config import normalise_database_url

    server = make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        if fast:
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_SEAL_KEYS: list[str] = []
_SIGNING: list[str] = []


def signing_dir() -> str:
    """One self-signed PAdES certificate for the whole run (RSA 3072 takes a moment), valid since 2000."""
    if not _SIGNING:
        import datetime as dt
        import tempfile
        from pathlib import Path

        from trainingmgr.signing import pades

        directory = Path(tempfile.mkdtemp(prefix="signing-")) / "keys"
        pades.init_certificate(directory, "Formaction Sud-Ouest (tests)", days=365 * 60,
                               now=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
        _SIGNING.append(str(directory))
    return _SIGNING[0]


def seal_key_dir() -> str:
    """One sealing key for the whole run, in service since 2000 (the tests' clocks go back and forth)."""
    if not _SEAL_KEYS:
        import datetime as dt
        import tempfile
        from pathlib import Path

        from trainingmgr.core import sealkeys

        directory = tempfile.mkdtemp(prefix="seal-keys-")
        sealkeys.create_key(Path(directory), now=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
        _SEAL_KEYS.append(directory)
    return _SEAL_KEYS[0]


def run_started_task(client, response):
    """A POST that started a task answered 303 to its page: run the task now (as the worker would) and return
    (task, the download's response or None when it made no file)."""
    from trainingmgr.messaging.tasks import run_task

    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    location = response.headers["Location"]
    assert "/tasks/" in location, location
    task_id = int(location.rstrip("/").rsplit("/", 1)[1])
    task = run_task(task_id)
    download = client.get(f"/tasks/{task_id}/download") if task.result_file_id else None
    return task, download


def exported(client, url: str):
    """An export button (POST to ``url``) starts an export task: run it and return the file's download response."""
    task, download = run_started_task(client, client.post(url))
    assert task.status == "done", task.error
    return download
