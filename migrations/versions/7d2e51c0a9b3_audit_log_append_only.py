"""audit log: the database refuses updates and deletions of its entries

Revision ID: 7d2e51c0a9b3
Revises: b944dbfcaf89
Create Date: 2026-11-26 09:10:00.000000

"""
from alembic import op

from trainingmgr.attendance import guard


# revision identifiers, used by Alembic.
revision = '7d2e51c0a9b3'
down_revision = 'b944dbfcaf89'
branch_labels = None
depends_on = None


def upgrade():
    # An audit trail that can be edited proves nothing: entries are only ever inserted.
    for statement in guard.statements(op.get_bind().dialect.name, install=True, table="audit_entry"):
        op.execute(statement)


def downgrade():
    for statement in guard.statements(op.get_bind().dialect.name, install=False, table="audit_entry"):
        op.execute(statement)
