"""invoices list constant in history: indexes for its order, its totals, its years and the credit notes

Revision ID: c22a00000002
Revises: c22a00000001
Create Date: 2026-12-07 05:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c22a00000002'
down_revision = 'c22a00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_status_order', ['status', 'issue_date', 'sequence', 'id'], unique=False)
        batch_op.create_index('ix_invoice_status_kind_total', ['status', 'kind', 'total_excl_vat'], unique=False)
        batch_op.create_index('ix_invoice_year', ['year'], unique=False)
        batch_op.create_index('ix_invoice_credit_notes', ['credited_invoice_id', 'kind', 'status', 'total_incl_vat'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_credit_notes')
        batch_op.drop_index('ix_invoice_year')
        batch_op.drop_index('ix_invoice_status_kind_total')
        batch_op.drop_index('ix_invoice_status_order')
