"""claims with leases on indexing and memory folds; unique publish versions and positions

Revision ID: 0011
Revises: 0014
Create Date: 2026-12-01 16:30:00

Rows that already share a position (or a published version number) — left by concurrent requests
before these constraints — are renumbered past the highest one, oldest first keeping its number.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0014'
branch_labels = None
depends_on = None


def _renumber(table: str, group: str, column: str, where: str = "1 = 1") -> None:
    conn = op.get_bind()
    duplicates = conn.execute(sa.text(
        f"SELECT {group}, {column} FROM {table} WHERE {where} GROUP BY {group}, {column} HAVING COUNT(*) > 1")).all()
    for group_value, number in duplicates:
        rows = conn.execute(sa.text(
            f"SELECT id FROM {table} WHERE {where} AND {group} = :g AND {column} = :n ORDER BY created_at, id"),
            {"g": group_value, "n": number}).scalars().all()
        highest = conn.execute(sa.text(f"SELECT MAX({column}) FROM {table} WHERE {where} AND {group} = :g"),
                               {"g": group_value}).scalar()
        for row_id in rows[1:]:
            highest += 1
            conn.execute(sa.text(f"UPDATE {table} SET {column} = :n WHERE id = :id"), {"n": highest, "id": row_id})


def upgrade():
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(), nullable=True))

    _renumber('document', 'dataset_id', 'position')
    _renumber('segment', 'document_id', 'position')
    _renumber('app_config', 'app_id', 'version', "status = 'published'")
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index('ix_document_dataset_position')
        batch_op.create_index('uq_document_dataset_position', ['dataset_id', 'position'], unique=True)
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_document_position')
        batch_op.create_index('uq_segment_document_position', ['document_id', 'position'], unique=True)
    op.create_index('uq_app_config_app_version', 'app_config', ['app_id', 'version'], unique=True,
                    sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'"))


def downgrade():
    op.drop_index('uq_app_config_app_version', table_name='app_config')
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.drop_index('uq_segment_document_position')
        batch_op.create_index('ix_segment_document_position', ['document_id', 'position'], unique=False)
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index('uq_document_dataset_position')
        batch_op.create_index('ix_document_dataset_position', ['dataset_id', 'position'], unique=False)
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claimed_by')
