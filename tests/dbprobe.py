"""Look at the database from outside the code under test (a second connection)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def open_transactions(database_url: str) -> int:
    """Transactions other connections hold open right now (SQLite: a held write lock)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        lite = sqlite3.connect(url.database or "", timeout=0.5, isolation_level=None)
        try:
            lite.execute("BEGIN IMMEDIATE")
            lite.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            lite.close()
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")) or 0)
    finally:
        engine.dispose()
