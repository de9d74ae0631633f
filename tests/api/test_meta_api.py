"""Connecting a Facebook Page and its Instagram account through the API, against the Graph
test server on loopback; channel health and public-base-URL warnings in the API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from publisher import graph as graph_module
from publisher.health import check_due_channels
from publisher.models import AuditEvent, Channel, ChannelStatus, Publication, PublicationStatus
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

from ..factories import Factory
from ..graph_server import GraphServer
from ..meta_fixtures import IG_ID, PAGE_ID
from .conftest import Api, World, assert_problem

USER_TOKEN = "EAAB-user-token-for-api-tests"
OTHER_PAGE = "104000000000002"


@pytest.fixture()
def graph(runtime: Runtime) -> Iterator[GraphServer]:
    graph_module.throttle.reset()
    server = GraphServer()
    server.state.add_page(PAGE_ID, "Dinas Kominfo Kab. Contoh", ig=(IG_ID, "kominfo_contoh"))
    server.state.add_page(OTHER_PAGE, "Kecamatan Utara")
    server.state.add_user_token(USER_TOKEN)
    runtime.settings.graph_url = server.url
    try:
        yield server
    finally:
        server.close()
        graph_module.throttle.reset()


def _connect(api: Api, who: Any, **body: Any) -> tuple[int, Any, Any]:
    return api.post("/opds/kominfo/meta/connect", who,
                    {"token": USER_TOKEN, "page_id": PAGE_ID, **body})


def test_discover_lists_pages_without_tokens(api: Api, world: World, graph: GraphServer) -> None:
    status, found, response = api.post("/opds/kominfo/meta/discover", world.approver_a,
                                       {"token": USER_TOKEN})
    assert status == 200, found
    assert found["token_type"] == "USER" and found["warnings"] == []
    pages = {p["page_id"]: p for p in found["pages"]}
    assert pages[PAGE_ID]["instagram"] == {"ig_user_id": IG_ID, "username": "kominfo_contoh"}
    assert pages[PAGE_ID]["can_post"] is True and pages[PAGE_ID]["channel_ids"] == {}
    assert pages[OTHER_PAGE]["instagram"] is None
    text = response.get_data(as_text=True)
    assert USER_TOKEN not in text
    assert not any(t in text for t in graph.state.tokens)


def test_discover_refuses_people_and_tokens_clearly(api: Api, world: World,
                                                    graph: GraphServer) -> None:
    status, body, _ = api.post("/opds/kominfo/meta/discover", world.editor_a,
                               {"token": USER_TOKEN})
    assert status == 403
    assert_problem(body, 403)
    status, body, _ = api.post("/opds/kominfo/meta/discover", world.approver_b,
                               {"token": USER_TOKEN})
    assert status == 404  # another OPD's approver does not learn it exists
    status, body, _ = api.post("/opds/kominfo/meta/discover", world.approver_a,
                               {"token": "EAAB-unknown-token"})
    assert status == 422
    assert_problem(body, 422, field="token")
    assert "EAAB-unknown-token" not in str(body)
    graph.state.add_user_token("EAAB-expired-user-token", expires_in=-60)
    status, body, _ = api.post("/opds/kominfo/meta/discover", world.approver_a,
                               {"token": "EAAB-expired-user-token"})
    assert status == 422 and "kedaluwarsa" in body["detail"]
    status, body, _ = api.post("/opds/kominfo/meta/discover", world.approver_a, {})
    assert status == 422
    assert_problem(body, 422, field="token")
    status, _, _ = api.post("/opds/kominfo/meta/discover", None, {"token": USER_TOKEN})
    assert status == 401


def test_unreachable_meta_is_a_503(api: Api, world: World, runtime: Runtime) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runtime.settings.graph_url = f"http://127.0.0.1:{port}"
    status, body, _ = api.post("/opds/kominfo/meta/discover", world.approver_a,
                               {"token": USER_TOKEN})
    assert status == 503
    assert_problem(body, 503)
    assert "Meta" in body["detail"]


def test_connect_creates_both_channels_with_the_token_encrypted(
    api: Api, world: World, graph: GraphServer, runtime: Runtime
) -> None:
    page_token = graph.state.pages[PAGE_ID]["token"]
    status, body, response = _connect(api, world.approver_a)
    assert status == 200, body
    assert [c["kind"] for c in body["channels"]] == ["facebook", "instagram"]
    assert body["created"] == [c["id"] for c in body["channels"]] and body["reconnected"] == []
    fb, ig = body["channels"]
    assert fb["config"] == {"page_id": PAGE_ID, "page_name": "Dinas Kominfo Kab. Contoh"}
    assert ig["config"]["ig_user_id"] == IG_ID and ig["name"] == "Instagram: @kominfo_contoh"
    assert fb["secret_fields"] == ["page_token"] and fb["health"]["ok"] is None
    text = response.get_data(as_text=True)
    assert page_token not in text and USER_TOKEN not in text
    with runtime.db.read() as s:
        rows = s.scalars(select(Channel).where(Channel.kind.in_(["facebook", "instagram"]))).all()
        assert all(page_token not in (r.secrets_encrypted or "") for r in rows)
        assert {runtime.secret_box.decrypt(r.secrets_encrypted)["page_token"] for r in rows} == {
            page_token}
        trail = " ".join(str((e.action, e.error, e.detail)) for e in s.scalars(select(AuditEvent)))
    assert "channel.meta_connected" in trail
    assert page_token not in trail and USER_TOKEN not in trail
    # Discover now names the channels the OPD already has for this Page.
    _, found, _ = api.post("/opds/kominfo/meta/discover", world.approver_a, {"token": USER_TOKEN})
    [page] = [p for p in found["pages"] if p["page_id"] == PAGE_ID]
    assert page["channel_ids"] == {"facebook": fb["id"], "instagram": ig["id"]}


def test_connect_choices_and_bad_choices(api: Api, world: World, graph: GraphServer) -> None:
    status, body, _ = _connect(api, world.approver_a, page_id="999")
    assert status == 422
    assert_problem(body, 422, field="page_id")
    status, body, _ = _connect(api, world.approver_a, page_id="not-a-page")
    assert status == 422
    assert_problem(body, 422, field="page_id")
    status, body, _ = _connect(api, world.approver_a, page_id=OTHER_PAGE, instagram=True)
    assert status == 422
    assert_problem(body, 422, field="instagram")
    status, body, _ = _connect(api, world.approver_a, instagram=False)
    assert status == 200, body
    assert [c["kind"] for c in body["channels"]] == ["facebook"]
    status, body, _ = _connect(api, world.editor_a)
    assert status == 403


def test_reconnect_reuses_channels_and_releases_held_publications(
    api: Api, world: World, graph: GraphServer, runtime: Runtime, make: Factory
) -> None:
    status, body, _ = _connect(api, world.approver_a)
    assert status == 200, body
    fb_id, ig_id = body["created"]
    old_token = graph.state.pages[PAGE_ID]["token"]
    # The password changed: the daily check finds the token dead; the channels are held.
    graph.state.invalidate(old_token, 460)
    results = check_due_channels(runtime, "health-test")
    assert {r.channel_id for r in results if r.needs_reauth} == {fb_id, ig_id}
    item = make.published_item(world.editor_a, world.approver_a, world.a, [fb_id, ig_id])
    make.dispatcher().drain()
    with runtime.db.read() as s:
        statuses = s.scalars(select(Publication.status).where(
            Publication.item_id == item.id)).all()
    assert statuses == [PublicationStatus.HELD, PublicationStatus.HELD]
    _, channel, _ = api.get(f"/channels/{fb_id}", world.approver_a)
    assert channel["status"] == ChannelStatus.NEEDS_REAUTH
    assert any("disambungkan ulang" in w for w in channel["warnings"])

    # Reconnect with a fresh token: same channels, new Page token, publications released.
    new_token = graph.state.add_page(PAGE_ID, "Dinas Kominfo Kab. Contoh",
                                     ig=(IG_ID, "kominfo_contoh"))
    status, body, response = _connect(api, world.approver_a)
    assert status == 200, body
    assert body["created"] == [] and body["reconnected"] == [fb_id, ig_id]
    assert body["released_publications"] == 2
    assert all(c["status"] == ChannelStatus.ACTIVE for c in body["channels"])
    assert new_token not in response.get_data(as_text=True)
    with runtime.db.read() as s:
        secrets = {runtime.secret_box.decrypt(c.secrets_encrypted)["page_token"]
                   for c in s.scalars(select(Channel).where(Channel.id.in_([fb_id, ig_id])))}
        statuses = s.scalars(select(Publication.status).where(
            Publication.item_id == item.id)).all()
    assert secrets == {new_token}
    assert statuses == [PublicationStatus.SCHEDULED, PublicationStatus.SCHEDULED]


def test_channel_json_warns_from_seven_days_before_expiry(
    api: Api, world: World, graph: GraphServer, runtime: Runtime
) -> None:
    status, body, _ = _connect(api, world.approver_a, instagram=False)
    assert status == 200, body
    [fb_id] = body["created"]
    token = graph.state.tokens[graph.state.pages[PAGE_ID]["token"]]
    token.data_access_expires_at = int((utcnow() + timedelta(days=3, hours=2)).timestamp())
    results = {r.channel_id: r for r in check_due_channels(runtime, "health-test")}
    assert results[fb_id].ok is True  # (the site channels were checked too)
    status, channel, _ = api.get(f"/channels/{fb_id}", world.approver_a)
    assert status == 200
    health = channel["health"]
    assert health["ok"] is True and health["expires_soon"] is True
    assert health["checked_at"] and health["expires_at"] and health["expires_at_local"]
    assert any("berakhir dalam 4 hari" in w for w in channel["warnings"]), channel["warnings"]
    # Far from expiry: no warning.
    token.data_access_expires_at = int((utcnow() + timedelta(days=60)).timestamp())
    with runtime.db.write() as s:
        s.get_one(Channel, fb_id).health_checked_at = utcnow() - timedelta(days=2)
    check_due_channels(runtime, "health-test")
    _, channel, _ = api.get(f"/channels/{fb_id}", world.approver_a)
    assert channel["health"]["expires_soon"] is False and channel["warnings"] == []


def test_public_base_url_problem_is_said_plainly(
    api: Api, world: World, graph: GraphServer, runtime: Runtime
) -> None:
    status, body, _ = _connect(api, world.approver_a)
    assert status == 200, body
    status, state, _ = api.get("/status", world.editor_a)
    assert status == 200
    assert state["public_base_url_ok"] is True and state["warnings"] == []

    runtime.settings.public_base_url = "http://publisher.dinas.local"
    runtime.settings.allow_loopback = False
    status, state, _ = api.get("/status", world.editor_a)
    assert status == 200
    assert state["public_base_url_ok"] is False
    assert "PUBLISHER_PUBLIC_BASE_URL" in state["public_base_url_problem"]
    assert state["warnings"] == [state["public_base_url_problem"]]
    _, listing, _ = api.get("/channels?opd=kominfo", world.editor_a)
    warned = {c["kind"]: c["warnings"] for c in listing["items"]}
    assert warned["instagram"] == [state["public_base_url_problem"]]
    assert warned["facebook"] == [] and warned["site"] == []
    status, _, _ = api.get("/status")
    assert status == 401
