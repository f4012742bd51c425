"""What the benchmarks share: a throw-away database."""
from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trainingmgr.config import normalise_database_url


@contextmanager
def database(database_url: str | None):
    """A fresh database URL: a SQLite file in a temporary folder, or a database created on the PostgreSQL
    server of ``database_url`` (dropped afterwards, like tests/fixtures/app.py does)."""
    with tempfile.TemporaryDirectory() as tmp:
        if not database_url:
            yield f"sqlite:///{tmp}/bench.db", tmp
            return
        server = make_url(normalise_database_url(database_url))
        name = f"trainingmgr_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False), tmp
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
