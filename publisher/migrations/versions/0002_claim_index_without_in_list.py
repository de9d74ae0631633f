"""claim index predicate without an IN list

SQLite builds a temporary b-tree for an IN list of three or more constants each time it
evaluates one, and a partial index's predicate is evaluated for the old and the new row of
every UPDATE of the table: two temporary b-trees for every publication claimed or completed.
The same predicate written with OR is evaluated in place.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_NEW = "(status = 'scheduled' OR status = 'retrying' OR status = 'processing')"
_OLD = "status IN ('scheduled', 'retrying', 'processing')"


def _claim_index(predicate: str) -> None:
    op.drop_index("ix_publication_claim", table_name="publication")
    op.create_index(
        "ix_publication_claim", "publication", [sa.text("priority DESC"), "due_at"],
        sqlite_where=sa.text(predicate), postgresql_where=sa.text(predicate),
    )


def upgrade() -> None:
    _claim_index(_NEW)


def downgrade() -> None:
    _claim_index(_OLD)
