"""Real worker processes: many workers on PostgreSQL never send twice, and a worker killed
mid-send loses nothing and duplicates nothing after recovery."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench._seed import seed_publications
from publisher import audit
from publisher.channels.webhook import new_signing_secret
from publisher.models import AuditEvent, Publication, PublicationStatus
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

from .conftest import make_settings
from .factories import Factory
from .webhook_receiver import WebhookReceiver
from .worker_process import start_worker, wait_for

pytestmark = pytest.mark.slow


def count_published(runtime: Runtime) -> int:
    with runtime.db.read() as s:
        return s.scalar(select(func.count()).where(
            Publication.status == PublicationStatus.PUBLISHED)) or 0




@pytest.fixture()
def stop_all() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def _webhook_world(make: Factory, receiver: WebhookReceiver, secret: str) -> tuple[int, int]:
    opd = make.opd("Dinas Komunikasi dan Informatika")
    channel = make.channel(opd, "webhook", "CMS OPD", config={
        "url": receiver.url, "lookup_url": receiver.lookup_url}, secrets={"signing_secret": secret})
    return opd.id, channel.id


def test_three_workers_on_postgres_deliver_each_publication_once(
    tmp_path: Path, pg_database_url: str, stop_all: list[subprocess.Popen[bytes]]
) -> None:
    settings = make_settings(tmp_path, pg_database_url)
    runtime = Runtime(settings)
    make = Factory(runtime)
    secret = new_signing_secret()
    n = 2000
    with WebhookReceiver(secret, delay=0.002) as receiver:
        opd_id, channel_id = _webhook_world(make, receiver, secret)
        seed_publications(runtime, opd_id, channel_id, n, utcnow() - timedelta(seconds=1))
        stop_all.extend(start_worker(settings) for _ in range(3))
        wait_for(lambda: count_published(runtime) >= n, 240, f"{n} publications published")
        for proc in stop_all:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in stop_all]
        assert codes == [0, 0, 0], [p.stderr.read().decode()[-2000:] for p in stop_all]  # type: ignore[union-attr]
        assert len(receiver.stored) == n
        assert max(receiver.deliveries.values()) == 1, "a publication was delivered twice"
        assert receiver.bad_signatures == 0
    with runtime.db.read() as s:
        claimed_by = s.scalars(select(Publication.claimed_by)).all()
        workers = s.execute(select(func.count(func.distinct(Publication.id)))).scalar()
        assert workers == n and set(claimed_by) == {None}
        result = audit.verify(s)
        assert result.ok, result.problems
        senders = {e for (e,) in s.execute(select(AuditEvent.actor_id).where(
            AuditEvent.action == "publication.published").distinct())}
    assert len(senders) == 3, "all three workers should have taken part"
    runtime.db.dispose()


def test_worker_killed_mid_send_loses_and_duplicates_nothing(
    tmp_path: Path, database_url: str, stop_all: list[subprocess.Popen[bytes]]
) -> None:
    settings = make_settings(tmp_path, database_url, lease_seconds=3)
    runtime = Runtime(settings)
    make = Factory(runtime)
    secret = new_signing_secret()
    n = 60
    env = {"PUBLISHER_LEASE_SECONDS": "3", "PUBLISHER_CONCURRENCY": "8"}
    with WebhookReceiver(secret, delay=0.25) as receiver:
        opd_id, channel_id = _webhook_world(make, receiver, secret)
        seed_publications(runtime, opd_id, channel_id, n, utcnow() - timedelta(seconds=1))
        first = start_worker(settings, env)
        stop_all.append(first)
        # Kill it while sends are in flight: some delivered and not yet recorded.
        wait_for(lambda: len(receiver.stored) >= 12, 60, "the first deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with runtime.db.read() as s:
            stranded = s.scalar(select(func.count()).where(
                Publication.status == PublicationStatus.SENDING)) or 0
        assert stranded > 0, "the kill should leave claimed publications behind"
        second = start_worker(settings, env)
        stop_all.append(second)
        wait_for(lambda: count_published(runtime) >= n, 120, "every publication published")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
        assert len(receiver.stored) == n, "a publication was lost"
        assert max(receiver.deliveries.values()) == 1, "a publication was sent twice"
    with runtime.db.read() as s:
        actions = s.scalars(select(AuditEvent.action)).all()
        result = audit.verify(s)
    assert result.ok, result.problems
    assert "publication.lease_expired" in actions
    assert "publication.reconciled" in actions
    runtime.db.dispose()
