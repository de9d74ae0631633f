"""server-side sessions of the admin UI

A signed cookie alone cannot be taken back: a copy made before signing out kept working. Each
sign-in now has a row (only the SHA-256 of its random id is stored) that signing out, a
password change, a removed role, a deactivated user or an admin revokes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 00:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import publisher.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('revoked_at', publisher.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
