"""The daily channel health job: claimed once per channel across workers, no session across
the network call, Meta unreachable ≠ bad token, a dead token → needs_reauth (audited,
publications held) until reconnected."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select

from publisher import audit
from publisher import graph as graph_module
from publisher.health import (
    CHECK_EVERY,
    RETRY_UNKNOWN_AFTER,
    channel_warnings,
    check_due_channels,
    health_out,
)
from publisher.jobs import make_worker
from publisher.models import (
    AuditEvent,
    Channel,
    ChannelStatus,
    Opd,
    Publication,
    PublicationStatus,
    Role,
)
from publisher.runtime import Runtime
from publisher.services import channels as channel_service
from publisher.timeutil import utcnow

from .conftest import make_settings
from .dbprobe import open_transactions
from .factories import Factory
from .graph_server import GraphServer
from .loopback_http import LoopbackServer, send
from .meta_fixtures import IG_ID, PAGE_ID


@dataclass
class World:
    runtime: Runtime
    make: Factory
    graph: GraphServer
    page_token: str
    opd: Opd
    fb_id: int
    ig_id: int


@pytest.fixture()
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    graph_module.throttle.reset()
    graph = GraphServer()
    page_token = graph.state.add_page(PAGE_ID, "Dinas Kesehatan", ig=(IG_ID, "dinkes_contoh"))
    runtime = Runtime(make_settings(tmp_path, database_url, graph_url=graph.url))
    make = Factory(runtime)
    opd = make.opd("Dinas Kesehatan")
    secrets = {"page_token": page_token}
    fb = make.channel(opd, "facebook", "Facebook Dinkes", config={"page_id": PAGE_ID},
                      secrets=secrets)
    ig = make.channel(opd, "instagram", "Instagram Dinkes", config={"ig_user_id": IG_ID},
                      secrets=secrets)
    try:
        yield World(runtime, make, graph, page_token, opd, fb.id, ig.id)
    finally:
        graph.close()
        runtime.db.dispose()
        graph_module.throttle.reset()


def channel(w: World, channel_id: int) -> Channel:
    with w.runtime.db.read() as s:
        row = s.get_one(Channel, channel_id)
        s.expunge(row)
        return row


def age(w: World, channel_id: int, by: timedelta) -> None:
    """Pretend the last check was ``by`` ago."""
    with w.runtime.db.write() as s:
        s.get_one(Channel, channel_id).health_checked_at = utcnow() - by


def test_healthy_channels_are_checked_once_a_day(world: World) -> None:
    w = world
    results = check_due_channels(w.runtime, "worker-a")
    assert {r.channel_id for r in results} == {w.fb_id, w.ig_id}
    assert all(r.ok for r in results), results
    fb = channel(w, w.fb_id)
    assert fb.health_ok is True and fb.status == ChannelStatus.ACTIVE
    assert "Halaman Dinas Kesehatan" in fb.health_detail
    assert fb.health_checked_at is not None
    calls = w.graph.state.calls("GET", r"^debug_token$")
    assert calls == 2
    # Not due again for a day.
    assert check_due_channels(w.runtime, "worker-b") == []
    assert w.graph.state.calls("GET", r"^debug_token$") == calls
    age(w, w.fb_id, CHECK_EVERY + timedelta(seconds=1))
    assert [r.channel_id for r in check_due_channels(w.runtime, "worker-b")] == [w.fb_id]
    view = health_out(channel(w, w.fb_id))
    assert view["ok"] is True and view["expires_soon"] is False


def test_many_workers_check_each_channel_once(world: World) -> None:
    w = world
    for n in range(6):  # more channels, so the workers really overlap
        w.make.channel(w.opd, "facebook", f"Facebook {n}", config={"page_id": PAGE_ID},
                       secrets={"page_token": w.page_token})
    w.graph.state.fail(r"^debug_token$", mode="delay", delay=0.05, times=100)
    found: list[int] = []
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        barrier.wait()
        found.extend(r.channel_id for r in check_due_channels(w.runtime, name))

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(found) == sorted(set(found)) and len(found) == 8
    assert w.graph.state.calls("GET", r"^debug_token$") == 8


def test_meta_unreachable_is_could_not_check_not_a_bad_token(world: World) -> None:
    w = world
    w.graph.state.fail(r"^debug_token$", mode="error", code=2, status=503, is_transient=True,
                       times=2)
    results = check_due_channels(w.runtime, "worker-a")
    assert [r.ok for r in results] == [None, None]
    fb = channel(w, w.fb_id)
    assert fb.status == ChannelStatus.ACTIVE and fb.health_ok is None
    assert fb.health_detail.startswith("Tidak dapat diperiksa")
    assert channel_warnings(fb, w.runtime.settings) == []
    with w.runtime.db.read() as s:
        assert "channel.needs_reauth" not in s.scalars(select(AuditEvent.action)).all()
    # Tried again after an hour, not a day.
    assert check_due_channels(w.runtime, "worker-a") == []
    age(w, w.fb_id, RETRY_UNKNOWN_AFTER + timedelta(seconds=1))
    [again] = check_due_channels(w.runtime, "worker-a")
    assert again.channel_id == w.fb_id and again.ok is True


def test_dead_token_flags_channels_holds_publications_until_reconnect(world: World) -> None:
    w = world
    w.graph.state.invalidate(w.page_token, 460)  # the admin changed their password
    results = check_due_channels(w.runtime, "worker-a")
    assert {(r.channel_id, r.ok, r.needs_reauth) for r in results} == {
        (w.fb_id, False, True), (w.ig_id, False, True)}
    fb = channel(w, w.fb_id)
    assert fb.status == ChannelStatus.NEEDS_REAUTH and fb.health_ok is False
    assert "kata sandi" in fb.status_detail
    assert any("disambungkan ulang" in m for m in channel_warnings(fb, w.runtime.settings))
    with w.runtime.db.read() as s:
        events = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "channel.needs_reauth")).all()
        assert {e.channel_id for e in events} == {w.fb_id, w.ig_id}
        assert all(e.actor_type == "worker" and e.actor_id == "worker-a" for e in events)
        assert all(w.page_token not in f"{e.error} {e.detail}" for e in events)
        assert audit.verify(s).ok
    # A flagged channel is not checked again until it is reconnected.
    assert check_due_channels(w.runtime, "worker-a") == []

    editor = w.make.person(Role.EDITOR, w.opd)
    approver = w.make.person(Role.APPROVER, w.opd)
    item = w.make.published_item(editor, approver, w.opd, [w.fb_id],
                                 body_html="<p>Pengumuman hari ini.</p>")
    w.make.dispatcher().drain()
    with w.runtime.db.read() as s:
        [status] = s.scalars(select(Publication.status).where(
            Publication.item_id == item.id)).all()
    assert status == PublicationStatus.HELD
    assert w.graph.state.page_posts(PAGE_ID) == []

    new_token = w.graph.state.add_page(PAGE_ID, "Dinas Kesehatan", ig=(IG_ID, "dinkes_contoh"))
    with w.runtime.db.write() as s:
        channel_service.update_channel(s, w.make.admin().principal, w.runtime, w.fb_id,
                                       secrets={"page_token": new_token})
    dispatcher = w.make.dispatcher()
    try:
        dispatcher.drain()
    finally:
        dispatcher.stop(grace_seconds=5)
    with w.runtime.db.read() as s:
        [status] = s.scalars(select(Publication.status).where(
            Publication.item_id == item.id)).all()
    assert status == PublicationStatus.PUBLISHED
    assert len(w.graph.state.page_posts(PAGE_ID)) == 1


def test_expiry_and_scopes_are_stored(world: World) -> None:
    w = world
    token = w.graph.state.tokens[w.page_token]
    token.expires_at = int((utcnow() + timedelta(days=2)).timestamp())
    token.scopes.remove("instagram_content_publish")
    results = {r.channel_id: r for r in check_due_channels(w.runtime, "worker-a")}
    assert results[w.fb_id].ok is True
    assert results[w.ig_id].ok is False and results[w.ig_id].needs_reauth
    fb, ig = channel(w, w.fb_id), channel(w, w.ig_id)
    assert fb.credential_expires_at is not None
    assert abs((fb.credential_expires_at - utcnow()) - timedelta(days=2)) < timedelta(minutes=1)
    assert health_out(fb)["expires_soon"] is True
    assert any("berakhir dalam 2 hari" in m for m in channel_warnings(fb, w.runtime.settings))
    assert "instagram_content_publish" in ig.health_detail
    assert ig.status == ChannelStatus.NEEDS_REAUTH


def test_check_runs_with_no_transaction_open(world: World) -> None:
    w = world
    seen: list[int] = []

    def receiver(h: BaseHTTPRequestHandler) -> None:
        seen.append(open_transactions(w.runtime.settings.database_url))
        send(h, 200)

    with LoopbackServer() as server:
        server.route("/hook", receiver)
        hook = w.make.channel(w.opd, "webhook", "CMS", config={"url": server.url("/hook")})
        results = {r.channel_id: r for r in check_due_channels(w.runtime, "worker-a")}
    assert results[hook.id].ok is True
    assert seen == [0]


def test_scheduler_processes_run_the_job(world: World) -> None:
    worker = make_worker(world.runtime)
    assert "channel-health" in [job_id for job_id, _, _ in worker._extra_jobs]
