"""subcontracting: trainer status, documents, development log, invoices

Revision ID: c19a00000003
Revises: c19a00000002
Create Date: 2026-12-06 18:30:00

"""
from alembic import op
import sqlalchemy as sa
import trainingmgr.core.types
from trainingmgr.attendance import guard


# revision identifiers, used by Alembic.
revision = 'c19a00000003'
down_revision = 'c19a00000002'
branch_labels = None
depends_on = None

EXTERNAL = ('independent', 'organisation')


def upgrade():
    # The trainer's status replaces the is_external flag: an external trainer was recorded with the name and the
    # SIRET of their company, so they become a subcontracting organisation (the advisor may make them independent).
    with op.batch_alter_table('trainer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='employee', nullable=False))
        batch_op.add_column(sa.Column('address', sa.String(length=255), server_default='', nullable=False))
        batch_op.add_column(sa.Column('nda', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('rate', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('rate_unit', sa.String(length=10), server_default='hour', nullable=False))
    trainer = sa.table('trainer', sa.column('status', sa.String), sa.column('is_external', sa.Boolean))
    op.execute(trainer.update().where(trainer.c.is_external.is_(True)).values(status='organisation'))
    with op.batch_alter_table('trainer', schema=None) as batch_op:
        batch_op.drop_column('is_external')

    op.create_table('trainer_development',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_trainer_development_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['evidence_id'], ['stored_file.id'], name=op.f('fk_trainer_development_evidence_id_stored_file')),
    sa.ForeignKeyConstraint(['trainer_id'], ['trainer.id'], name=op.f('fk_trainer_development_trainer_id_trainer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainer_development'))
    )
    with op.batch_alter_table('trainer_development', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainer_development_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_trainer_development_trainer_id'), ['trainer_id'], unique=False)

    op.create_table('trainer_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_trainer_document_file_id_stored_file')),
    sa.ForeignKeyConstraint(['trainer_id'], ['trainer.id'], name=op.f('fk_trainer_document_trainer_id_trainer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_trainer_document_uploaded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainer_document'))
    )
    with op.batch_alter_table('trainer_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainer_document_trainer_id'), ['trainer_id'], unique=False)

    op.create_table('trainer_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('amount_excl_vat', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('expected_excl_vat', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('expected_basis', sa.String(length=200), nullable=False),
    sa.Column('matches', sa.Boolean(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_trainer_invoice_file_id_stored_file')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_trainer_invoice_recorded_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['training_session.id'], name=op.f('fk_trainer_invoice_session_id_training_session')),
    sa.ForeignKeyConstraint(['trainer_id'], ['trainer.id'], name=op.f('fk_trainer_invoice_trainer_id_trainer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainer_invoice')),
    sa.UniqueConstraint('trainer_id', 'number', name='uq_trainer_invoice_number')
    )
    with op.batch_alter_table('trainer_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainer_invoice_issued_on'), ['issued_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_trainer_invoice_session_id'), ['session_id'], unique=False)

    # A trainer's contract names its trainer. The table is append-only (attendance/guard.py): its trigger is lifted
    # around the change and put back (SQLite rebuilds the table to add a foreign key, which drops the trigger).
    dialect = op.get_bind().dialect.name
    for statement in guard.statements(dialect, install=False, table='generated_document'):
        op.execute(statement)
    with op.batch_alter_table('generated_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trainer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_generated_document_trainer_id_trainer'), 'trainer', ['trainer_id'], ['id'])
    for statement in guard.statements(dialect, install=True, table='generated_document'):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in guard.statements(dialect, install=False, table='generated_document'):
        op.execute(statement)
    with op.batch_alter_table('generated_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_generated_document_trainer_id_trainer'), type_='foreignkey')
        batch_op.drop_column('trainer_id')
    for statement in guard.statements(dialect, install=True, table='generated_document'):
        op.execute(statement)

    with op.batch_alter_table('trainer_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainer_invoice_session_id'))
        batch_op.drop_index(batch_op.f('ix_trainer_invoice_issued_on'))
    op.drop_table('trainer_invoice')
    with op.batch_alter_table('trainer_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainer_document_trainer_id'))
    op.drop_table('trainer_document')
    with op.batch_alter_table('trainer_development', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainer_development_trainer_id'))
        batch_op.drop_index(batch_op.f('ix_trainer_development_day'))
    op.drop_table('trainer_development')

    with op.batch_alter_table('trainer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_external', sa.Boolean(), server_default=sa.false(), nullable=False))
    trainer = sa.table('trainer', sa.column('status', sa.String), sa.column('is_external', sa.Boolean))
    op.execute(trainer.update().where(trainer.c.status.in_(EXTERNAL)).values(is_external=True))
    with op.batch_alter_table('trainer', schema=None) as batch_op:
        batch_op.alter_column('is_external', server_default=None)
        batch_op.drop_column('rate_unit')
        batch_op.drop_column('rate')
        batch_op.drop_column('nda')
        batch_op.drop_column('address')
        batch_op.drop_column('status')
