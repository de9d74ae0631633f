"""The queue's driver-level conversions store and read datetimes exactly as the ORM does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, select

from publisher.db import Database, UTCDateTime
from publisher.queue import rawsql

WIB = timezone(timedelta(hours=7))


@pytest.mark.parametrize("moment", [
    datetime(2026, 11, 27, 16, 47, 5, 123456, tzinfo=UTC),
    datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 11, 27, 23, 30, tzinfo=WIB),  # another zone: stored as UTC
])
def test_sqlite_text_is_what_the_orm_stores(tmp_path: Path, moment: datetime) -> None:
    db = Database(f"sqlite:///{tmp_path / 'dt.db'}")
    stamp = Table("stamp", MetaData(), Column("at", UTCDateTime()))
    with db.engine.begin() as conn:
        stamp.create(conn)
        conn.execute(stamp.insert(), {"at": moment})
        stored_by_sqlalchemy = conn.exec_driver_sql("SELECT at FROM stamp").scalar_one()
        assert rawsql.db_datetime(conn, moment) == stored_by_sqlalchemy
        assert rawsql.from_db_datetime(stored_by_sqlalchemy) == moment
        conn.exec_driver_sql("DELETE FROM stamp")
        conn.exec_driver_sql("INSERT INTO stamp (at) VALUES (?)",
                             (rawsql.db_datetime(conn, moment),))
        assert conn.execute(select(stamp.c.at)).scalar_one() == moment  # the ORM reads it back
    db.dispose()


@pytest.mark.parametrize(("stored", "expected"), [
    ("2026-11-27 16:47:05.123456", datetime(2026, 11, 27, 16, 47, 5, 123456, tzinfo=UTC)),
    ("2026-11-27 16:47:05", datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC)),
    ("2026-11-27 23:47:05+07:00", datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC)),
    ("2026-11-27T13:47:05.5-03:00", datetime(2026, 11, 27, 16, 47, 5, 500000, tzinfo=UTC)),
    ("2026-11-27 16:47:05Z", datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC)),
    ("2026-11-27 23:47:05+0700", datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC)),
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),  # a date alone: midnight UTC
    (datetime(2026, 11, 27, 23, 47, 5, tzinfo=WIB), datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC)),
    (datetime(2026, 11, 27, 16, 47, 5), datetime(2026, 11, 27, 16, 47, 5, tzinfo=UTC)),
    (None, None),
])
def test_read_datetimes_are_utc(stored: object, expected: datetime | None) -> None:
    value = rawsql.from_db_datetime(stored)
    assert value == expected
    if value is not None:
        assert value.utcoffset() == timedelta(0)
