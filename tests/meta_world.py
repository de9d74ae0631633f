"""A Facebook Page and its Instagram account on the Graph test server, run through the real
queue, with the app serving the images Meta downloads (``/m/<token>/instagram.jpg``) on a
loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from publisher import graph as graph_module
from publisher.config import Settings
from publisher.models import Channel, Item, Opd, Publication, PublicationStatus, Role
from publisher.runtime import Runtime
from publisher.services import items as item_service
from publisher.services.media import store_image

from .conftest import make_settings
from .factories import Factory, Person
from .graph_server import GraphServer
from .meta_fixtures import IG_ID, PAGE_ID, jpeg_bytes


@dataclass
class World:
    runtime: Runtime
    make: Factory
    graph: GraphServer
    editor: Person
    approver: Person
    opd: Opd
    facebook: Channel
    instagram: Channel
    page_token: str
    settings: Settings


@pytest.fixture()
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    from publisher.app import create_app

    graph_module.throttle.reset()
    graph = GraphServer()
    page_token = graph.state.add_page(PAGE_ID, "Dinas Kesehatan", ig=(IG_ID, "dinkes_contoh"))
    settings = make_settings(tmp_path, database_url, graph_url=graph.url, lease_seconds=30)
    runtime = Runtime(settings)
    app = create_app(runtime=runtime, test_config={"TESTING": True})
    web = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.public_base_url = f"http://127.0.0.1:{web.server_port}"  # Meta fetches from here
    make = Factory(runtime)
    opd = make.opd("Dinas Kesehatan")
    secrets = {"page_token": page_token}
    fb = make.channel(opd, "facebook", "Facebook Dinkes", config={"page_id": PAGE_ID},
                      secrets=secrets)
    ig = make.channel(opd, "instagram", "Instagram Dinkes",
                      config={"ig_user_id": IG_ID, "poll_seconds": 0.05}, secrets=secrets)
    try:
        yield World(runtime, make, graph, make.person(Role.EDITOR, opd),
                    make.person(Role.APPROVER, opd), opd, fb, ig, page_token, settings)
    finally:
        web.shutdown()
        graph.close()
        runtime.db.dispose()
        graph_module.throttle.reset()


def approved_item(w: World, title: str, *, image: bool) -> int:
    """An item for both channels, with an uploaded photo when ``image``; approved, due now."""
    item = w.make.item(w.editor, w.opd, [w.facebook.id, w.instagram.id], title=title,
                       body_html=f"<p>{title}: informasi untuk warga.</p>")
    if image:
        with w.runtime.db.write() as s:
            row = s.get_one(Item, item.id)
            store_image(s, w.editor.principal, w.settings, row, jpeg_bytes(1600, 900),
                        alt_text=f"Foto {title}", filename="foto.jpg")
    with w.runtime.db.write() as s:
        item_service.submit_item(s, w.editor.principal, w.settings, item.id)
    with w.runtime.db.write() as s:
        item_service.approve_item(s, w.approver.principal, w.settings, item.id)
    return item.id


def publications(w: World) -> list[Publication]:
    with w.runtime.db.read() as s:
        rows = list(s.scalars(select(Publication).order_by(Publication.id)))
        s.expunge_all()
        return rows


def drain_until(w: World, done: Callable[[list[Publication]], bool],
                seconds: float = 20.0) -> None:
    dispatcher = w.make.dispatcher()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            dispatcher.drain()
            if done(publications(w)):
                return
            time.sleep(0.05)
    finally:
        dispatcher.stop(grace_seconds=5)
    raise AssertionError([(p.id, p.status, p.last_error) for p in publications(w)])


def all_published(pubs: list[Publication]) -> bool:
    return all(p.status == PublicationStatus.PUBLISHED for p in pubs)


