"""Feed sources and cross-posting: feeds served from loopback servers, polled for real."""

from __future__ import annotations

import hashlib
import io
import threading
import unicodedata
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from publisher.access import Principal
from publisher.db import Base
from publisher.feeds import poll_due_feeds
from publisher.feeds.poll import claim_sources, poll_source
from publisher.models import (
    AuditEvent,
    FeedEntrySeen,
    FeedSource,
    Item,
    ItemStatus,
    Publication,
    Role,
)
from publisher.runtime import Runtime
from publisher.services import feeds as feed_service
from publisher.services.errors import Forbidden, Invalid
from publisher.timeutil import utcnow

from .conftest import make_settings
from .loopback_http import LoopbackServer, endless, not_modified, redirect, send

NOW = datetime.now(UTC)


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def feed_tables(runtime: Runtime) -> None:
    """The feed tables (until the initial migration is regenerated with them)."""
    Base.metadata.create_all(runtime.db.engine,
                             tables=[FeedSource.__table__, FeedEntrySeen.__table__])


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def jpeg(color: tuple[int, int, int] = (200, 60, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(out, "JPEG")
    return out.getvalue()


def rss(entries: list[dict[str, Any]], title: str = "Berita Dinas") -> bytes:
    items = []
    for e in entries:
        extra = ""
        if e.get("image"):
            extra = f'<enclosure url="{e["image"]}" type="image/jpeg" length="1000"/>'
        guid = f"<guid isPermaLink=\"false\">{e['guid']}</guid>" if e.get("guid") else ""
        items.append(
            f"<item><title>{e['title']}</title><link>{e.get('link', '')}</link>{guid}"
            f"<pubDate>{format_datetime(e.get('date', NOW))}</pubDate>"
            f"<description>{e.get('body', 'Isi ' + e['title'])}</description>{extra}</item>"
        )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>http://127.0.0.1/</link><description>x</description>"
            + "".join(items) + "</channel></rss>").encode()


class FeedSite:
    """A feed whose content the test changes; answers conditional GETs with 304."""

    def __init__(self, srv: LoopbackServer, path: str = "/feed/") -> None:
        self.srv, self.path = srv, path
        self.body = b""
        self.version = 0
        srv.route(path, self._serve)

    def set(self, body: bytes) -> None:
        self.body = body
        self.version += 1

    @property
    def url(self) -> str:
        return self.srv.url(self.path)

    def _serve(self, h) -> None:
        etag = f'"v{self.version}"'
        if h.headers.get("If-None-Match") == etag:
            not_modified(h, {"ETag": etag})
            return
        send(h, 200, self.body, "application/rss+xml; charset=utf-8", {"ETag": etag})

    def hits(self) -> int:
        return sum(1 for r in self.srv.requests if r["path"] == self.path)


def entries(n: int, start: int = 0, days_ago: float = 30) -> list[dict[str, Any]]:
    return [{"guid": f"post-{i}", "title": f"Berita nomor {i}",
             "link": f"http://127.0.0.1/berita/{i}",
             "date": NOW - timedelta(days=days_ago) + timedelta(minutes=i)}
            for i in range(start, start + n)]


def new_entries(n: int, start: int) -> list[dict[str, Any]]:
    return [{**e, "date": utcnow() + timedelta(seconds=5 + i)}
            for i, e in enumerate(entries(n, start))]


class Env:
    def __init__(self, runtime: Runtime, make: Any) -> None:
        self.runtime, self.make = runtime, make
        self.opd = make.opd()
        self.approver = make.person(Role.APPROVER, self.opd)
        self.editor = make.person(Role.EDITOR, self.opd)
        self.channel = make.channel(self.opd, "site", min_interval_seconds=600)

    def source(self, url: str, *, requires_approval: bool = False, **data: Any) -> int:
        who = self.approver if not requires_approval else self.editor
        with self.runtime.db.write() as s:
            source = feed_service.create_feed_source(
                s, who.principal, self.runtime.settings, self.opd.id,
                {"name": "Situs dinas", "url": url, "target_channel_ids": [self.channel.id],
                 "requires_approval": requires_approval, **data})
            return source.id

    def poll(self, worker: str = "w1", force: bool = True) -> int:
        if force:
            with self.runtime.db.write() as s:
                s.execute(update(FeedSource).values(next_poll_at=utcnow() - timedelta(seconds=1)))
        return poll_due_feeds(self.runtime, worker)

    def get(self, source_id: int) -> SimpleNamespace:
        with self.runtime.db.read() as s:
            row = s.get_one(FeedSource, source_id)
            return SimpleNamespace(**feed_service.describe_feed_source(row),
                                   claimed_by=row.claimed_by)

    def items(self) -> list[Item]:
        with self.runtime.db.read() as s:
            found = list(s.scalars(select(Item).where(Item.source == "feed").order_by(Item.id)))
            for item in found:
                _ = item.media, item.status, item.title
            s.expunge_all()
            return found


    def count(self, model: Any) -> int:
        with self.runtime.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def publications(self) -> list[Publication]:
        with self.runtime.db.read() as s:
            found = list(s.scalars(select(Publication).order_by(Publication.due_at)))
            s.expunge_all()
            return found


@pytest.fixture
def env(runtime: Runtime, make: Any) -> Env:
    return Env(runtime, make)


# --- the rules, end to end --------------------------------------------------------------------


class SecondResolutionFeed:
    """A feed whose validators, like WordPress's, come from the newest post's second: the
    ETag is derived from Last-Modified, so two posts in the same second share them."""

    def __init__(self, srv: LoopbackServer, modified: datetime) -> None:
        self.srv, self.body = srv, b""
        self.last_modified = format_datetime(modified.replace(microsecond=0), usegmt=True)
        srv.route("/feed/", self._serve)

    def _serve(self, h) -> None:
        headers = {"ETag": f'"{hashlib.md5(self.last_modified.encode()).hexdigest()}"',
                   "Last-Modified": self.last_modified}
        if h.headers.get("If-None-Match") == headers["ETag"]:
            not_modified(h, headers)
            return
        send(h, 200, self.body, "application/rss+xml; charset=utf-8", headers)


def test_a_post_in_the_same_second_as_the_last_poll_is_not_missed(env: Env, server) -> None:
    site = SecondResolutionFeed(server, modified=utcnow())
    site.body = rss(entries(3))
    env.source(server.url("/feed/"))
    assert env.poll() == 1 and env.items() == []  # seeded

    # A new post within the same second: the feed's ETag and Last-Modified do not change.
    site.body = rss(new_entries(1, 3) + entries(3))
    env.poll()
    assert [i.title for i in env.items()] == ["Berita nomor 3"]
    assert "If-None-Match" not in server.requests[-1]["headers"]


def test_first_poll_records_200_entries_then_posts_only_new_ones(env: Env, server) -> None:
    site = FeedSite(server)
    site.set(rss(entries(200)))
    source_id = env.source(site.url)
    assert env.poll() == 1
    assert env.count(FeedEntrySeen) == 200
    assert env.items() == [] and env.publications() == []  # seeding posts nothing
    assert env.get(source_id).seeded

    # Unchanged: a conditional GET answered 304, nothing else happens.
    assert env.poll() == 1
    assert server.requests[-1]["headers"]["If-None-Match"] == '"v1"'
    assert env.get(source_id).last_error is None and env.items() == []

    # Three new entries (a burst): one item each, oldest first, spread by the channel's
    # 10-minute minimum interval.
    server.route("/img/1.jpg", lambda h: send(h, 200, jpeg(), "image/jpeg"))
    burst = new_entries(3, 200)
    burst[0]["image"] = server.url("/img/1.jpg")
    site.set(rss(list(reversed(burst)) + entries(200)))
    assert env.poll() == 1
    made = env.items()
    assert [i.title for i in made] == ["Berita nomor 200", "Berita nomor 201", "Berita nomor 202"]
    assert all(i.status == ItemStatus.APPROVED and i.category == "berkala" for i in made)
    assert len(made[0].media) == 1 and made[0].media[0].mime_type == "image/jpeg"
    assert made[0].link == "http://127.0.0.1/berita/200"
    dues = [p.due_at for p in env.publications()]
    assert len(dues) == 3
    assert dues[1] - dues[0] >= timedelta(seconds=599)
    assert dues[2] - dues[1] >= timedelta(seconds=599)
    assert env.count(FeedEntrySeen) == 203

    # Polling again (and by a restarted worker) makes nothing new.
    site.set(rss(list(reversed(burst)) + entries(200)))
    env.poll("w1")
    env.poll("w2-restarted")
    assert len(env.items()) == 3


def test_edited_and_redated_entries_are_not_posted_again(env: Env, server) -> None:
    site = FeedSite(server)
    old = entries(5)
    site.set(rss(old))
    env.source(site.url)
    env.poll()
    edited = [dict(e) for e in old]
    edited[0]["title"] = "Berita nomor 0 (diperbarui)"  # same GUID, new content
    edited[0]["body"] = "Isi yang sudah diperbaiki"
    edited[0]["date"] = utcnow()
    edited[1]["guid"] = "post-1-republished"  # new GUID, same content, new date
    edited[1]["link"] = "http://127.0.0.1/berita/1?bumped"
    edited[1]["date"] = utcnow()
    site.set(rss(edited))
    env.poll()
    assert env.items() == []


def test_old_entry_surfacing_after_seeding_is_not_posted(env: Env, server) -> None:
    site = FeedSite(server)
    site.set(rss(entries(10, start=10)))
    env.source(site.url)
    env.poll()
    site.set(rss(entries(11, start=9)))  # a newer post was deleted; an older one shows up
    env.poll()
    assert env.items() == []
    assert env.count(FeedEntrySeen) == 11


def test_entries_needing_approval_wait_for_an_approver(env: Env, server) -> None:
    site = FeedSite(server)
    site.set(rss(entries(2)))
    env.source(site.url, requires_approval=True, category="setiap_saat")
    env.poll()
    site.set(rss(new_entries(1, 50) + entries(2)))
    env.poll()
    [item] = env.items()
    assert item.status == ItemStatus.SUBMITTED and item.category == "setiap_saat"
    assert env.publications() == []
    from publisher.services import items as item_service

    with env.runtime.db.write() as s:
        item_service.approve_item(s, env.approver.principal, env.runtime.settings, item.id)
    assert len(env.publications()) == 1


def test_og_image_of_the_article_is_used(env: Env, server) -> None:
    server.route("/berita/og", lambda h: send(
        h, 200, b'<html><head><meta property="og:image" content="/img/og.jpg">'
        b'<meta property="og:image:alt" content="Foto rapat"></head></html>', "text/html"))
    server.route("/img/og.jpg", lambda h: send(h, 200, jpeg((10, 90, 10)), "image/jpeg"))
    site = FeedSite(server)
    site.set(rss([]))
    env.source(site.url)
    env.poll()
    site.set(rss([{**new_entries(1, 1)[0], "link": server.url("/berita/og")}]))
    env.poll()
    [item] = env.items()
    assert len(item.media) == 1 and item.media[0].alt_text == "Foto rapat"
    stored = Path(env.runtime.settings.instance_path) / "media" / item.media[0].storage_key
    assert stored.is_file()


# --- broken feeds ---------------------------------------------------------------------------------


def _errors(env: Env) -> list[AuditEvent]:
    with env.runtime.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "feed.error")))


def test_malformed_feed_is_reported_without_stopping_other_feeds(env: Env, server) -> None:
    good, bad, html = FeedSite(server, "/good"), FeedSite(server, "/bad"), FeedSite(server, "/h")
    good.set(rss(entries(3)))
    bad.set(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item>'
            b"<title>unclosed</channel></rss>")
    server.route("/h", lambda h: send(h, 200, b"<html><body>Beranda</body></html>", "text/html"))
    good_id, bad_id, html_id = env.source(good.url), env.source(bad.url), env.source(html.url)
    assert env.poll() == 3
    assert env.get(good_id).seeded and env.get(good_id).last_error is None
    assert "Feed rusak" in (env.get(bad_id).last_error or "")
    assert "bukan feed RSS/Atom" in (env.get(html_id).last_error or "")
    assert not env.get(bad_id).seeded
    assert len(_errors(env)) == 2
    env.poll()  # the same problem again is not audited again
    assert len(_errors(env)) == 2
    assert env.get(bad_id).error_count == 2
    bad.set(rss(entries(1)))  # fixed: recovery is audited, the source seeds
    env.poll()
    assert env.get(bad_id).last_error is None and env.get(bad_id).seeded
    with env.runtime.db.read() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "feed.recovered")) == 1


def test_feed_that_never_ends_is_cut(env: Env, server) -> None:
    server.route("/endless", endless())
    source_id = env.source(server.url("/endless"))
    env.poll()
    assert "batas" in (env.get(source_id).last_error or "")


def test_redirect_to_refused_address(tmp_path: Path, database_url: str, make: Any,
                                     server) -> None:
    narrowed = Runtime(make_settings(tmp_path / "n", database_url, allow_loopback=False,
                                     allowed_networks=("127.0.0.1/32",)))
    env = Env(narrowed, make)
    with LoopbackServer("127.0.0.2") as inner:
        inner.route("/feed", lambda h: send(h, 200, rss(entries(2)), "application/rss+xml"))
        server.route("/feed", redirect(inner.url("/feed")))
        source_id = env.source(server.url("/feed"))
        assert poll_due_feeds(narrowed, "w1") == 1
        assert "127.0.0.2 ditolak" in (env.get(source_id).last_error or "")
        assert inner.requests == []
    narrowed.db.dispose()


# --- claiming ----------------------------------------------------------------------------------


def test_each_due_source_is_polled_once_by_concurrent_workers(env: Env, server) -> None:
    sites = [FeedSite(server, f"/f{i}") for i in range(12)]
    for site in sites:
        site.set(rss(entries(2)))
        env.source(site.url)
    counts: list[int] = []
    workers = [threading.Thread(target=lambda n=n: counts.append(
        poll_due_feeds(env.runtime, f"worker-{n}", concurrency=3, batch=2))) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sum(counts) == 12
    assert [site.hits() for site in sites] == [1] * 12
    assert poll_due_feeds(env.runtime, "late") == 0  # none due until the interval passes


def test_a_worker_that_lost_its_lease_writes_nothing(env: Env, server) -> None:
    site = FeedSite(server)
    site.set(rss(entries(2)))
    source_id = env.source(site.url)
    [job_a] = claim_sources(env.runtime.db, "A", 10, utcnow())
    assert claim_sources(env.runtime.db, "B", 10, utcnow()) == []  # A holds the lease
    [job_b] = claim_sources(env.runtime.db, "B", 10, utcnow() + timedelta(hours=1))  # expired
    assert poll_source(env.runtime, job_a, "A").status == "lost_lease"
    assert env.count(FeedEntrySeen) == 0
    assert poll_source(env.runtime, job_b, "B").status == "ok"
    assert env.count(FeedEntrySeen) == 2 and env.get(source_id).claimed_by is None


# --- managing sources ------------------------------------------------------------------------


def test_source_validation(env: Env, make: Any) -> None:
    other = make.channel(make.opd(), "site")
    base = {"name": "Situs", "url": "http://127.0.0.1:9/feed", "target_channel_ids":
            [env.channel.id]}

    def create(who: Principal, **data: Any) -> None:
        with env.runtime.db.write() as s:
            feed_service.create_feed_source(s, who, env.runtime.settings, env.opd.id,
                                            {**base, **data})

    cases = [
        ({"category": "dikecualikan"}, "category"),
        ({"poll_interval_seconds": 10}, "poll_interval_seconds"),
        ({"target_channel_ids": [other.id]}, "target_channel_ids"),
        ({"target_channel_ids": []}, "target_channel_ids"),
        ({"url": "ftp://example.org/feed"}, "url"),
        ({"body_template": "{% if %}"}, "body_template"),
        ({"name": ""}, "name"),
    ]
    for data, field in cases:
        with pytest.raises(Invalid) as info:
            create(env.approver.principal, **data)
        assert info.value.field == field
    with pytest.raises(Forbidden):
        create(env.editor.principal, requires_approval=False)
    create(env.editor.principal, requires_approval=True)
    with pytest.raises(Invalid) as bad:
        feed_service.check_feed_url("http://169.254.169.254/latest", env.runtime.settings)
    assert bad.value.field == "url"


def test_body_template_of_the_source(env: Env, server) -> None:
    site = FeedSite(server)
    site.set(rss([]))
    env.source(site.url, body_template="<p>{{ entry.summary_text }}</p><p>Sumber: "
                                       "{{ source.name }}</p><script>x</script>")
    env.poll()
    site.set(rss(new_entries(1, 7)))
    env.poll()
    [item] = env.items()
    assert item.body_html == "<p>Isi Berita nomor 7</p><p>Sumber: Situs dinas</p>"


def test_one_title_written_in_nfc_and_in_nfd_is_posted_once(env: Env, server) -> None:
    """Two sites (or one CMS that changed its editor) spell the same accented title in two
    Unicode forms: it is one announcement, posted once, stored in NFC without invisible
    characters."""
    site = FeedSite(server)
    site.set(rss(entries(3)))
    env.source(site.url)
    env.poll()  # the first poll only records what is there
    title = "Pengumuman Café Ñangka"
    fresh = new_entries(2, 50)
    fresh[0].update(guid="nfd-1", title=unicodedata.normalize("NFD", title) + "\u200b",
                    body="Isi pengumuman yang sama")
    fresh[1].update(guid="nfc-1", title="\u202d" + unicodedata.normalize("NFC", title),
                    body="Isi pengumuman yang sama")
    site.set(rss(entries(3) + fresh))
    env.poll()
    assert [i.title for i in env.items()] == [unicodedata.normalize("NFC", title)]


# --- what is skipped, and why; recurring announcements; bait in entries ------------------------


def test_skipped_entries_are_recorded_with_why(env: Env, server) -> None:
    """Nothing a feed showed vanishes: each entry left out is kept with its reason."""
    site = FeedSite(server)
    site.set(rss(entries(2, start=10)))
    source_id = env.source(site.url)
    env.poll()  # seeding
    again = {"guid": "post-11-copy", "title": "Berita nomor 11",
             "link": "http://127.0.0.1/berita/11-copy", "date": utcnow(),
             "body": "Isi Berita nomor 11"}
    site.set(rss([*entries(3, start=9), again]))  # an old one surfaces; a copy, new GUID
    env.poll()
    assert env.items() == []
    with env.runtime.db.read() as s:
        skipped = feed_service.skipped_entries(s, env.approver.principal, source_id)
        reasons = {row["link"].rsplit("/", 1)[-1]: row["reason"] for row in skipped}
    assert reasons == {"9": "older_than_source", "11-copy": "same_text",
                       "10": "first_poll", "11": "first_poll"}
    assert all(row["reason_text"] for row in skipped)
    # Another OPD's user cannot read them.
    stranger = env.make.person(Role.EDITOR, env.make.opd("Kecamatan Lain"))
    with env.runtime.db.read() as s, pytest.raises(Exception, match="tidak ditemukan"):
        feed_service.skipped_entries(s, stranger.principal, source_id)


def _schedule(guid: str, when: datetime) -> dict[str, Any]:
    return {"guid": guid, "title": "Jadwal Posyandu minggu ini",
            "link": f"http://127.0.0.1/jadwal/{guid}", "date": when,
            "body": "Posyandu buka Selasa pukul 08.00 WIB di balai desa."}


def test_a_recurring_announcement_is_posted_once_per_new_guid_when_switched_on(
        env: Env, server) -> None:
    site = FeedSite(server)
    site.set(rss(entries(2)))
    source_id = env.source(site.url)
    env.poll()
    week = [_schedule("jadwal-1", utcnow() + timedelta(seconds=5))]
    site.set(rss(week + entries(2)))
    env.poll()
    assert [i.title for i in env.items()] == ["Jadwal Posyandu minggu ini"]

    # Off (the default): the same text under a new GUID is a duplicate, recorded as such.
    week.insert(0, _schedule("jadwal-2", utcnow() + timedelta(seconds=10)))
    site.set(rss(week + entries(2)))
    env.poll()
    assert len(env.items()) == 1
    with env.runtime.db.read() as s:
        assert feed_service.skipped_entries(s, env.approver.principal,
                                            source_id)[0]["reason"] == "same_text"

    # On: next week's copy (new GUID, newer date) goes out once; polling again adds nothing,
    # and a re-dated old copy under its old GUID is not posted.
    with env.runtime.db.write() as s:
        feed_service.update_feed_source(s, env.approver.principal, env.runtime.settings,
                                        source_id, {"recurring": True})
    assert env.get(source_id).recurring is True
    week.insert(0, _schedule("jadwal-3", utcnow() + timedelta(seconds=15)))
    week[-1]["date"] = utcnow() + timedelta(seconds=20)
    site.set(rss(week + entries(2)))
    env.poll()
    env.poll("w2")
    made = env.items()
    assert [i.title for i in made] == ["Jadwal Posyandu minggu ini"] * 2
    assert made[1].source_ref == "http://127.0.0.1/jadwal/jadwal-3"

    # A copy dated before the text was last seen is still a duplicate.
    week.insert(0, _schedule("jadwal-lama", NOW - timedelta(days=1)))
    site.set(rss(week + entries(2)))
    env.poll()
    assert len(env.items()) == 2


def _html_rss(guid: str, body_html: str) -> bytes:
    item = (f"<item><title>Rapat koordinasi {guid}</title>"
            f"<link>http://127.0.0.1/berita/{guid}</link><guid>{guid}</guid>"
            f"<pubDate>{format_datetime(utcnow() + timedelta(seconds=5))}</pubDate>"
            f"<description><![CDATA[{body_html}]]></description></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Berita</title><link>http://127.0.0.1/</link><description>x</description>"
            f"{item}</channel></rss>").encode()


def gif_pixel() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (255, 255, 255)).save(out, "GIF")
    return out.getvalue()


def test_tracking_pixels_are_neither_fetched_as_pictures_nor_kept_in_the_body(
        env: Env, server) -> None:
    server.route("/hit.gif", lambda h: send(h, 200, gif_pixel(), "image/gif"))
    server.route("/img/foto.jpg", lambda h: send(h, 200, jpeg((20, 120, 200)), "image/jpeg"))
    site = FeedSite(server)
    site.set(_html_rss("seed", "<p>x</p>"))
    env.source(site.url)
    env.poll()
    counter = server.url("/hit.gif")  # no size given: only its real size tells
    body = (f'<p><img src="{counter}"> Rapat membahas anggaran.</p>'
            f'<p><img src="https://pixel.wp.com/g.gif?blog=1" alt=""></p>'
            f'<p><img src="http://127.0.0.1:9/count?id=7" width="1" height="1"></p>'
            f'<p><img src="{server.url("/img/foto.jpg")}" alt="Foto rapat"></p>')
    site.set(_html_rss("rapat-1", body))
    env.poll()
    [item] = env.items()
    assert "pixel.wp.com" not in item.body_html and "/count?id=7" not in item.body_html
    assert [(m.width, m.height, m.alt_text) for m in item.media] == [(400, 300, "Foto rapat")]
    fetched = [r["path"] for r in server.requests]
    assert "/img/foto.jpg" in fetched


def test_a_script_link_leaves_neither_its_target_nor_its_words(env: Env, server) -> None:
    """``<a href="javascript:…">Klik untuk hadiah</a>``: the sanitiser would drop the target
    and keep the words, which then reach the caption of every channel as a bait line."""
    site = FeedSite(server)
    site.set(_html_rss("seed", "<p>x</p>"))
    env.source(site.url)
    env.poll()
    body = ('<p>Rapat koordinasi penanganan banjir.</p>'
            '<p><a href="javascript:alert(document.cookie)">Klik untuk hadiah</a> '
            '<a href="data:text/html;base64,PHNjcmlwdD4=">Unduh sekarang</a> '
            '<a href="https://dinas.go.id/berkas.pdf">Unduh notulen</a> '
            '<a name="bawah">Catatan</a></p>')
    site.set(_html_rss("rapat-2", body))
    env.poll()
    [item] = env.items()
    for bait in ("Klik untuk hadiah", "Unduh sekarang", "javascript", "data:"):
        assert bait not in item.body_html and bait not in item.summary
    assert "Unduh notulen" in item.body_html and "Catatan" in item.summary
    assert "Rapat koordinasi penanganan banjir." in item.summary
