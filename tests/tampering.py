"""Getting past the audit log's append-only triggers, as someone with database access could.

The triggers are restored in the same transaction: the PostgreSQL database is shared by the
whole run, so a trigger left disabled would hide a real failure in a later test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from publisher.appendonly import statements


@contextmanager
def unguarded(conn: Connection) -> Iterator[None]:
    """Within the caller's transaction: drop (SQLite) or disable (PostgreSQL) the triggers,
    run the block, then put them back."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    yield
    if dialect == "sqlite":
        for sql in statements("sqlite"):
            conn.exec_driver_sql(sql)
    else:
        conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
