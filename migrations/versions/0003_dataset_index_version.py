"""dataset.index_version: tags the per-process full-text snapshots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('index_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_column('index_version')
