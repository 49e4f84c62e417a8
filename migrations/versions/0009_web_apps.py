"""web apps (course modules 05, 15): app.token, end-user conversations (created_by, is_pinned)

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-01 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_app_token'), ['token'])
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('is_pinned', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_conversation_created_by_account'), 'account', ['created_by'], ['id'])
        batch_op.create_index('ix_conversation_app_created_by', ['app_id', 'created_by'], unique=False)
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_app_created', ['app_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_app_created')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_app_created_by')
        batch_op.drop_constraint(batch_op.f('fk_conversation_created_by_account'), type_='foreignkey')
        batch_op.drop_column('is_pinned')
        batch_op.drop_column('created_by')
    with op.batch_alter_table('app', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_token'), type_='unique')
        batch_op.drop_column('token')
