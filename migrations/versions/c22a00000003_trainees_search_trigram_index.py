"""trainees search trigram index: pg_trgm GIN indexes (PostgreSQL), an FTS5 trigram table (SQLite)

Revision ID: c22a00000003
Revises: c22a00000002
Create Date: 2026-12-07 06:45:00.000000

The names are those of trainingmgr/trainees/search_index.py, which migrations/env.py keeps out of `db check`.
SQLite: the FTS5 table reads its text from trainee (external content) and three triggers keep it in step. A
later batch migration of trainee (copy, drop, rename) drops these triggers: it must create them again.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c22a00000003'
down_revision = 'c22a00000002'
branch_labels = None
depends_on = None

COLUMNS = ("last_name", "first_name", "email")
FTS = "trainee_fts"


def _sqlite_upgrade():
    names = ", ".join(COLUMNS)
    new = ", ".join(f"new.{c}" for c in COLUMNS)
    old = ", ".join(f"old.{c}" for c in COLUMNS)
    op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5({names}, content='trainee', content_rowid='id', "
               "tokenize='trigram')")
    op.execute(f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON trainee BEGIN "
               f"INSERT INTO {FTS}(rowid, {names}) VALUES (new.id, {new}); END")
    op.execute(f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON trainee BEGIN "
               f"INSERT INTO {FTS}({FTS}, rowid, {names}) VALUES ('delete', old.id, {old}); END")
    op.execute(f"CREATE TRIGGER {FTS}_update AFTER UPDATE OF id, {names} ON trainee BEGIN "
               f"INSERT INTO {FTS}({FTS}, rowid, {names}) VALUES ('delete', old.id, {old}); "
               f"INSERT INTO {FTS}(rowid, {names}) VALUES (new.id, {new}); END")
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_trainee_{column}_trgm ON trainee USING gin (lower({column}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_trainee_{column}_trgm")
