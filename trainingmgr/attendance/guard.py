"""The database refuses to update or delete attendance records (the application only ever appends).

Installed by the migration; a database administrator can still get round it (and the hash chain then
shows what they changed). Tests that empty the tables between runs remove and reinstall it on SQLite
(on PostgreSQL they run with session_replication_role = replica, which skips triggers).
"""
from __future__ import annotations

SQLITE = [
    """CREATE TRIGGER attendance_record_no_update BEFORE UPDATE ON attendance_record
       BEGIN SELECT RAISE(ABORT, 'attendance_record is append-only'); END""",
    """CREATE TRIGGER attendance_record_no_delete BEFORE DELETE ON attendance_record
       BEGIN SELECT RAISE(ABORT, 'attendance_record is append-only'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS attendance_record_no_update",
               "DROP TRIGGER IF EXISTS attendance_record_no_delete"]
POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION attendance_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'attendance_record is append-only'; END $$""",
    """CREATE TRIGGER attendance_record_append_only BEFORE UPDATE OR DELETE ON attendance_record
       FOR EACH ROW EXECUTE FUNCTION attendance_record_append_only()""",
]
POSTGRESQL_DROP = ["DROP TRIGGER IF EXISTS attendance_record_append_only ON attendance_record",
                   "DROP FUNCTION IF EXISTS attendance_record_append_only()"]


def statements(dialect: str, install: bool = True, table: str = "attendance_record") -> list[str]:
    """The DDL that makes ``table`` append-only (or removes it)."""
    if dialect == "postgresql":
        chosen = POSTGRESQL if install else POSTGRESQL_DROP
    elif dialect == "sqlite":
        chosen = SQLITE if install else SQLITE_DROP
    else:
        return []
    return [statement.replace("attendance_record", table) for statement in chosen]


APPEND_ONLY_TABLES = ("attendance_record", "generated_document")
