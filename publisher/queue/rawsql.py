"""Driver-level statements for the queue's hottest writes.

SQLAlchemy's per-row parameter processing costs more than the work itself when thousands of
publications complete per second, so these few statements go to the driver's executemany
directly. Values are converted here exactly as the column types would store them (SQLite:
``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC; PostgreSQL: aware datetimes), so ORM reads are
unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

_JSON = json.JSONEncoder(separators=(", ", ": "))


def placeholder(conn: Connection) -> str:
    """The driver's parameter marker."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def db_datetime(conn: Connection, value: datetime | None) -> Any:
    """A datetime as the UTCDateTime column stores it on this backend."""
    if value is None:
        return None
    if conn.dialect.name == "sqlite":
        return _sqlite_text(value)
    return value.astimezone(UTC)


@lru_cache(maxsize=64)
def _sqlite_text(value: datetime) -> str:
    # A batch shares one timestamp, so this is mostly a cache hit.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def db_json(value: Any) -> str:
    """A JSON column value."""
    return _JSON.encode(value)


def executemany(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``sql`` (with ``{p}`` for each parameter marker) once per row."""
    if rows:
        conn.exec_driver_sql(sql.replace("{p}", placeholder(conn)), [tuple(r) for r in rows])
