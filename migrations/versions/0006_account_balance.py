"""account balances in credits: account.balance/used, account_ledger, key caps and redeem codes
in credits, api_key.max_streams, usage_log.surface/cost_credits, model_price

Credits: 1 credit = 1e-6 USD. Token amounts of the previous revision (key quotas, redeem codes)
are converted at the billing endpoints' old rate, 500,000 tokens a dollar, i.e. 2 credits a token,
so every quota keeps its dollar value. Each existing account starts with the unspent part of its
capped keys' quotas (what redeem codes had added to them); unlimited keys brought no money.

Revision ID: 0006
Revises: 0010
Create Date: 2026-12-01 14:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0010'
branch_labels = None
depends_on = None

CREDITS_PER_OLD_TOKEN = 2  # 1e6 credits a dollar / 500,000 tokens a dollar


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('used', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_streams', sa.Integer(), nullable=True))
    with op.batch_alter_table('usage_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_credits', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('surface', sa.String(length=20), server_default='gateway', nullable=False))
    with op.batch_alter_table('redeem_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redeemed_by_account_id', sa.Uuid(), nullable=True))
    op.create_table('account_ledger',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_ledger_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_ledger')),
    sa.UniqueConstraint('request_id', name=op.f('uq_account_ledger_request_id'))
    )
    with op.batch_alter_table('account_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_account_ledger_account_created', ['account_id', 'created_at'], unique=False)
    op.create_table('model_price',
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('input_price', sa.Float(), nullable=False),
    sa.Column('output_price', sa.Float(), nullable=False),
    sa.Column('context_window', sa.Integer(), nullable=True),
    sa.Column('max_output', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('provider', 'model', name=op.f('pk_model_price'))
    )
    rate = CREDITS_PER_OLD_TOKEN
    op.execute(f"UPDATE api_key SET quota = quota * {rate} WHERE quota IS NOT NULL")
    op.execute(f"UPDATE api_key SET used_quota = used_quota * {rate}")
    op.execute(f"UPDATE redeem_code SET quota = quota * {rate}")
    op.execute("UPDATE usage_log SET cost_credits = CAST(ROUND(cost_usd * 1000000) AS BIGINT)")
    op.execute(
        "UPDATE account SET balance = COALESCE((SELECT SUM(CASE WHEN k.quota > k.used_quota "
        "THEN k.quota - k.used_quota ELSE 0 END) FROM api_key k WHERE k.account_id = account.id "
        "AND k.quota IS NOT NULL AND k.is_deleted = false), 0)")


def downgrade():
    rate = CREDITS_PER_OLD_TOKEN
    op.execute(f"UPDATE api_key SET quota = quota / {rate} WHERE quota IS NOT NULL")
    op.execute(f"UPDATE api_key SET used_quota = used_quota / {rate}")
    op.execute(f"UPDATE redeem_code SET quota = quota / {rate}")
    op.drop_table('model_price')
    with op.batch_alter_table('account_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_account_ledger_account_created')
    op.drop_table('account_ledger')
    with op.batch_alter_table('redeem_code', schema=None) as batch_op:
        batch_op.drop_column('redeemed_by_account_id')
    with op.batch_alter_table('usage_log', schema=None) as batch_op:
        batch_op.drop_column('surface')
        batch_op.drop_column('cost_credits')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('max_streams')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('used')
        batch_op.drop_column('balance')
