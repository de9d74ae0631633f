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
from datetime import UTC, date, datetime
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
    # A batch shares one timestamp, so this is mostly a cache hit. The first 26 characters of
    # the ISO form are "%Y-%m-%d %H:%M:%S.%f" (strftime takes twice as long).
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def db_json(value: Any) -> str:
    """A JSON column value."""
    return _JSON.encode(value)


def executemany(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``sql`` (with ``{p}`` for each parameter marker) once per row."""
    if rows:
        conn.exec_driver_sql(sql.replace("{p}", placeholder(conn)), [tuple(r) for r in rows])


def from_db_datetime(value: Any) -> datetime | None:
    """A UTCDateTime column value read by the driver, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        # SQLite's text is UTC without an offset; parsing it with one is cheaper than
        # replace(tzinfo=UTC) afterwards.
        try:
            value = datetime.fromisoformat(value + "+00:00")
        except ValueError:  # it has an offset already, or another shape: parse it as it is
            value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_db_date(value: Any) -> date | None:
    """A Date column value read by the driver."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def from_db_json(value: Any) -> Any:
    """A JSON column value read by the driver (psycopg already parses it)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement (``{p}`` for each parameter marker); returns plain tuples."""
    return [tuple(row) for row in conn.exec_driver_sql(sql.replace("{p}", placeholder(conn)),
                                                       tuple(params))]


def select_in(conn: Connection, sql: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """Run ``sql`` whose ``{ids}`` is replaced by one marker per id; returns plain tuples."""
    if not ids:
        return []
    marker = placeholder(conn)
    statement = sql.replace("{ids}", ", ".join([marker] * len(ids)))
    return [tuple(row) for row in conn.exec_driver_sql(statement, tuple(ids))]


def changed(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
    """Run the UPDATE ``sql`` (``{p}`` for each parameter marker) once per row; returns the
    indexes of the rows whose statement changed something, so callers act only on changes
    that happened. PostgreSQL: ``RETURNING``, pipelined in one round trip; SQLite: each
    statement's change count (its RETURNING would buffer into a temporary table)."""
    if not rows:
        return []
    statement = sql.replace("{p}", placeholder(conn))
    cursor = conn.connection.cursor()
    out: list[int] = []
    try:
        if conn.dialect.name == "postgresql":
            cursor.executemany(statement + " RETURNING 1",  # type: ignore[call-arg]
                               [tuple(r) for r in rows], returning=True)  # psycopg 3
            index = 0
            while True:
                if cursor.fetchall():
                    out.append(index)
                index += 1
                if not cursor.nextset():
                    break
        else:
            for index, row in enumerate(rows):
                cursor.execute(statement, tuple(row))
                if cursor.rowcount > 0:
                    out.append(index)
    finally:
        cursor.close()
    return out
