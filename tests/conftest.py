"""Shared fixtures: every database test runs on SQLite and, when PostgreSQL is configured,
on PostgreSQL too (one contract suite for both backends, as huey does).

Environment:
- ``PUBLISHER_TEST_DATABASE_URL``: a PostgreSQL server URL (e.g.
  ``postgresql://postgres@127.0.0.1:5432/postgres``); each test run creates and drops its own
  database on it.
- ``PUBLISHER_TEST_REQUIRE``: when set, a missing service fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from publisher import security
from publisher.config import Settings
from publisher.db import Base, Database
from publisher.migrate import upgrade
from publisher.runtime import Runtime

from .factories import Factory
from .telegram_server import BotApi

REQUIRE = bool(os.environ.get("PUBLISHER_TEST_REQUIRE"))
# Cheap scrypt parameters for the suite's many users, in this process only (the service reads
# no setting for it); see publisher.security.PASSWORD_METHOD.
security.PASSWORD_METHOD = "scrypt:1024:8:1"


def missing_service(reason: str) -> None:
    """Skip (on a laptop) or fail (in CI) when a service a test needs is not there."""
    if REQUIRE:
        pytest.fail(f"{reason} (PUBLISHER_TEST_REQUIRE is set)")
    pytest.skip(reason)


# --- PostgreSQL: one database per test run, truncated between tests -------------------------


class PostgresServer:
    """Creates throwaway databases on the configured server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, prefix: str = "publisher_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    url = os.environ.get("PUBLISHER_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    server = PostgresServer(url)
    try:
        with server.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        server.admin.dispose()
        if REQUIRE:
            raise RuntimeError(f"PostgreSQL at {url} is not reachable: {exc}") from exc
        yield None
        return
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer | None) -> str | None:
    """A migrated PostgreSQL database shared by the run (truncated before each test)."""
    if postgres_server is None:
        return None
    url = postgres_server.create()
    db = Database(url)
    upgrade(db)
    db.dispose()
    return url


def _truncate_postgres(url: str) -> None:
    engine = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    # Only tables the migrations made (a model may be newer than the migration for a while).
    existing = set(inspect(engine).get_table_names())
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name in existing)
    with engine.connect() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture()
def pg_database_url(postgres_template: str | None) -> str:
    """A clean PostgreSQL database (for tests that need PostgreSQL itself)."""
    if postgres_template is None:
        missing_service("PostgreSQL not configured: set PUBLISHER_TEST_DATABASE_URL")
    assert postgres_template is not None
    _truncate_postgres(postgres_template)
    return postgres_template


# --- SQLite: a migrated template file copied per test ---------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "publisher.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
    postgres_template: str | None,
) -> str:
    """A clean database on each backend (the PostgreSQL run skips when not configured)."""
    if request.param == "sqlite":
        target = tmp_path / "publisher.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    if postgres_template is None:
        missing_service("PostgreSQL not configured: set PUBLISHER_TEST_DATABASE_URL")
    assert postgres_template is not None
    _truncate_postgres(postgres_template)
    return postgres_template


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    """Settings for tests: loopback allowed, fast retries, a fixed secret."""
    values: dict[str, object] = {
        "instance_path": tmp_path / "instance",
        "database_url": database_url,
        "secret_key": "test-secret-key-not-for-production",
        "public_base_url": "http://127.0.0.1:5000",
        "allow_loopback": True,
        "retry_base_seconds": 0.05,
        "retry_cap_seconds": 0.5,
        "http_timeout": 5.0,
        "lease_seconds": 30,
        # Nothing listens on port 9: a test that forgets its fake Graph server fails there
        # instead of sending traffic to Meta.
        "graph_url": "http://127.0.0.1:9",
    }
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.finish()
    return settings


@pytest.fixture()
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture()
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.db.dispose()


@pytest.fixture()
def app(runtime: Runtime):
    from publisher.app import create_app

    return create_app(runtime=runtime, test_config={"TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def make(runtime: Runtime) -> Factory:
    """Builds OPDs, users, tokens, channels and items through the real services."""
    return Factory(runtime)


from .dik_support import office  # noqa: E402, F401 - the DIK fixture, for every layer's tests


@pytest.fixture()
def bot() -> Iterator[BotApi]:
    """A loopback Telegram Bot API server (tests.telegram_server)."""
    with BotApi() as api:
        yield api


# After make_settings, which it uses: the Graph world fixture, for every module.
from .meta_world import world  # noqa: E402, F401
