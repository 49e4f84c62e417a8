"""app_config: the course front end's draft-config keys that have no column yet

tools, workflows, opening_questions, speech_to_text, text_to_speech, suggested_after_answer and
review_config, one JSON column each (existing rows get the empty defaults).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = (
    ('tools', '[]'),
    ('workflows', '[]'),
    ('opening_questions', '[]'),
    ('speech_to_text', '{}'),
    ('text_to_speech', '{}'),
    ('suggested_after_answer', '{}'),
    ('review_config', '{}'),
)


def upgrade():
    with op.batch_alter_table('app_config', schema=None) as batch_op:
        for name, default in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text(f"'{default}'")))


def downgrade():
    with op.batch_alter_table('app_config', schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
