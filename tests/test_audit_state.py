"""State ⇔ audit: a status changed in the database without an audit event is named by
``audit verify``, even though the hash chain itself is intact."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from publisher import audit
from publisher.models import Item, Publication, Role
from publisher.services import items

from .factories import Factory
from .test_audit_tamper import _verify_cli


def _world(make: Factory) -> tuple[int, int, int]:
    """A published item, a draft and a cancelled item; returns (published pub, draft item,
    cancelled item)."""
    opd = make.opd("Dinas Uji Status")
    editor = make.person(Role.EDITOR, opd)
    approver = make.person(Role.APPROVER, opd)
    site = make.channel(opd, "site")
    hook = make.channel(opd, "site", "Situs kedua")
    done = make.published_item(editor, approver, opd, [site.id, hook.id])
    make.dispatcher().drain()
    draft = make.item(editor, opd, [site.id])
    later = make.published_item(editor, approver, opd, [site.id], schedule=make.in_a_minute())
    with make.runtime.db.write() as s:
        items.cancel_item(s, approver.principal, make.runtime.settings, later.id)
    with make.runtime.db.read() as s:
        pub = s.scalars(select(Publication.id).where(Publication.item_id == done.id)).first()
    assert pub is not None
    return pub, draft.id, later.id


def _sql(runtime: Any, statement: str) -> None:
    with runtime.db.engine.begin() as conn:
        conn.execute(text(statement))


def test_every_workflow_leaves_state_and_log_in_agreement(make: Factory, runtime: Any) -> None:
    _world(make)
    with runtime.db.read() as s:
        result = audit.verify(s)
    assert result.ok, result.problems


def test_publication_status_changed_without_event(make: Factory, runtime: Any) -> None:
    pub, _draft, _cancelled = _world(make)
    _sql(runtime, f"UPDATE publication SET status = 'failed' WHERE id = {pub}")
    done = _verify_cli(runtime)
    assert done.returncode == 1, done.stdout
    assert (f"publication #{pub} is failed but its last audit event says published: "
            "changed without an audit event") in done.stdout
    assert done.stdout.count("MASALAH") == 1, done.stdout


def test_item_status_changed_without_event(make: Factory, runtime: Any) -> None:
    _pub, draft, cancelled = _world(make)
    _sql(runtime, f"UPDATE item SET status = 'approved' WHERE id = {draft}")
    _sql(runtime, f"UPDATE item SET status = 'approved' WHERE id = {cancelled}")
    _sql(runtime, f"UPDATE publication SET status = 'scheduled' WHERE item_id = {cancelled}")
    with runtime.db.read() as s:
        problems = audit.verify(s).problems
    assert f"item #{draft} is approved but its last audit event says draft: " \
           "changed without an audit event" in problems
    assert f"item #{cancelled} is approved but its last audit event says cancelled: " \
           "changed without an audit event" in problems
    assert any(p.startswith("publication #") and "says cancelled" in p for p in problems)


def test_deleted_rows_are_named(make: Factory, runtime: Any) -> None:
    pub, draft, _cancelled = _world(make)
    _sql(runtime, f"DELETE FROM publication WHERE id = {pub}")
    with runtime.db.read() as s:
        problems = audit.verify(s).problems
    assert f"1 publication row(s) named in the audit log are missing from the database: #{pub}" \
        in problems
    with runtime.db.read() as s:
        assert s.get(Item, draft) is not None
