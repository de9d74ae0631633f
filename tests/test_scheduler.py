"""The scheduler starts publications on time and stops cleanly."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from publisher.channels.webhook import new_signing_secret
from publisher.models import Publication, PublicationStatus, Role
from publisher.scheduler import Worker
from publisher.services import items
from publisher.timeutil import utcnow

from .factories import Factory
from .waiting import eventually
from .webhook_receiver import WebhookReceiver


def _webhook_items(make: Factory, receiver: WebhookReceiver, secret: str, count: int) -> None:
    """``count`` approved items due now, each on one webhook channel to ``receiver`` (which
    also answers lookups, so a send can be reconciled)."""
    opd = make.opd()
    editor, approver = make.person(Role.EDITOR, opd), make.person(Role.APPROVER, opd)
    hook = make.channel(opd, "webhook",
                        config={"url": receiver.url, "lookup_url": receiver.lookup_url},
                        secrets={"signing_secret": secret})
    for _ in range(count):
        make.published_item(editor, approver, opd, [hook.id])


def test_publication_due_at_t_starts_within_a_second(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    opd = make.opd("Dinas Kesehatan", timezone="Asia/Makassar")
    editor, approver = make.person(Role.EDITOR, opd), make.person(Role.APPROVER, opd)
    site = make.channel(opd, "site")
    worker = Worker(runtime, "latency-test")
    worker.start()
    try:
        time.sleep(1.5)  # an idle, running scheduler
        due = utcnow() + timedelta(seconds=2.5)
        item = make.item(editor, opd, [site.id], schedule={"mode": "at", "at": due.isoformat()})
        with runtime.db.write() as s:
            items.submit_item(s, editor.principal, runtime.settings, item.id)
        with runtime.db.write() as s:
            items.approve_item(s, approver.principal, runtime.settings, item.id)

        def published() -> bool:
            with runtime.db.read() as s:
                return s.scalar(select(Publication.status).where(
                    Publication.item_id == item.id)) == PublicationStatus.PUBLISHED

        assert eventually(published, 15)
        with runtime.db.read() as s:
            pub = s.scalars(select(Publication).where(Publication.item_id == item.id)).one()
            lateness = (pub.started_at - pub.due_at).total_seconds()
        assert 0 <= lateness < 1.0, f"started {lateness:.3f} s after its due time"
    finally:
        worker.stop(5)


def test_stop_finishes_sends_in_flight_and_keeps_the_rest(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    secret = new_signing_secret()
    with WebhookReceiver(secret, delay=0.6) as receiver:
        _webhook_items(make, receiver, secret, 40)
        runtime.settings.concurrency = 4
        worker = Worker(runtime, "stop-test")
        worker.start()
        assert eventually(lambda: sum(receiver.deliveries.values()) >= 1, 20)
        worker.stop(grace_seconds=10)
        delivered = set(receiver.stored)
    with runtime.db.read() as s:
        rows = s.execute(select(Publication.status, Publication.fingerprint,
                                Publication.claimed_by)).all()
    statuses = {r.status for r in rows}
    assert PublicationStatus.SENDING not in statuses, "stop left a claimed publication"
    published = {r.fingerprint for r in rows if r.status == PublicationStatus.PUBLISHED}
    assert published == delivered, "every delivery in flight was finished and recorded"
    waiting = [r for r in rows if r.status in (PublicationStatus.SCHEDULED,
                                               PublicationStatus.RETRYING)]
    assert len(published) + len(waiting) == 40 and waiting, "the rest wait for the next worker"


def test_statistics_refresh_fills_sqlite_stat(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from publisher.jobs import refresh_statistics

    if runtime.db.dialect != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics")
    opd = make.opd()
    site = make.channel(opd, "site")
    editor, approver = make.person(Role.EDITOR, opd), make.person(Role.APPROVER, opd)
    make.published_item(editor, approver, opd, [site.id])
    refresh_statistics(runtime)
    with runtime.db.engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert {"publication", "item", "audit_event"} <= tables


def test_worker_start_prepares_senders_and_templates(runtime) -> None:  # type: ignore[no-untyped-def]
    import threading

    worker = Worker(runtime, "prepared")
    worker.start()
    try:
        names = {t.name for t in threading.enumerate()}
        expected = {f"send-prepared-{i}" for i in range(runtime.settings.concurrency)}
        assert expected <= names, "sender threads start with the worker, not with a burst"
        cached = {name for (_, name) in runtime.renderer.env.cache}
        assert {"posts/webhook.txt.j2", "posts/site.txt.j2"} <= cached
    finally:
        worker.stop(5)
    assert eventually(lambda: not any(t.name.startswith("send-prepared-")
                                 for t in threading.enumerate()), 5), "stop ends the senders"


def test_first_claim_after_idle_fills_one_round_then_tops_up(
    make: Factory, runtime, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from publisher.queue import dispatcher as dispatcher_module

    limits: list[int] = []
    real_claim = dispatcher_module.claim

    def claim(db, worker_id, limit, *args, **kwargs):  # type: ignore[no-untyped-def]
        limits.append(limit)
        return real_claim(db, worker_id, limit, *args, **kwargs)

    monkeypatch.setattr(dispatcher_module, "claim", claim)
    secret = new_signing_secret()
    with WebhookReceiver(secret, delay=0.05) as receiver:
        _webhook_items(make, receiver, secret, 30)
        runtime.settings.concurrency = 4
        dispatcher = make.dispatcher()
        try:
            assert dispatcher.drain() == 30
        finally:
            dispatcher.stop(5)
        assert sum(receiver.deliveries.values()) == 30
        assert set(receiver.deliveries.values()) == {1}, "a delivery was sent twice"
    assert limits[0] == 4, "the first claim after idle takes one round of sends"
    assert limits[1] == 12, "then it tops up to four rounds while the first is in flight"


def test_stop_leaves_a_send_still_running_to_its_lease(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    """After the grace period, what never started is handed back at once; a send still
    running keeps its claim (it may yet reach the receiver), and once its lease has run out
    it is reconciled, not sent again."""
    from sqlalchemy import update

    from publisher.queue.sweep import expire_leases

    secret = new_signing_secret()
    with WebhookReceiver(secret, delay=1.5) as receiver:
        _webhook_items(make, receiver, secret, 6)
        runtime.settings.concurrency = 2
        worker = Worker(runtime, "stopped-mid-send")

        def statuses() -> list[tuple[str, str | None, bool]]:
            with runtime.db.read() as s:
                return [(r.status, r.claimed_by, r.needs_reconcile) for r in s.execute(
                    select(Publication.status, Publication.claimed_by,
                           Publication.needs_reconcile).order_by(Publication.id))]

        worker.start()
        assert eventually(lambda: [s for s, _, _ in statuses()] == ["sending"] * 6, 10)
        time.sleep(0.3)  # the first two sends are at the receiver now
        worker.stop(grace_seconds=0.2)
        after_stop = statuses()
        assert after_stop.count(("sending", "stopped-mid-send", False)) == 2, after_stop
        # never started: handed back without a reconciliation to owe
        assert after_stop.count(("retrying", None, False)) == 4, after_stop
        assert eventually(lambda: sum(receiver.deliveries.values()) == 2, 5)
        time.sleep(0.3)
        assert sum(receiver.deliveries.values()) == 2, "a queued send started after stop"

        # The lease runs out; the sweep requeues the two for reconciliation.
        with runtime.db.write() as s:
            s.execute(update(Publication).where(Publication.status == "sending")
                      .values(lease_until=utcnow() - timedelta(seconds=1)))
        assert len(expire_leases(runtime.db, "sweeper", utcnow())) == 2
        receiver.delay = 0
        dispatcher = make.dispatcher("next-worker")
        try:
            assert dispatcher.drain() == 6
        finally:
            dispatcher.stop(5)
    assert [s for s, _, _ in statuses()] == ["published"] * 6
    assert len(receiver.deliveries) == 6 and set(receiver.deliveries.values()) == {1}, (
        "every item reached the receiver exactly once")
