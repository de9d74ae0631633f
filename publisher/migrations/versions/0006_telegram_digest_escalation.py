"""Telegram chats, daily digests and escalation rules

A person links a Telegram chat with a one-time code (only its hash is kept); each preference
says whether email/Telegram go out at once or in a daily digest at the person's hour; the
PPID Utama's escalation rules, and the escalations that fired (each once).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import publisher.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_chat_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('telegram_chat_title', sa.String(length=200),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('digest_hour', sa.Integer(), nullable=False,
                                      server_default='7'))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timing', sa.String(length=20), nullable=False,
                                      server_default='immediate'))
    op.create_table('telegram_link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', publisher.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('telegram_link_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_link_code_user_id'), ['user_id'],
                              unique=False)
    op.create_table('service_state',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('escalation_rule',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('escalation_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('subject_key', sa.String(length=200), nullable=False),
    sa.Column('opd_id', sa.Integer(), nullable=True),
    sa.Column('fired_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'subject_key')
    )
    with op.batch_alter_table('escalation_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_sent_opd_id'), ['opd_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalation_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_sent_opd_id'))
    op.drop_table('escalation_sent')
    op.drop_table('escalation_rule')
    op.drop_table('service_state')
    with op.batch_alter_table('telegram_link_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_link_code_user_id'))
    op.drop_table('telegram_link_code')
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.drop_column('timing')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('digest_id')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('digest_hour')
        batch_op.drop_column('telegram_chat_title')
        batch_op.drop_column('telegram_chat_id')
