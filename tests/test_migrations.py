"""The shipped migration builds exactly the schema the models describe, on every backend."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from publisher.db import Base, Database
from publisher.migrate import current_revision, head_revision, upgrade


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
