"""The database refuses to update or delete attendance records (the application only ever appends), archived
documents and the entries of the audit log.

One update of an attendance record gets through: the erasure of its personal fields at the end of their
retention (RGPD, privacy/services.py). Each of ``ERASABLE`` may only stay as it is or be emptied (NULL or
''), never be given a value again; the digests of the erased values go to ``erased`` with ``erased_at``,
both set once and never changed; every other column stays as it was. On PostgreSQL the row as JSON minus
those columns must be unchanged, so a column added later is covered too. SQLite has no such thing: its
trigger names the columns (``FIXED``; tests/privacy checks that the list matches the model).

Installed by the migrations; a database administrator can still get round it (and the hash chain then
shows what they changed). Tests that empty the tables between runs remove and reinstall it on SQLite
(on PostgreSQL they run with session_replication_role = replica, which skips triggers).
"""
from __future__ import annotations

MESSAGE = "attendance_record is append-only"
# The personal fields that an erasure empties (models.ERASABLE), and where their digests go.
ERASABLE = ("signer_name", "typed_name", "image", "ip", "user_agent")
ERASURE = ("erased", "erased_at")
# Every other column of attendance_record, which nothing may change.
FIXED = ("id", "session_id", "seq", "kind", "slot_id", "enrolment_id", "trainer_id", "author_id", "method", "mode",
         "presence", "arrived_at", "left_at", "reason", "created_at", "unique_key", "prev_hash", "hash",
         "minutes", "file_sha256")


def _emptied_or_kept_sqlite(column: str) -> str:
    """SQLite: true when ``column`` gets a (new) value, which an erasure never does."""
    if column == "image":
        return "(NEW.image IS NOT OLD.image AND COALESCE(length(NEW.image), 0) > 0)"
    return f"(NEW.{column} IS NOT OLD.{column} AND COALESCE(NEW.{column}, '') <> '')"


def _sqlite_attendance() -> list[str]:
    refused = [_emptied_or_kept_sqlite(column) for column in ERASABLE]
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ERASABLE)
    refused += [
        "(OLD.erased IS NOT NULL AND NEW.erased IS NOT OLD.erased)",
        "(OLD.erased_at IS NOT NULL AND NEW.erased_at IS NOT OLD.erased_at)",
        f"((NEW.erased IS NULL OR NEW.erased_at IS NULL) AND ({changed}))",
    ]
    return [
        f"""CREATE TRIGGER attendance_record_no_update BEFORE UPDATE OF {', '.join(FIXED)} ON attendance_record
       BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER attendance_record_erase_only BEFORE UPDATE OF {', '.join(ERASABLE + ERASURE)}
       ON attendance_record WHEN {' OR '.join(refused)}
       BEGIN SELECT RAISE(ABORT, '{MESSAGE} (only an erasure of its personal fields is allowed)'); END""",
        f"""CREATE TRIGGER attendance_record_no_delete BEFORE DELETE ON attendance_record
       BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    ]


def _postgresql_attendance() -> list[str]:
    skipped = ", ".join(f"'{c}'" for c in ERASABLE + ERASURE)
    kept_or_emptied = " AND ".join(
        "(NEW.image IS NOT DISTINCT FROM OLD.image OR COALESCE(length(NEW.image), 0) = 0)" if c == "image"
        else f"(NEW.{c} IS NOT DISTINCT FROM OLD.{c} OR COALESCE(NEW.{c}, '') = '')" for c in ERASABLE)
    unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in ERASABLE)
    return [
        f"""CREATE OR REPLACE FUNCTION attendance_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE'
            AND (to_jsonb(NEW) - ARRAY[{skipped}]) = (to_jsonb(OLD) - ARRAY[{skipped}])
            AND {kept_or_emptied}
            AND (OLD.erased IS NULL OR NEW.erased::jsonb IS NOT DISTINCT FROM OLD.erased::jsonb)
            AND (OLD.erased_at IS NULL OR NEW.erased_at IS NOT DISTINCT FROM OLD.erased_at)
            AND ((NEW.erased IS NOT NULL AND NEW.erased_at IS NOT NULL) OR ({unchanged}))
         THEN
           RETURN NEW;
         END IF;
         IF TG_OP = 'UPDATE' THEN
           RAISE EXCEPTION '{MESSAGE} (only an erasure of its personal fields is allowed)';
         END IF;
         RAISE EXCEPTION '{MESSAGE}';
       END $$""",
        """CREATE TRIGGER attendance_record_append_only BEFORE UPDATE OR DELETE ON attendance_record
       FOR EACH ROW EXECUTE FUNCTION attendance_record_append_only()""",
    ]


# Strictly append-only (no update at all): the archived documents, and attendance_record before erasure
# was allowed (revision c5c0006330c8 to be7fdd8c139f).
STRICT_SQLITE = [
    """CREATE TRIGGER attendance_record_no_update BEFORE UPDATE ON attendance_record
       BEGIN SELECT RAISE(ABORT, 'attendance_record is append-only'); END""",
    """CREATE TRIGGER attendance_record_no_delete BEFORE DELETE ON attendance_record
       BEGIN SELECT RAISE(ABORT, 'attendance_record is append-only'); END""",
]
STRICT_POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION attendance_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'attendance_record is append-only'; END $$""",
    """CREATE TRIGGER attendance_record_append_only BEFORE UPDATE OR DELETE ON attendance_record
       FOR EACH ROW EXECUTE FUNCTION attendance_record_append_only()""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS attendance_record_no_update",
               "DROP TRIGGER IF EXISTS attendance_record_erase_only",
               "DROP TRIGGER IF EXISTS attendance_record_no_delete"]
POSTGRESQL_DROP = ["DROP TRIGGER IF EXISTS attendance_record_append_only ON attendance_record",
                   "DROP FUNCTION IF EXISTS attendance_record_append_only()"]


def statements(dialect: str, install: bool = True, table: str = "attendance_record", *,
               strict: bool | None = None) -> list[str]:
    """The DDL that makes ``table`` append-only (or removes it). attendance_record allows the erasure of
    its personal fields unless ``strict``; any other table is strictly append-only."""
    strict = table != "attendance_record" if strict is None else strict
    if dialect == "postgresql":
        chosen = POSTGRESQL_DROP if not install else STRICT_POSTGRESQL if strict else _postgresql_attendance()
    elif dialect == "sqlite":
        chosen = SQLITE_DROP if not install else STRICT_SQLITE if strict else _sqlite_attendance()
    else:
        return []
    return [statement.replace("attendance_record", table) for statement in chosen]


APPEND_ONLY_TABLES = ("attendance_record", "generated_document", "audit_entry", "signature_revision")
