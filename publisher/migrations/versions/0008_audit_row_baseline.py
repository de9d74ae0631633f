"""audit row fingerprints: a baseline for the rows an older release wrote

From this release every write of a tracked row (items' content and DIK link, DIK entries and
versions, atasan designations, users, memberships, channel settings) leaves an ``audit.row``
event with a fingerprint of its audited columns, and ``audit verify`` checks every row
against it. Rows written before have no such event: this records each one as it is now, so
verify can tell later changes apart.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 02:00:00
"""
from __future__ import annotations

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from publisher import audit, audit_rows

    conn = op.get_bind()
    actor = audit.Actor.system("upgrade-0008")
    for model in audit_rows.TRACKED:
        ids = [r[0] for r in conn.execute(model.__table__.select().with_only_columns(
            model.__table__.c.id))]
        for start in range(0, len(ids), 1000):
            events = audit_rows.row_events(conn, model, ids[start:start + 1000], actor)
            if events:
                audit._write(conn, events)


def downgrade() -> None:
    pass  # events are never removed from the log
