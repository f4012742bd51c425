"""slot sequence: the iCalendar SEQUENCE of a slot's event, raised on each move

Revision ID: c19a00000004
Revises: c19a00000003
Create Date: 2026-12-06 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c19a00000004'
down_revision = 'c19a00000003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('slot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('slot', schema=None) as batch_op:
        batch_op.drop_column('sequence')
