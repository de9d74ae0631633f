"""DIK entries, uji konsekuensi versions, designations, days off

The Daftar Informasi yang Dikecualikan: an entry per kind of exempted information, its
consequence tests as versions (never overwritten once signed), the atasan PPID who approves
them, items pointing at the entry that exempts them, and a Pemda's own days off for the
working-day calendar.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:07:08.252577
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import publisher.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daily_job',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('ran_at', publisher.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('day_off',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('created_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('dik_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opd_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approved_version', sa.Integer(), nullable=True),
    sa.Column('latest_version', sa.Integer(), nullable=False),
    sa.Column('conclusion', sa.String(length=20), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', publisher.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['opd_id'], ['opd.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dik_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dik_entry_opd_id'), ['opd_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dik_entry_status'), ['status'], unique=False)

    op.create_table('official_designation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opd_id', sa.Integer(), nullable=False),
    sa.Column('office', sa.String(length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('nip', sa.String(length=30), nullable=False),
    sa.Column('jabatan', sa.String(length=200), nullable=False),
    sa.Column('updated_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['opd_id'], ['opd.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('opd_id', 'office')
    )
    op.create_table('dik_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('article', sa.String(length=1), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('holder_unit', sa.String(length=300), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('until_event', sa.String(length=300), nullable=False),
    sa.Column('review_date', sa.Date(), nullable=True),
    sa.Column('harm', sa.Text(), nullable=False),
    sa.Column('public_interest', sa.Text(), nullable=False),
    sa.Column('weighing', sa.Text(), nullable=False),
    sa.Column('conclusion', sa.String(length=20), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('test_date', sa.Date(), nullable=True),
    sa.Column('drafted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', publisher.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitter', sa.JSON(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', publisher.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approver', sa.JSON(), nullable=False),
    sa.Column('return_comment', sa.Text(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', publisher.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['drafted_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['dik_entry.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_id', 'version')
    )
    with op.batch_alter_table('dik_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dik_version_entry_id'), ['entry_id'], unique=False)

    with op.batch_alter_table('opd', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dik_entry_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dik_redacted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_item_dik_entry_id'), ['dik_entry_id'], unique=False)
        batch_op.create_foreign_key('fk_item_dik_entry_id', 'dik_entry', ['dik_entry_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_constraint('fk_item_dik_entry_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_item_dik_entry_id'))
        batch_op.drop_column('dik_redacted')
        batch_op.drop_column('dik_entry_id')

    with op.batch_alter_table('opd', schema=None) as batch_op:
        batch_op.drop_column('address')

    with op.batch_alter_table('dik_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dik_version_entry_id'))

    op.drop_table('dik_version')
    op.drop_table('official_designation')
    with op.batch_alter_table('dik_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dik_entry_status'))
        batch_op.drop_index(batch_op.f('ix_dik_entry_opd_id'))

    op.drop_table('dik_entry')
    op.drop_table('day_off')
    op.drop_table('daily_job')
