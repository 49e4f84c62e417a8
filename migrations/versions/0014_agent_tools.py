"""agents with tools (course module 02, 1.13's agent_thoughts): api_tool_provider, api_tool,
message_agent_thought

Revision ID: 0014
Revises: 0006
Create Date: 2026-12-01 16:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tool_provider',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('icon', sa.String(length=512), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('openapi_schema', sa.Text(), nullable=False),
    sa.Column('headers_ciphertext', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_api_tool_provider_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tool_provider')),
    sa.UniqueConstraint('account_id', 'name', name='uq_api_tool_provider_account_name')
    )
    with op.batch_alter_table('api_tool_provider', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tool_provider_account_id'), ['account_id'], unique=False)
    op.create_table('api_tool',
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_api_tool_account_id_account')),
    sa.ForeignKeyConstraint(['provider_id'], ['api_tool_provider.id'], name=op.f('fk_api_tool_provider_id_api_tool_provider'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tool')),
    sa.UniqueConstraint('provider_id', 'name', name='uq_api_tool_provider_name')
    )
    with op.batch_alter_table('api_tool', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tool_provider_id'), ['provider_id'], unique=False)
    op.create_table('message_agent_thought',
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('thought', sa.Text(), nullable=False),
    sa.Column('observation', sa.Text(), nullable=False),
    sa.Column('tool', sa.String(length=255), nullable=False),
    sa.Column('tool_input', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('answer_tokens', sa.Integer(), nullable=False),
    sa.Column('total_tokens', sa.Integer(), nullable=False),
    sa.Column('latency', sa.Float(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_agent_thought_message_id_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_agent_thought'))
    )
    with op.batch_alter_table('message_agent_thought', schema=None) as batch_op:
        batch_op.create_index('ix_message_agent_thought_message_position', ['message_id', 'position'], unique=False)


def downgrade():
    with op.batch_alter_table('message_agent_thought', schema=None) as batch_op:
        batch_op.drop_index('ix_message_agent_thought_message_position')
    op.drop_table('message_agent_thought')
    with op.batch_alter_table('api_tool', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tool_provider_id'))
    op.drop_table('api_tool')
    with op.batch_alter_table('api_tool_provider', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tool_provider_account_id'))
    op.drop_table('api_tool_provider')
