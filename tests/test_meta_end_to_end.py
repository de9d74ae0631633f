"""Must-show of issue 3: from a fresh database, through the JSON API only, one item with a
photo goes to a Facebook Page and its Instagram account (the Graph test server on loopback),
and ends with both receipts in the DIP register and the audit log.

The app runs on a loopback port too, because the Graph test server downloads the Instagram
image from it (``/m/<token>/instagram.jpg``), as Meta would from PUBLISHER_PUBLIC_BASE_URL.
The people are made the way ``publisher`` CLI makes them (there is no user API); everything
else goes through ``/api/v1``.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from publisher import graph as graph_module
from publisher.models import Role
from publisher.queue.dispatcher import Dispatcher
from publisher.runtime import Runtime

from .conftest import make_settings
from .factories import Factory, Person
from .graph_server import GraphServer
from .meta_fixtures import IG_ID, PAGE_ID, jpeg_bytes

USER_TOKEN = "EAAB-long-lived-user-token-e2e"


@dataclass
class Live:
    runtime: Runtime
    client: Any
    graph: GraphServer
    make: Factory
    admin: Person
    page_token: str

    def call(self, method: str, path: str, who: Person, *, body: Any = None,
             **kw: Any) -> tuple[int, Any, str]:
        kw.setdefault("json", body)
        response = self.client.open(f"/api/v1{path}", method=method, headers=who.auth, **kw)
        text = response.get_data(as_text=True)
        return response.status_code, json.loads(text) if text else None, text


@pytest.fixture()
def live(tmp_path: Path, database_url: str) -> Iterator[Live]:
    from publisher.app import create_app

    graph_module.throttle.reset()
    graph = GraphServer()
    page_token = graph.state.add_page(PAGE_ID, "Dinas Kesehatan Kab. Contoh",
                                      ig=(IG_ID, "dinkes_contoh"))
    graph.state.add_user_token(USER_TOKEN)
    settings = make_settings(tmp_path, database_url, graph_url=graph.url)
    runtime = Runtime(settings)
    app = create_app(runtime=runtime, test_config={"TESTING": True})
    web = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.public_base_url = f"http://127.0.0.1:{web.server_port}"
    make = Factory(runtime)
    try:
        yield Live(runtime, app.test_client(), graph, make, make.admin(), page_token)
    finally:
        web.shutdown()
        graph.close()
        runtime.db.dispose()
        graph_module.throttle.reset()


def run_queue(live: Live, item_id: int, seconds: float = 30.0) -> list[dict[str, Any]]:
    """Drain the queue until the item's publications are all published (or fail loudly)."""
    dispatcher = Dispatcher(live.runtime, "e2e-worker")
    deadline = time.monotonic() + seconds
    pubs: list[dict[str, Any]] = []
    try:
        while time.monotonic() < deadline:
            dispatcher.drain()
            _, detail, _ = live.call("GET", f"/items/{item_id}", live.admin)
            pubs = detail["publications"]
            if pubs and all(p["status"] == "published" for p in pubs):
                return pubs
            time.sleep(0.05)
    finally:
        dispatcher.stop(grace_seconds=5)
    raise AssertionError(pubs)


def test_item_to_page_and_instagram_ends_in_register_and_audit(live: Live) -> None:
    admin = live.admin
    status, opd, _ = live.call("POST", "/opds", admin,
                               body={"name": "Dinas Kesehatan", "slug": "dinkes"})
    assert status == 201, opd
    with live.runtime.db.read() as s:
        from publisher.models import Opd

        opd_row = s.get_one(Opd, opd["id"])
        s.expunge(opd_row)
    editor = live.make.person(Role.EDITOR, opd_row)
    approver = live.make.person(Role.APPROVER, opd_row)

    # Connect: the Pages the token manages, then the chosen Page with its Instagram account.
    status, found, text = live.call("POST", "/opds/dinkes/meta/discover", admin,
                                    body={"token": USER_TOKEN})
    assert status == 200, found
    [page] = found["pages"]
    assert page["page_id"] == PAGE_ID
    assert page["instagram"] == {"ig_user_id": IG_ID, "username": "dinkes_contoh"}
    assert found["warnings"] == []
    assert USER_TOKEN not in text and live.page_token not in text
    status, connected, text = live.call(
        "POST", "/opds/dinkes/meta/connect", admin,
        body={"token": USER_TOKEN, "page_id": PAGE_ID, "instagram": True})
    assert status == 200, connected
    assert USER_TOKEN not in text and live.page_token not in text
    channels = {c["kind"]: c for c in connected["channels"]}
    assert set(channels) == {"facebook", "instagram"}
    assert connected["created"] == [channels["facebook"]["id"], channels["instagram"]["id"]]
    fb_id, ig_id = channels["facebook"]["id"], channels["instagram"]["id"]
    assert channels["facebook"]["secret_fields"] == ["page_token"]
    # An operator may ask for quicker container checks (the default waits 5 s first).
    status, _, _ = live.call("PATCH", f"/channels/{ig_id}", approver,
                             body={"config": {"poll_seconds": 0.05}})
    assert status == 200

    # An item with a photo for both channels: drafted, photo uploaded, submitted, approved.
    status, item, _ = live.call("POST", "/items", editor, body={
        "opd": "dinkes", "title": "Jadwal Imunisasi Balita Desember",
        "body_html": "<p>Imunisasi dasar lengkap di Posyandu Desa Firdaus, 5 Desember.</p>",
        "summary": "Jadwal imunisasi", "official_unit": "Bidang Kesmas",
        "responsible": "PPID Pelaksana Dinkes", "made_at": "2026-11-20",
        "made_place": "Sei Rampah", "info_formats": ["online"], "retention": "5 tahun",
        "category": "berkala", "channel_ids": [fb_id, ig_id]})
    assert status == 201, item
    item_id = item["id"]
    upload = {"file": (io.BytesIO(jpeg_bytes(1600, 900)), "imunisasi.jpg"),
              "alt_text": "Petugas menyuntikkan vaksin ke balita", "item_id": str(item_id)}
    status, media, _ = live.call("POST", "/media", editor, body=None, data=upload,
                                 content_type="multipart/form-data")
    assert status == 201, media
    status, body, _ = live.call("POST", f"/items/{item_id}/submit", editor, body={})
    assert status == 200, body
    status, body, _ = live.call("POST", f"/items/{item_id}/approve", approver,
                                body={"comment": "Layak terbit"})
    assert status == 200, body

    pubs = {p["channel_kind"]: p for p in run_queue(live, item_id)}

    # Receipts: the post id and permalink Meta gave.
    [post] = live.graph.state.page_posts(PAGE_ID)
    [ig_media] = live.graph.state.ig_media(IG_ID)
    assert pubs["facebook"]["remote_id"] == post["id"]
    assert pubs["facebook"]["url"].startswith("https://www.facebook.com/")
    assert pubs["instagram"]["remote_id"] == ig_media["id"]
    assert pubs["instagram"]["url"] == f"https://www.instagram.com/p/{ig_media['code']}/"
    assert len(post["photos"]) == 1  # the photo went with the post
    [container] = [c for c in live.graph.state.containers.values() if c.get("image_url")]
    assert container["image_url"].startswith(live.runtime.settings.public_base_url + "/m/")
    assert container["alt_text"] == "Petugas menyuntikkan vaksin ke balita"

    # The DIP register lists both channels with their URL and time.
    status, register, _ = live.call("GET", "/register?opd=dinkes&format=json", admin)
    assert status == 200, register
    [row] = [r for r in register["rows"] if r["item_id"] == item_id]
    saluran = {c["kind"]: c for c in row["saluran"]}
    for kind in ("facebook", "instagram"):
        assert saluran[kind]["url"] == pubs[kind]["url"]
        assert saluran[kind]["published_at"] and saluran[kind]["published_local"].endswith("WIB")

    # The audit log shows sending → (processing) → published for both.
    status, trail, text = live.call("GET", f"/audit?item={item_id}&per_page=200", admin)
    assert status == 200, trail
    by_channel: dict[int, list[str]] = {}
    for event in reversed(trail["items"]):
        if event["channel_id"] is not None:
            by_channel.setdefault(event["channel_id"], []).append(event["action"])
    assert by_channel[fb_id][-2:] == ["publication.sending", "publication.published"]
    ig_actions = by_channel[ig_id]
    assert ig_actions[ig_actions.index("publication.sending"):][:2] == [
        "publication.sending", "publication.processing"]
    assert ig_actions[-1] == "publication.published"
    published = [e for e in trail["items"] if e["action"] == "publication.published"]
    assert {e["detail"]["remote_id"] for e in published} == {post["id"], ig_media["id"]}
    status, verdict, _ = live.call("GET", "/audit/verify", admin)
    assert status == 200 and verdict["ok"] is True, verdict

    # No token anywhere people can see: API answers, the whole audit log, Graph URLs.
    status, everything, text = live.call("GET", "/audit?per_page=200", admin)
    assert USER_TOKEN not in text and live.page_token not in text
    assert any(e["action"] == "channel.meta_connected" for e in everything["items"])
    status, _, text = live.call("GET", "/channels?opd=dinkes", admin)
    assert live.page_token not in text
    assert live.graph.state.tokens_in_url == 0
