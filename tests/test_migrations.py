"""The shipped migration builds exactly the schema the models describe, on every backend."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from publisher.db import Base, Database
from publisher.migrate import current_revision, head_revision, upgrade
from publisher.models import CLAIMABLE_SQL
from publisher.queue.record import _PUBLISHED

from .conftest import PostgresServer, missing_service


def test_migration_matches_models(database_url: str) -> None:
    db = Database(database_url)
    upgrade(db)  # idempotent on an up-to-date database
    assert current_revision(db) == head_revision(db)
    with db.engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes cannot be compared
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("publication")}
    # The claim index is an expression index: checked by name below, not compared.
    diff = [
        d for d in diff
        if not (d[0].endswith("_index") and d[1].name == "ix_publication_claim")
    ]
    assert diff == [], diff
    assert "ix_publication_claim" in indexes
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | None
) -> str:
    """A database with no schema yet, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    if postgres_server is None:
        missing_service("PostgreSQL not configured: set PUBLISHER_TEST_DATABASE_URL")
    assert postgres_server is not None
    return postgres_server.create("publisher_migrate")


def _claim_index_predicate(db: Database) -> str:
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            sql = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_publication_claim'")).scalar_one()
        else:
            sql = conn.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_publication_claim'"
            )).scalar_one()
    return str(sql).split(" WHERE ", 1)[1]


def test_upgrade_from_the_first_release_rewrites_the_claim_index(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    upgrade(db, "0001")
    first = _claim_index_predicate(db)
    assert " IN " in first or "ANY" in first, first
    with db.engine.begin() as conn:  # rows stored before the upgrade stay (the 0001 columns)
        conn.execute(text(
            "INSERT INTO opd (name, slug, timezone, approval_required, color, description, "
            "created_at) VALUES ('Dinas Kesehatan', 'dinkes', 'Asia/Jakarta', TRUE, '#0b6e4f', "
            "'', CURRENT_TIMESTAMP)"))
    upgrade(db)
    predicate = _claim_index_predicate(db)
    assert " IN " not in predicate and "ANY" not in predicate, predicate
    if db.dialect == "sqlite":
        assert predicate == CLAIMABLE_SQL
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT slug FROM opd")).scalars().all() == ["dinkes"]
    db.dispose()


def test_status_updates_build_no_temporary_btree(tmp_path: Path) -> None:
    """SQLite builds a temporary b-tree for an IN list of three or more constants each time it
    evaluates one; the claim index's predicate is evaluated for every row an UPDATE changes,
    and the receipt UPDATE runs once per publication. Neither may do that."""
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(db)
    statements = [
        "UPDATE publication SET status = 'sending' WHERE id = ?",
        _PUBLISHED.replace("{p}", "?"),
    ]
    with db.engine.connect() as conn:
        for sql in statements:
            program = conn.exec_driver_sql(
                "EXPLAIN " + sql, tuple([None] * sql.count("?"))).all()
            opcodes = [row[1] for row in program]
            assert "OpenEphemeral" not in opcodes, sql
    db.dispose()
