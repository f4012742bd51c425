"""The Alembic history builds the schema the models describe (what `flask db check` verifies)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trainingmgr.extensions import db
from trainingmgr.trainees.search_index import outside_models


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        # as migrations/env.py: the trainees search's FTS5 table and trigram indexes are not in the models
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_name": lambda name, type_, parents: not outside_models(name, type_)})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_schema_is_at_the_latest_revision(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 - the extension holds the alembic config

    config = app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    assert len(heads) == 1
    assert set(current) == set(heads)
