"""funders of every kind (self-employed funds, France Travail, public funders), payment calls, bank details

Revision ID: c20a00000001
Revises: c19a00000004
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa
import trainingmgr.core.types


# revision identifiers, used by Alembic.
revision = 'c20a00000001'
down_revision = 'c19a00000004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_payment_call_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_payment_call_enrolment_id_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_call_invoice_id_invoice'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_call')),
    sa.UniqueConstraint('enrolment_id', 'position', name=op.f('uq_payment_call_enrolment_id_position'))
    )
    with op.batch_alter_table('payment_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_call_enrolment_id'), ['enrolment_id'], unique=False)

    with op.batch_alter_table('funding_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreed_hours', sa.Numeric(precision=6, scale=2), nullable=True))
        batch_op.add_column(sa.Column('funder_category', sa.String(length=20), server_default='', nullable=False))

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funder_category', sa.String(length=20), server_default='', nullable=False))

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('iban', sa.String(length=34), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bic', sa.String(length=11), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('bic')
        batch_op.drop_column('iban')

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('funder_category')

    with op.batch_alter_table('funding_line', schema=None) as batch_op:
        batch_op.drop_column('funder_category')
        batch_op.drop_column('agreed_hours')

    with op.batch_alter_table('payment_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_call_enrolment_id'))

    op.drop_table('payment_call')
