"""needs analysis, absence alerts, planned absences

Revision ID: c19a00000002
Revises: b86e90eefe20
Create Date: 2026-12-06 18:30:00

"""
from alembic import op
import sqlalchemy as sa
import trainingmgr.core.types


# revision identifiers, used by Alembic.
revision = 'c19a00000002'
down_revision = 'b86e90eefe20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absence_alerts', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('planned_absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_planned_absence_enrolment_id_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['training_session.id'], name=op.f('fk_planned_absence_session_id_training_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['slot.id'], name=op.f('fk_planned_absence_slot_id_slot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_absence')),
    sa.UniqueConstraint('enrolment_id', 'slot_id', name='uq_planned_absence_enrolment_slot')
    )
    with op.batch_alter_table('planned_absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planned_absence_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_planned_absence_session_id'), ['session_id'], unique=False)

    op.create_table('absence_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', trainingmgr.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_absence_alert_company_id_company'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_absence_alert_enrolment_id_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_message.id'], name=op.f('fk_absence_alert_message_id_outbox_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['slot_id'], ['slot.id'], name=op.f('fk_absence_alert_slot_id_slot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence_alert')),
    sa.UniqueConstraint('slot_id', 'enrolment_id', name='uq_absence_alert_slot_enrolment')
    )
    with op.batch_alter_table('absence_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absence_alert_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_absence_alert_enrolment_id'), ['enrolment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('absence_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absence_alert_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_absence_alert_company_id'))

    op.drop_table('absence_alert')
    with op.batch_alter_table('planned_absence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planned_absence_session_id'))
        batch_op.drop_index(batch_op.f('ix_planned_absence_enrolment_id'))

    op.drop_table('planned_absence')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('absence_alerts')
