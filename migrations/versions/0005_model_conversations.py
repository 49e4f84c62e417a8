"""model conversations (seed 000): account.username, app-less conversations, model_conversation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 09:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_account_username'), ['username'])
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.alter_column('app_id', existing_type=sa.Uuid(), nullable=True)
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('app_id', existing_type=sa.Uuid(), nullable=True)
    op.create_table('model_conversation',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('api_key_ciphertext', sa.Text(), nullable=True),
    sa.Column('api_key_hint', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_model_conversation_account_id_account')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                            name=op.f('fk_model_conversation_conversation_id_conversation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_conversation')),
    sa.UniqueConstraint('conversation_id', name=op.f('uq_model_conversation_conversation_id'))
    )
    with op.batch_alter_table('model_conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_conversation_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('model_conversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_conversation_account_id'))
    op.drop_table('model_conversation')
    op.execute("DELETE FROM message WHERE app_id IS NULL")
    op.execute("DELETE FROM conversation WHERE app_id IS NULL")
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('app_id', existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.alter_column('app_id', existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_account_username'), type_='unique')
        batch_op.drop_column('username')
