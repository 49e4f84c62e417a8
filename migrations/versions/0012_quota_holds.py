"""quota_hold: metered calls between reservation and usage row (nothing lost when a process dies)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 16:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quota_hold',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=True),
    sa.Column('reserved', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_quota_hold'))
    )
    with op.batch_alter_table('quota_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_hold_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('quota_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_hold_expires_at'))
    op.drop_table('quota_hold')
