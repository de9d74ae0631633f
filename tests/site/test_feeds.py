"""RSS 2.0 and Atom feeds per OPD and for the whole Pemda, read back with feedparser."""

from __future__ import annotations

import calendar

import feedparser
import pytest

from .conftest import World

BASE = "http://127.0.0.1:5000"


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_opd_feed_parses_with_stable_guids_and_dates(client, world: World, kind: str) -> None:  # type: ignore[no-untyped-def]
    first = world.publish(world.kominfo, title="Informasi Pertama", summary="Ringkasan pertama")
    second = world.publish(world.kominfo, title="Informasi Kedua")
    world.publish(world.kecamatan, title="Milik Kecamatan")
    world.make.item(world.kominfo.editor, world.kominfo.opd, [world.kominfo.site.id],
                    title="Masih Draf")

    response = client.get(f"/o/dinas-kominfo/feed.{kind}")
    assert response.status_code == 200
    assert response.mimetype == ("application/rss+xml" if kind == "rss"
                                 else "application/atom+xml")
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Dinas Kominfo"
    assert [e.title for e in feed.entries] == ["Informasi Kedua", "Informasi Pertama"]
    for entry, item in zip(feed.entries, (second, first), strict=True):
        url = f"{BASE}/o/dinas-kominfo/i/{item.id}/{item.slug}"
        assert entry.link == url
        assert entry.id == url
        published = world.published_at(item.id)
        assert calendar.timegm(entry.published_parsed) == int(published.timestamp())
    assert feed.entries[1].summary == "Ringkasan pertama"
    expected = "Berkala" if kind == "rss" else "berkala"  # RSS carries the label
    assert [t.term for t in feed.entries[0].tags] == [expected]


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_pemda_feed_has_every_opd_and_no_exempt_items(client, world: World, kind: str) -> None:  # type: ignore[no-untyped-def]
    world.publish(world.kominfo, title="Dari Kominfo")
    world.publish(world.desa, title="Dari Desa")
    gone = world.publish(world.kecamatan, title="Lalu Dikecualikan")
    world.set_item(gone.id, category="dikecualikan", exemption_article="a")
    feed = feedparser.parse(client.get(f"/feed.{kind}").data)
    assert not feed.bozo, feed.bozo_exception
    assert sorted(e.title for e in feed.entries) == ["Dari Desa", "Dari Kominfo"]
    assert all(e.link.startswith(f"{BASE}/o/") for e in feed.entries)


def test_hostile_html_is_escaped_in_feeds(client, world: World) -> None:  # type: ignore[no-untyped-def]
    world.publish(world.kominfo, title="Awas <script>alert(1)</script>",
                  body_html="<p>ok</p><script>alert(2)</script>")
    for kind in ("rss", "atom"):
        raw = client.get(f"/o/dinas-kominfo/feed.{kind}").get_data(as_text=True)
        assert "<script" not in raw.lower()
        feed = feedparser.parse(raw)
        assert not feed.bozo
        assert "<p>ok</p>" in feed.entries[0].content[0].value
        assert "alert(2)" not in raw


def test_feeds_answer_conditional_get(client, world: World) -> None:  # type: ignore[no-untyped-def]
    world.publish(world.kominfo, title="Sekali Saja")
    for url in ("/o/dinas-kominfo/feed.rss", "/feed.atom"):
        first = client.get(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert client.get(url).headers["ETag"] == etag  # same content, same bytes
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/o/tidak-ada/feed.rss").status_code == 404


def test_empty_feeds_are_valid(client, world: World) -> None:  # type: ignore[no-untyped-def]
    for url in ("/o/desa-firdaus/feed.rss", "/o/desa-firdaus/feed.atom", "/feed.rss"):
        feed = feedparser.parse(client.get(url).data)
        assert not feed.bozo and feed.entries == []


def test_rss_description_stays_text(client, world: World) -> None:  # type: ignore[no-untyped-def]
    """An entity-encoded tag in a summary reaches RSS readers (which render <description> as
    HTML) escaped once more, so no reader can turn it into markup."""
    world.publish(world.kominfo, title="Teks", summary="a <img src=x onerror=alert(1)> & b")
    raw = client.get("/o/dinas-kominfo/feed.rss").get_data(as_text=True)
    assert "&amp;lt;img src=x onerror=alert(1)&amp;gt; &amp;amp; b" in raw
    entry = feedparser.parse(raw, sanitize_html=False).entries[0]
    assert "<img" not in entry.summary and "&lt;img" in entry.summary
    atom = feedparser.parse(client.get("/o/dinas-kominfo/feed.atom").data).entries[0]
    assert atom.summary == "a <img src=x onerror=alert(1)> & b"  # Atom: type="text"


def test_pemda_feed_carries_the_latest_signed_checkpoint(client, world: World) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    from publisher import checkpoints
    from publisher.site.feed_checkpoint import NAMESPACE

    world.publish(world.kominfo, title="Tercatat")
    with world.runtime.db.read() as s:
        first = checkpoints.write_checkpoint(world.runtime.settings, s)
    assert first is not None
    public = checkpoints.signing_key(world.runtime.settings).public_key()
    for kind in ("rss", "atom"):
        root = etree.fromstring(client.get(f"/feed.{kind}").data)
        found = root.findall(f".//{{{NAMESPACE}}}checkpoint")
        assert len(found) == 1, kind
        carried = {k: found[0].get(k) for k in ("count", "head_seq", "head_hash", "time",
                                                "signature")}
        carried["count"], carried["head_seq"] = int(carried["count"]), int(carried["head_seq"])
        assert carried == first and checkpoints.signature_ok(public, carried)
        assert found[0].get("href") == f"{BASE}/audit/checkpoints"
    assert b"checkpoint" not in client.get("/o/dinas-kominfo/feed.rss").data
