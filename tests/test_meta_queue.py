"""Facebook and Instagram through the real queue, against the Graph test server, with the app
serving the images Meta downloads (``/m/<token>/instagram.jpg``) on a loopback port.

* token expiry → publications held, channel needs_reauth → reconnect → each published once;
* a worker SIGKILLed after the Graph call returned but before the receipt was stored →
  reconciled by the next worker, no duplicate.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from publisher import audit
from publisher.models import (
    AuditEvent,
    Channel,
    ChannelStatus,
    Publication,
    PublicationStatus,
)
from publisher.queue.sweep import expire_leases
from publisher.services import channels as channel_service
from publisher.services import items as item_service
from publisher.timeutil import utcnow

from .meta_fixtures import IG_ID, PAGE_ID
from .meta_world import World, all_published, approved_item, drain_until, publications

ROOT = Path(__file__).resolve().parents[1]


def test_instagram_variant_is_served_for_meta(world: World) -> None:
    approved_item(world, "Jadwal Imunisasi", image=True)
    with world.runtime.db.read() as s:
        from publisher.models import Media

        token = s.scalars(select(Media.public_token)).one()
    base = world.settings.public_base_url
    answer = requests.get(f"{base}/m/{token}/instagram.jpg", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(answer.content)) as im:
        assert im.format == "JPEG"
        assert 0.8 <= im.width / im.height <= 1.91 and 320 <= im.width <= 1440
    assert requests.get(f"{base}/m/{token}/bogus.jpg", timeout=5).status_code == 404
    assert requests.get(f"{base}/m/c/{'0' * 32}.jpg", timeout=5).status_code == 404


def test_expired_token_holds_then_reconnect_publishes_each_once(world: World) -> None:
    w = world
    ids = [approved_item(w, f"Pengumuman {n}", image=n == 0) for n in range(3)]
    w.graph.state.invalidate(w.page_token, 463)  # the token expires before the first send

    drain_until(w, lambda pubs: all(p.status == PublicationStatus.HELD for p in pubs))
    with w.runtime.db.read() as s:
        statuses = {c.kind: (c.status, c.status_detail) for c in s.scalars(select(Channel))}
    assert statuses["facebook"][0] == ChannelStatus.NEEDS_REAUTH
    assert statuses["instagram"][0] == ChannelStatus.NEEDS_REAUTH
    assert "kedaluwarsa" in statuses["facebook"][1]
    assert w.graph.state.posts == {} and w.graph.state.media == {}

    # Reconnect: a new Page token (as discover_pages would give) on both channels.
    new_token = w.graph.state.add_page(PAGE_ID, "Dinas Kesehatan", ig=(IG_ID, "dinkes_contoh"))
    admin = w.make.admin()
    for channel in (w.facebook, w.instagram):
        with w.runtime.db.write() as s:
            channel_service.update_channel(s, admin.principal, w.runtime, channel.id,
                                           secrets={"page_token": new_token})

    drain_until(w, all_published)
    pubs = publications(w)
    assert len(pubs) == 6 and {p.item_id for p in pubs} == set(ids)
    posts = w.graph.state.page_posts(PAGE_ID)
    media = w.graph.state.ig_media(IG_ID)
    assert len(posts) == 3 and len(media) == 3  # each once
    fb_ids = {p.remote_id for p in pubs if p.channel_id == w.facebook.id}
    ig_ids = {p.remote_id for p in pubs if p.channel_id == w.instagram.id}
    assert fb_ids == {p["id"] for p in posts}
    assert ig_ids == {m["id"] for m in media}
    # Two items had no photo: Instagram got generated cards, fetched from our server.
    assert sum(1 for c in w.graph.state.containers.values()
               if "/m/c/" in c.get("image_url", "")) == 2
    assert w.graph.state.tokens_in_url == 0
    with w.runtime.db.read() as s:
        assert audit.verify(s).ok
        trail = " ".join(
            json.dumps([e.action, e.error, e.detail], default=str)
            for e in s.scalars(select(AuditEvent))
        )
    assert w.page_token not in trail and new_token not in trail
    assert "publication.held" in trail


CHILD = textwrap.dedent("""
    import json, os, signal, sys, time
    from publisher.config import Settings
    from publisher.runtime import Runtime
    from publisher.queue import dispatcher as dispatcher_module

    settings = Settings(**json.loads(sys.argv[1]))
    settings.finish()
    runtime = Runtime(settings)
    real_record = dispatcher_module.record

    def record(db, worker_id, outcomes, now):
        # The crash point: the Graph call returned a receipt, nothing is stored yet.
        if any(o.receipt is not None for o in outcomes):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_record(db, worker_id, outcomes, now)

    dispatcher_module.record = record
    dispatcher = dispatcher_module.Dispatcher(runtime, "doomed-worker")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dispatcher.drain()
        time.sleep(0.05)
    sys.exit(3)  # never reached a receipt
""")


def run_doomed_worker(w: World, tmp_path: Path) -> None:
    s = w.settings
    config = {
        "instance_path": str(s.instance_path), "database_url": s.database_url,
        "secret_key": s.secret_key, "public_base_url": s.public_base_url,
        "allow_loopback": True, "graph_url": s.graph_url, "graph_version": s.graph_version,
        "http_timeout": s.http_timeout, "lease_seconds": s.lease_seconds,
    }
    log = tmp_path / "doomed-worker.log"
    with log.open("w") as out:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(config)], cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT, timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert child.returncode == -signal.SIGKILL, log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["facebook", "instagram"])
def test_worker_killed_after_graph_call_is_reconciled(world: World, tmp_path: Path,
                                                      kind: str) -> None:
    w = world
    target = w.facebook if kind == "facebook" else w.instagram
    item = w.make.item(w.editor, w.opd, [target.id], title="Rapat Koordinasi Stunting",
                       body_html="<p>Rapat koordinasi percepatan penurunan stunting.</p>")
    with w.runtime.db.write() as s:
        item_service.submit_item(s, w.editor.principal, w.settings, item.id)
    with w.runtime.db.write() as s:
        item_service.approve_item(s, w.approver.principal, w.settings, item.id)

    run_doomed_worker(w, tmp_path)

    made = w.graph.state.page_posts(PAGE_ID) if kind == "facebook" else \
        w.graph.state.ig_media(IG_ID)
    assert len(made) == 1  # the platform has the post...
    [pub] = publications(w)
    assert pub.status == PublicationStatus.SENDING and pub.remote_id is None  # ...we do not

    # The lease runs out; another worker reconciles instead of posting again.
    with w.runtime.db.write() as s:
        s.get_one(Publication, pub.id).lease_until = utcnow() - timedelta(seconds=1)
    swept = expire_leases(w.runtime.db, "sweeper", utcnow())
    assert swept == [pub.id]
    drain_until(w, all_published)
    [pub] = publications(w)
    made = w.graph.state.page_posts(PAGE_ID) if kind == "facebook" else \
        w.graph.state.ig_media(IG_ID)
    assert len(made) == 1
    assert pub.remote_id == made[0]["id"]
    with w.runtime.db.read() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert audit.verify(s).ok
    assert "publication.lease_expired" in actions
    if kind == "facebook":
        assert actions[-1] == "publication.reconciled"


def test_instagram_quota_slots_are_reserved_before_containers_are_made(world: World) -> None:
    """Room for three posts in the 24-hour window and six due at once: three sets of
    containers are made and published, three wait without a container, and Meta never
    refuses a publish."""
    w = world
    account = w.graph.state.igs[IG_ID]
    account["quota_total"] = 5
    for hours in (23.0, 22.0):  # two posts already in the window
        account["publishes"].append(utcnow() - timedelta(hours=hours))
    for n in range(6):
        approved_item(w, f"Pengumuman kuota {n}", image=False)

    def settled(pubs: list[Publication]) -> bool:
        ig = [p for p in pubs if p.channel_id == w.instagram.id]
        return (sum(p.status == PublicationStatus.PUBLISHED for p in ig) == 3
                and sum(p.status == PublicationStatus.RETRYING for p in ig) == 3)

    drain_until(w, settled)
    state = w.graph.state
    assert state.calls("POST", rf"^{IG_ID}/media$") == 3  # containers for three only
    assert state.calls("POST", r"/media_publish$") == 3  # and no publish refused
    waiting = [p for p in publications(w)
               if p.channel_id == w.instagram.id and p.status == PublicationStatus.RETRYING]
    assert all("Kuota unggahan Instagram" in (p.last_error or "") for p in waiting)
    assert all(p.due_at > utcnow() + timedelta(minutes=30) for p in waiting)
    assert all(p.processing_state is None for p in waiting)

    # The window moves on (here: a larger quota); the three go out once each.
    account["quota_total"] = 25
    with w.runtime.db.write() as s:
        for p in waiting:
            s.get_one(Publication, p.id).due_at = utcnow()
    drain_until(w, all_published)
    assert state.calls("POST", r"/media_publish$") == 6
    assert len(state.ig_media(IG_ID)) == 6
