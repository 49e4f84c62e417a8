"""third-party logins (course module 06): account_oauth

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 14:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_oauth',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('openid', sa.String(length=255), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_oauth_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_oauth')),
    sa.UniqueConstraint('provider', 'openid', name='uq_account_oauth_provider_openid')
    )
    with op.batch_alter_table('account_oauth', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_oauth_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('account_oauth', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_oauth_account_id'))
    op.drop_table('account_oauth')
