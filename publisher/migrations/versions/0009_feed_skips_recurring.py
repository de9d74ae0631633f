"""feeds: why an entry was skipped, and recurring announcements

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feed_entry_seen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skip_reason', sa.String(length=40), nullable=True))
    with op.batch_alter_table('feed_source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recurring', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('feed_source', schema=None) as batch_op:
        batch_op.drop_column('recurring')
    with op.batch_alter_table('feed_entry_seen', schema=None) as batch_op:
        batch_op.drop_column('skip_reason')
