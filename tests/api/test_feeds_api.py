"""``/api/v1/feeds``: feed sources through the JSON API, with a feed served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import update

from publisher.feeds import poll_due_feeds
from publisher.models import FeedSource
from publisher.netguard import BlockedAddress, check_url

from ..loopback_http import LoopbackServer, send
from .conftest import assert_problem, db_state


def rss(*titles: str) -> bytes:
    day = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    items = "".join(
        f"<item><title>{t}</title><link>http://127.0.0.1/berita/{n}</link>"
        f"<guid>berita-{n}</guid><pubDate>{format_datetime(day + timedelta(hours=n))}</pubDate>"
        f"<description>Isi {t}</description></item>"
        for n, t in enumerate(titles)
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            "<title>Berita Dinas</title><link>http://127.0.0.1/</link><description>x"
            f"</description>{items}</channel></rss>").encode()


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        srv.route("/feed", lambda h: send(h, 200, rss("Posyandu", "Vaksinasi"),
                                          "application/rss+xml"))
        srv.route("/rusak", lambda h: send(h, 200, b"<rss><channel><item>", "application/xml"))
        yield srv


def _source(world, url: str, **extra):
    return {"opd": "kominfo", "name": "Berita situs", "url": url,
            "target_channel_ids": [world.site_a.id], **extra}


def test_feed_source_lifecycle(api, world, runtime, site) -> None:
    status, created, resp = api.post("/feeds", world.editor_a, _source(world, site.url("/feed")))
    assert status == 201, created
    assert resp.headers["Location"].endswith(f"/api/v1/feeds/{created['id']}")
    assert created["opd_id"] == world.a.id and created["seeded"] is False
    assert created["requires_approval"] is True and created["category"] == "berkala"
    assert created["target_channel_ids"] == [world.site_a.id]
    assert created["next_poll_at"].endswith("Z") and created["next_poll_at_local"].endswith("WIB")
    assert created["last_polled_at"] is None and created["last_error"] is None

    status, listed, _ = api.get("/feeds", world.editor_a)
    assert status == 200 and [s["id"] for s in listed["items"]] == [created["id"]]
    assert api.get("/feeds?opd=kominfo", world.approver_a)[1]["items"][0]["id"] == created["id"]

    # A real poll of the loopback feed, then what the API shows of it.
    assert poll_due_feeds(runtime, "w1") == 1
    status, got, _ = api.get(f"/feeds/{created['id']}", world.editor_a)
    assert status == 200 and got["seeded"] is True and got["last_error"] is None
    assert got["last_polled_at"] is not None and got["last_success_at"] is not None
    assert [r["path"] for r in site.requests] == ["/feed"]

    # What the first poll recorded without posting, and why.
    status, skipped, _ = api.get(f"/feeds/{created['id']}/skipped", world.editor_a)
    assert status == 200, skipped
    assert [(e["title"], e["reason"]) for e in skipped["items"]] == [
        ("Vaksinasi", "first_poll"), ("Posyandu", "first_poll")]  # newest record first
    assert all(e["reason_text"] and e["seen_at_local"].endswith("WIB")
               for e in skipped["items"])
    assert api.get(f"/feeds/{created['id']}/skipped", world.editor_b)[0] == 404
    assert created["recurring"] is False
    status, changed, _ = api.patch(f"/feeds/{created['id']}", world.editor_a,
                                   {"recurring": True})
    assert status == 200 and changed["recurring"] is True
    status, problem, _ = api.patch(f"/feeds/{created['id']}", world.editor_a,
                                   {"recurring": "kadang"})
    assert status == 422
    assert_problem(problem, 422, "recurring")

    # "Poll now" makes it due at once; the next tick polls it again.
    with runtime.db.write() as s:
        s.execute(update(FeedSource).values(next_poll_at=datetime.now(UTC) + timedelta(hours=1)))
    status, polled, _ = api.post(f"/feeds/{created['id']}/poll", world.editor_a)
    assert status == 202, polled
    assert datetime.fromisoformat(polled["next_poll_at"]) <= datetime.now(UTC)
    assert poll_due_feeds(runtime, "w1") == 1 and len(site.requests) == 2

    # A broken feed is reported on the source (last poll and error).
    status, changed, _ = api.patch(f"/feeds/{created['id']}", world.editor_a, {
        "url": site.url("/rusak"), "poll_interval_seconds": 300, "name": "Berita (rusak)"})
    assert status == 200, changed
    assert changed["poll_interval_seconds"] == 300 and changed["seeded"] is False
    assert poll_due_feeds(runtime, "w1") == 1
    _, broken, _ = api.get(f"/feeds/{created['id']}", world.editor_a)
    assert broken["last_error"] and broken["error_count"] == 1

    status, body, _ = api.delete(f"/feeds/{created['id']}", world.editor_a)
    assert status == 204 and body is None
    status, problem, _ = api.get(f"/feeds/{created['id']}", world.editor_a)
    assert status == 404
    assert_problem(problem, 404, "source_id")


def test_feed_sources_are_scoped_to_the_opd(api, world, runtime, site) -> None:
    status, theirs, _ = api.post("/feeds", world.editor_b, {
        "opd": "sei-rampah", "name": "Berita camat", "url": site.url("/feed"),
        "target_channel_ids": [world.site_b.id]})
    assert status == 201, theirs
    before = db_state(runtime)
    assert api.get("/feeds", world.editor_a)[1]["items"] == []
    assert api.get("/feeds", world.editor_b)[1]["items"][0]["id"] == theirs["id"]
    path = f"/feeds/{theirs['id']}"
    for status, problem, _ in (api.get(path, world.editor_a),
                               api.patch(path, world.approver_a, {"name": "diambil alih"}),
                               api.post(f"{path}/poll", world.approver_a),
                               api.delete(path, world.approver_a)):
        assert status == 404
        assert_problem(problem, 404)
    status, problem, _ = api.get("/feeds?opd=sei-rampah", world.editor_a)
    assert status == 422
    assert_problem(problem, 422, "opd")
    status, problem, _ = api.post("/feeds", world.editor_a, {
        **_source(world, site.url("/feed")), "opd": "sei-rampah"})
    assert status == 422
    assert_problem(problem, 422, "opd")
    assert db_state(runtime) == before


def test_refusals_name_the_field(api, world, runtime, site) -> None:
    before = db_state(runtime)
    cases = [
        (_source(world, site.url("/feed"), target_channel_ids=[world.site_b.id]),
         "target_channel_ids"),
        (_source(world, site.url("/feed"), target_channel_ids=[987654]), "target_channel_ids"),
        (_source(world, site.url("/feed"), target_channel_ids=[]), "target_channel_ids"),
        (_source(world, site.url("/feed"), target_channel_ids=["satu"]), "target_channel_ids.0"),
        (_source(world, "ftp://127.0.0.1/feed"), "url"),
        (_source(world, "bukan alamat"), "url"),
        (_source(world, site.url("/feed"), category="dikecualikan"), "category"),
        (_source(world, site.url("/feed"), poll_interval_seconds=5), "poll_interval_seconds"),
        (_source(world, site.url("/feed"), body_template="{% if %}"), "body_template"),
        ({"opd": "kominfo", "url": site.url("/feed")}, "name"),
    ]
    for body, field in cases:
        status, problem, _ = api.post("/feeds", world.editor_a, body)
        assert status == 422, (body, problem)
        assert_problem(problem, 422, field)
    # Publishing without approval is for approvers only.
    status, problem, _ = api.post("/feeds", world.editor_a,
                                  _source(world, site.url("/feed"), requires_approval=False))
    assert status == 403
    assert_problem(problem, 403)
    assert db_state(runtime) == before


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.10", "172.16.5.4", "169.254.169.254",
                                     "[fd00::1]", "[::ffff:10.0.0.1]"])
def test_private_addresses_are_refused(api, world, runtime, address: str) -> None:
    url = f"http://{address}/feed"
    # The guard itself refuses it: a literal address is checked, never connected to.
    with pytest.raises(BlockedAddress):
        check_url(url, runtime.settings)
    before = db_state(runtime)
    status, problem, _ = api.post("/feeds", world.approver_a, _source(world, url))
    assert status == 422
    assert_problem(problem, 422, "url")
    assert address.strip("[]") in problem["detail"] or "ditolak" in problem["detail"]
    assert db_state(runtime) == before


def test_changing_to_a_private_address_is_refused(api, world, runtime, site) -> None:
    _, created, _ = api.post("/feeds", world.editor_a, _source(world, site.url("/feed")))
    before = db_state(runtime)
    status, problem, _ = api.patch(f"/feeds/{created['id']}", world.editor_a,
                                   {"url": "http://10.20.30.40/feed"})
    assert status == 422
    assert_problem(problem, 422, "url")
    status, problem, _ = api.patch(f"/feeds/{created['id']}", world.editor_a,
                                   {"target_channel_ids": [world.site_b.id]})
    assert status == 422
    assert_problem(problem, 422, "target_channel_ids")
    assert db_state(runtime) == before


def test_auditor_reads_but_cannot_write(api, world, site) -> None:
    _, created, _ = api.post("/feeds", world.editor_a, _source(world, site.url("/feed")))
    assert api.get(f"/feeds/{created['id']}", world.auditor)[0] == 200
    assert api.post(f"/feeds/{created['id']}/poll", world.auditor)[0] == 403
    assert api.delete(f"/feeds/{created['id']}", world.auditor)[0] == 403


def test_openapi_documents_feed_sources(api) -> None:
    doc = api.client.get("/api/v1/openapi.json").json
    assert {"/api/v1/feeds", "/api/v1/feeds/{source_id}",
            "/api/v1/feeds/{source_id}/poll", "/api/v1/feeds/{source_id}/skipped"} <= set(
        doc["paths"])
    schemas = doc["components"]["schemas"]
    assert "FeedSourceOut" in schemas and "last_error" in schemas["FeedSourceOut"]["properties"]
    created = doc["paths"]["/api/v1/feeds"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "FeedSourceOut")
    assert "422" in created
