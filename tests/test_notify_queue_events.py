"""Notifications from the queue's result path: published (once the last publication is done),
serta-merta (to the PPID Utama at once), failed for good, and channel held — through the real
dispatcher and a real webhook receiver on loopback, on every backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, select, text

from publisher.channels.base import Receipt
from publisher.models import (
    Channel,
    ChannelStatus,
    Delivery,
    Notification,
    Opd,
    Publication,
    PublicationStatus,
    Role,
)
from publisher.notify.queue_events import record_events
from publisher.queue.claim import claim
from publisher.queue.record import Outcome, record, write_outcomes
from publisher.queue.retry import Decision
from publisher.runtime import Runtime
from publisher.services import channels
from publisher.timeutil import utcnow

from .factories import Factory, Person
from .loopback_http import LoopbackServer, send


def _rows(runtime: Runtime, kind: str) -> list[Notification]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(Notification).where(Notification.kind == kind)
                              .order_by(Notification.id)))
        s.expunge_all()
        return rows


@dataclass
class World:
    runtime: Runtime
    make: Factory
    opd: Opd
    drafter: Person
    editor: Person
    approver: Person
    outsider: Person
    admin: Person
    site: Channel
    hook: Channel
    server: LoopbackServer
    #: What the webhook receiver answers next: (status, body); the last one repeats.
    answers: list[tuple[int, bytes]]

    def item(self, channel_ids: list[int] | None = None, **data: Any) -> int:
        ids = [self.site.id, self.hook.id] if channel_ids is None else channel_ids
        return self.make.published_item(self.drafter, self.approver, self.opd, ids, **data).id

    def pubs(self, item_id: int) -> dict[int, Publication]:
        with self.runtime.db.read() as s:
            rows = s.scalars(select(Publication).where(Publication.item_id == item_id)).all()
            s.expunge_all()
            return {p.channel_id: p for p in rows}

    def pause(self, channel_id: int) -> None:
        with self.runtime.db.write() as s:
            channels.pause_channel(s, self.admin.principal, channel_id)

    def resume(self, channel_id: int) -> None:
        with self.runtime.db.write() as s:
            channels.resume_channel_by_id(s, self.admin.principal, channel_id)


@pytest.fixture()
def world(make: Factory, runtime: Runtime) -> Iterator[World]:
    opd = make.opd("Dinas Kesehatan")
    drafter = make.person(Role.EDITOR, opd, email="rina@dinkes.example")
    editor = make.person(Role.EDITOR, opd)
    approver = make.person(Role.APPROVER, opd, email="sari@dinkes.example")
    outsider = make.person(Role.APPROVER, make.opd("Dinas Pendidikan"), email="x@y.example")
    answers: list[tuple[int, bytes]] = [(200, b'{"id": "cms-1", "url": "https://cms.example/1"}')]

    def receiver(h: Any) -> None:
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        send(h, status, body, "application/json")

    with LoopbackServer() as server:
        server.route("/hook", receiver)
        site = make.channel(opd, "site", "Situs OPD")
        hook = make.channel(opd, "webhook", "CMS Kominfo", config={"url": server.url("/hook")})
        yield World(runtime, make, opd, drafter, editor, approver, outsider, make.admin(),
                    site, hook, server, answers)


def test_published_tells_the_drafter_once_the_last_publication_is_out(world: World) -> None:
    world.pause(world.hook.id)
    item_id = world.item(title="Jadwal imunisasi")
    world.make.dispatcher().drain()
    pubs = world.pubs(item_id)
    assert pubs[world.site.id].status == PublicationStatus.PUBLISHED
    assert pubs[world.hook.id].status == PublicationStatus.HELD  # still on its way
    assert _rows(world.runtime, "item_published") == []

    world.resume(world.hook.id)
    world.make.dispatcher().drain()
    pubs = world.pubs(item_id)
    assert pubs[world.hook.id].status == PublicationStatus.PUBLISHED
    (row,) = _rows(world.runtime, "item_published")  # in-app by default: one row
    assert (row.user_id, row.delivery) == (world.drafter.user_id, Delivery.INAPP)
    assert row.subject == "Terbit: Jadwal imunisasi"
    assert row.link == f"/admin/informasi/{item_id}"
    assert (row.item_id, row.opd_id) == (item_id, world.opd.id)
    lines = row.body_text.splitlines()
    assert lines[0] == '"Jadwal imunisasi" (Dinas Kesehatan) telah terbit:'
    assert lines[1:] == [f"- Situs OPD: {pubs[world.site.id].url}",
                         "- CMS Kominfo: https://cms.example/1"]
    # not a serta-merta item: the PPID Utama hears nothing
    assert _rows(world.runtime, "serta_merta_sent") == []


def test_a_channel_without_url_is_listed_by_name(world: World) -> None:
    world.answers[:] = [(200, b"{}")]  # the receiver keeps no public page
    item_id = world.item([world.hook.id])
    world.make.dispatcher().drain()
    assert world.pubs(item_id)[world.hook.id].status == PublicationStatus.PUBLISHED
    (row,) = _rows(world.runtime, "item_published")
    assert row.body_text.splitlines()[1:] == ["- CMS Kominfo"]


def test_serta_merta_goes_to_the_ppid_utama_at_once_and_once(world: World) -> None:
    world.pause(world.hook.id)
    item_id = world.item(title="Peringatan banjir", category="serta_merta")
    world.make.dispatcher().drain()
    site_url = world.pubs(item_id)[world.site.id].url
    rows = _rows(world.runtime, "serta_merta_sent")
    assert {r.user_id for r in rows} == {world.admin.user_id}  # before the item is done
    assert rows[0].subject == "Serta-merta: Peringatan banjir (Dinas Kesehatan)"
    assert rows[0].body_text.splitlines()[1:] == [f"- Situs OPD: {site_url}"]
    assert rows[0].link == f"/admin/informasi/{item_id}"
    assert _rows(world.runtime, "item_published") == []  # the webhook is still held

    world.resume(world.hook.id)
    world.make.dispatcher().drain()
    assert [r.id for r in _rows(world.runtime, "serta_merta_sent")] == [r.id for r in rows]
    (published,) = _rows(world.runtime, "item_published")
    assert published.user_id == world.drafter.user_id


def test_permanent_failure_tells_the_drafter_and_the_approvers(world: World) -> None:
    world.answers[:] = [(400, b'{"error": "judul terlalu panjang"}')]
    item_id = world.item([world.hook.id], title="Tarif retribusi")
    world.make.dispatcher().drain()
    pub = world.pubs(item_id)[world.hook.id]
    assert pub.status == PublicationStatus.FAILED
    rows = _rows(world.runtime, "publication_failed")
    assert {(r.user_id, r.delivery) for r in rows} == {
        (world.drafter.user_id, Delivery.INAPP), (world.drafter.user_id, Delivery.EMAIL),
        (world.approver.user_id, Delivery.INAPP), (world.approver.user_id, Delivery.EMAIL)}
    row = rows[0]
    assert row.subject == "Gagal terbit di CMS Kominfo: Tarif retribusi"
    assert "HTTP 400" in row.body_text and "judul terlalu panjang" in row.body_text
    assert (row.publication_id, row.item_id, row.link) == (
        pub.id, item_id, f"/admin/informasi/{item_id}")
    assert _rows(world.runtime, "item_published") == []


def test_last_publication_failing_still_tells_what_was_published(world: World) -> None:
    world.pause(world.hook.id)
    item_id = world.item(title="Jadwal posyandu")
    world.make.dispatcher().drain()
    assert world.pubs(item_id)[world.site.id].status == PublicationStatus.PUBLISHED
    assert _rows(world.runtime, "item_published") == []

    world.answers[:] = [(400, b'{"error": "kategori tidak ada"}')]
    world.resume(world.hook.id)
    world.make.dispatcher().drain()
    pubs = world.pubs(item_id)
    assert pubs[world.hook.id].status == PublicationStatus.FAILED
    (row,) = _rows(world.runtime, "item_published")
    assert row.user_id == world.drafter.user_id
    assert row.body_text.splitlines()[1:] == [f"- Situs OPD: {pubs[world.site.id].url}"]
    assert {r.user_id for r in _rows(world.runtime, "publication_failed")} == {
        world.drafter.user_id, world.approver.user_id}


def test_a_retry_is_not_a_failure(world: World) -> None:
    world.answers[:] = [(503, b"sibuk"), (200, b'{"id": "cms-9"}')]
    item_id = world.item([world.hook.id])
    world.make.dispatcher().drain()
    deadline = time.monotonic() + 10
    while world.pubs(item_id)[world.hook.id].status != PublicationStatus.PUBLISHED:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        world.make.dispatcher().drain()
    assert _rows(world.runtime, "publication_failed") == []
    assert len(_rows(world.runtime, "item_published")) == 1


def test_channel_needing_reauth_tells_the_approvers_and_editors(world: World) -> None:
    world.answers[:] = [(401, b"")]
    item_id = world.item([world.hook.id])
    world.make.dispatcher().drain()
    assert world.pubs(item_id)[world.hook.id].status == PublicationStatus.HELD
    with world.runtime.db.read() as s:
        assert s.get_one(Channel, world.hook.id).status == ChannelStatus.NEEDS_REAUTH
    rows = _rows(world.runtime, "channel_held")
    assert {r.user_id for r in rows} == {
        world.drafter.user_id, world.editor.user_id, world.approver.user_id}
    assert rows[0].subject == "Saluran perlu dihubungkan ulang: CMS Kominfo"
    assert "(Dinas Kesehatan) ditahan" in rows[0].body_text
    assert "HTTP 401" in rows[0].body_text
    assert (rows[0].link, rows[0].opd_id) == (f"/admin/saluran/{world.hook.id}", world.opd.id)
    # a second item on the held channel is held at claim time: no second notification
    world.item([world.hook.id])
    world.make.dispatcher().drain()
    assert len(_rows(world.runtime, "channel_held")) == len(rows)
    assert _rows(world.runtime, "publication_failed") == []


def _claim_all(runtime: Runtime, worker: str = "w") -> list[Any]:
    return claim(runtime.db, worker, 100, 30, utcnow())


def test_the_same_outcome_recorded_twice_notifies_once(world: World) -> None:
    item_id = world.item([world.site.id], category="serta_merta")
    failing = world.item([world.hook.id])
    claimed = {c.item["id"]: c for c in _claim_all(world.runtime)}
    done = Outcome(claimed[item_id], receipt=Receipt("r-1", "https://example.test/1"))
    failed = Outcome(claimed[failing], decision=Decision(
        PublicationStatus.FAILED, None, "permanent", "Ditolak platform"))
    for _ in range(2):
        record(world.runtime.db, "w", [done, failed], utcnow())
    assert [r.user_id for r in _rows(world.runtime, "item_published")] == [
        world.drafter.user_id]
    assert len(_rows(world.runtime, "serta_merta_sent")) == 1  # the admin has no email
    assert len(_rows(world.runtime, "publication_failed")) == 4  # 2 people, in-app + email


def test_reconciled_receipt_counts_as_published(world: World) -> None:
    item_id = world.item([world.site.id])
    (c,) = _claim_all(world.runtime)
    record(world.runtime.db, "w", [Outcome(c, receipt=Receipt("r-2", "https://x.test/2"),
                                           reconciled=True)], utcnow())
    (row,) = _rows(world.runtime, "item_published")
    assert row.item_id == item_id and "https://x.test/2" in row.body_text


def test_a_late_receipt_for_a_cancelled_publication_tells_nobody(world: World) -> None:
    item_id = world.item([world.site.id])
    (c,) = _claim_all(world.runtime)
    with world.runtime.db.write_conn() as conn:
        conn.execute(text("UPDATE publication SET status = 'cancelled' WHERE item_id = :i"),
                     {"i": item_id})
    record(world.runtime.db, "w", [Outcome(c, receipt=Receipt("r-3"))], utcnow())
    assert _rows(world.runtime, "item_published") == []


def _count_statements(runtime: Runtime) -> tuple[list[str], Any]:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", listener)
    return seen, listener


def test_a_batch_with_nothing_to_tell_adds_no_query(world: World) -> None:
    world.item([world.site.id])
    world.item([world.hook.id])
    claimed = _claim_all(world.runtime)
    retrying = [Outcome(c, decision=Decision(PublicationStatus.RETRYING, utcnow(), "transient",
                                             "coba lagi")) for c in claimed]
    seen, listener = _count_statements(world.runtime)
    try:
        with world.runtime.db.write_conn() as conn:
            before = len(seen)
            record_events(conn, retrying, [], utcnow())
            assert len(seen) == before
    finally:
        event.remove(world.runtime.db.engine, "before_cursor_execute", listener)


def test_a_published_batch_reads_its_publications_in_one_query(world: World) -> None:
    ids = [world.item([world.site.id]) for _ in range(3)]
    claimed = _claim_all(world.runtime)
    assert sorted(c.item["id"] for c in claimed) == ids
    outcomes = [Outcome(c, receipt=Receipt(f"r-{c.id}")) for c in claimed]
    seen, listener = _count_statements(world.runtime)
    try:
        with world.runtime.db.write_conn() as conn:
            write_outcomes(conn, "w", outcomes, utcnow())
    finally:
        event.remove(world.runtime.db.engine, "before_cursor_execute", listener)
    assert sum("FROM publication p JOIN" in s for s in seen) == 1
    assert len(_rows(world.runtime, "item_published")) == 3


def test_two_workers_finishing_the_last_two_publications_notify_once(
        world: World, database_url: str) -> None:
    """PostgreSQL: each worker sees its own publication published and the other's still
    sending unless the second waits for the first (the item's advisory lock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers already (BEGIN IMMEDIATE)")
    item_id = world.item()
    first, second = sorted(_claim_all(world.runtime), key=lambda c: c.id)
    db = world.runtime.db
    errors: list[BaseException] = []
    with db.write_conn() as conn_a:
        write_outcomes(conn_a, "w", [Outcome(first, receipt=Receipt("a"))], utcnow())
        pid_a = conn_a.exec_driver_sql("SELECT pg_backend_pid()").scalar()

        def worker_b() -> None:
            try:
                with db.write_conn() as conn_b:
                    write_outcomes(conn_b, "w", [Outcome(second, receipt=Receipt("b"))],
                                   utcnow())
            except BaseException as exc:  # reported by the test below
                errors.append(exc)

        thread = threading.Thread(target=worker_b)
        thread.start()
        deadline = time.monotonic() + 10
        with db.engine.connect() as probe:  # wait until B waits for A's lock
            while not probe.exec_driver_sql(
                    "SELECT 1 FROM pg_locks WHERE NOT granted AND pid <> %s "
                    "AND pid <> pg_backend_pid()", (pid_a,)).first():
                assert time.monotonic() < deadline and thread.is_alive()
                time.sleep(0.02)
        assert _rows(world.runtime, "item_published") == []
    thread.join(10)
    assert not errors
    assert {p.status for p in world.pubs(item_id).values()} == {PublicationStatus.PUBLISHED}
    (row,) = _rows(world.runtime, "item_published")
    assert len(row.body_text.splitlines()) == 3  # both publications listed


def test_an_item_locked_by_a_service_does_not_block_recording(
        world: World, database_url: str) -> None:
    """PostgreSQL: editing an approved item updates the item, then locks its publications.
    Recording a publication of it meanwhile (its row already locked by the batch) must not
    wait for the item row, or each would wait for the other (a deadlock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers already (BEGIN IMMEDIATE)")
    item_id = world.item()
    first, _second = sorted(_claim_all(world.runtime), key=lambda c: c.id)
    db = world.runtime.db
    done = threading.Event()
    errors: list[BaseException] = []
    with db.engine.connect() as service:
        service.exec_driver_sql("UPDATE item SET title = title WHERE id = %s", (item_id,))

        def record() -> None:
            try:
                with db.write_conn() as conn:
                    write_outcomes(conn, "w", [Outcome(first, receipt=Receipt("a"))], utcnow())
                done.set()
            except BaseException as exc:  # reported by the test below
                errors.append(exc)

        thread = threading.Thread(target=record)
        thread.start()
        finished = done.wait(10)
        service.rollback()
    thread.join(10)
    assert finished and not errors, errors
    statuses = {p.id: p.status for p in world.pubs(item_id).values()}
    assert statuses[first.id] == PublicationStatus.PUBLISHED
