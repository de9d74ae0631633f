"""fencing tokens and the unconfirmed status

Each claim and each lease sweep raises ``publication.fence`` (the lease generation): a worker
sends only while its token is current, and its result is applied only where it still matches.
``unconfirmed`` (attempts ran out while a write may have reached the platform) is claimable, so
the claim index predicate names it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 01:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_NEW = ("(status = 'scheduled' OR status = 'retrying' OR status = 'processing' "
        "OR status = 'unconfirmed')")
_OLD = "(status = 'scheduled' OR status = 'retrying' OR status = 'processing')"


def _claim_index(predicate: str) -> None:
    op.drop_index("ix_publication_claim", table_name="publication")
    op.create_index(
        "ix_publication_claim", "publication", [sa.text("priority DESC"), "due_at"],
        sqlite_where=sa.text(predicate), postgresql_where=sa.text(predicate),
    )


def upgrade() -> None:
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fence', sa.Integer(), nullable=False, server_default='0'))
    _claim_index(_NEW)


def downgrade() -> None:
    _claim_index(_OLD)
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_column('fence')
