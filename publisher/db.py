"""Engine, sessions and column types shared by every part of the service.

SQLite is the embedded default; PostgreSQL serves any number of workers. On SQLite, write
transactions start with ``BEGIN IMMEDIATE`` so that two writers queue up on the lock instead of
failing half-way with "database is locked".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

IMMEDIATE = "publisher_sqlite_immediate"
#: PostgreSQL: the longest any statement waits for a lock (milliseconds), on every connection.
#: A waiter gives up with an error (the queue retries its transaction) instead of hanging
#: behind a process that stopped while holding a lock.
LOCK_TIMEOUT_MS = 5000
#: PostgreSQL: how long a queue transaction may sit idle before the server ends it
#: (milliseconds). Queue transactions never wait on anything but the database, so an idle
#: one belongs to a process that was paused or frozen; its locks must not stall the cluster.
QUEUE_IDLE_TIMEOUT_MS = 3000
_QUEUE_GUARDS = (
    f"SELECT set_config('idle_in_transaction_session_timeout', '{QUEUE_IDLE_TIMEOUT_MS}', true)"
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


def insert_for(conn: Connection | Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``model`` in the connection's dialect, for ``on_conflict_do_*``."""
    connection = conn.connection() if isinstance(conn, Session) else conn
    if connection.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the backend (WAL and immediate write locks on SQLite)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path:
            private_sqlite_file(path)
        engine = create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            poolclass=kwargs.pop("poolclass", None) or _sqlite_pool(url),
            **kwargs,
        )
        _setup_sqlite(engine, path)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("options", f"-c lock_timeout={LOCK_TIMEOUT_MS}")
    return create_engine(url, connect_args=connect_args, **kwargs)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL, or None for an in-memory (or ``file:`` URI) database."""
    database = make_url(url).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def private_sqlite_file(path: str, create: bool = True) -> None:
    """Make the SQLite file at ``path`` 0600: created so before SQLite would (with 0644), or
    tightened. SQLite gives its -wal and -shm files the database file's mode."""
    with contextlib.suppress(OSError):  # no folder yet, or not our file: SQLite will say
        if create:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)


def _sqlite_pool(url: str) -> Any:
    from sqlalchemy.pool import QueuePool, StaticPool

    if ":memory:" in url or url in ("sqlite://", "sqlite+pysqlite://"):
        return StaticPool
    return QueuePool


def _setup_sqlite(engine: Engine, path: str | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if path:  # a file SQLite made itself (its folder came later): tighten before the WAL
            private_sqlite_file(path, create=False)
        # Let SQLAlchemy (not the driver) emit BEGIN, so we can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One engine plus session factories; shared by the web app and the workers."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self, write: bool = False) -> Session:
        """A new ORM session; ``write=True`` takes the SQLite write lock at its first statement."""
        session = self.sessionmaker()
        if write and self.dialect == "sqlite":
            session.connection(execution_options={IMMEDIATE: True})
        return session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write session committed on success and rolled back on error."""
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read session, always closed afterwards."""
        session = self.session()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def write_conn(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, for the queue's hot path. On PostgreSQL
        the server ends the transaction if it sits idle for a few seconds."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(_QUEUE_GUARDS)
                yield conn

    @contextmanager
    def single_statement(self) -> Iterator[Connection]:
        """A connection for one write statement that commits by itself: on PostgreSQL in
        autocommit (one round trip instead of BEGIN, the statement and COMMIT); on SQLite in
        its own ``BEGIN IMMEDIATE`` transaction."""
        if self.dialect == "sqlite":
            with self.write_conn() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def dispose(self) -> None:
        """Close every pooled connection (after a fork, or at shutdown)."""
        self.engine.dispose()


__all__ = ["Base", "Database", "NullPool", "UTCDateTime", "insert_for", "make_engine",
           "normalise_url"]
