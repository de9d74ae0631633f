"""The ``wordpress`` channel against the real WordPress (shared/wordpress), plus error mapping
against small loopback servers that answer like a broken or unusual site."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
import requests
from PIL import Image

from publisher.channels.base import (
    AuthError,
    ChannelInfo,
    ConfigError,
    ItemView,
    MediaView,
    OpdView,
    PermanentError,
    RateLimited,
    RenderContext,
    TransientError,
)
from publisher.channels.wordpress import WordPressChannel, connect_site, post_slug
from publisher.config import Settings
from publisher.fetch import fetch
from publisher.render import Renderer
from publisher.timeutil import utcnow

from .loopback_http import LoopbackServer, send
from .wordpress_fixture import WordPressSite, wordpress  # noqa: F401

SETTINGS = Settings(allow_loopback=True, http_timeout=5.0)
RENDERER = Renderer()


def make_ctx(tmp_path: Path, *, with_image: bool = True, title: str | None = None,
             due_in: timedelta | None = None) -> RenderContext:
    tag = uuid.uuid4().hex[:8]
    media: tuple[MediaView, ...] = ()
    if with_image:
        path = tmp_path / f"foto-{tag}.jpg"
        Image.new("RGB", (640, 480), (30, 120, 200)).save(path, "JPEG")
        media = (MediaView(id=1, public_url=f"http://127.0.0.1:5000/m/{tag}", path=str(path),
                           mime_type="image/jpeg", alt_text=f"Foto posyandu {tag}",
                           width=640, height=480),)
    item = ItemView(
        id=int(time.time() * 1000) % 10**9, opd_id=1, slug=f"jadwal-posyandu-{tag}",
        title=title or f"Jadwal Posyandu & imunisasi {tag}",
        body_html="<p>Posyandu dibuka <strong>pukul 08.00</strong>.</p>",
        summary=f"Ringkasan jadwal {tag}",
        category="berkala", link="", version=1, content_hash=uuid.uuid4().hex * 2,
        site_url=f"http://127.0.0.1:5000/o/dinkes/{tag}",
    )
    opd = OpdView(id=1, name="Dinas Kesehatan", slug="dinkes", timezone="Asia/Jakarta",
                  tz_label="WIB")
    due = utcnow() + due_in if due_in else None
    return RenderContext(publication_id=int(time.time() * 1000) % 10**9, item=item, opd=opd,
                         media=media, public_base_url="http://127.0.0.1:5000", due_at=due)


def make_channel(config: dict, secrets: dict) -> WordPressChannel:
    info = ChannelInfo(id=7, opd_id=1, kind="wordpress", name="Situs dinkes", status="active",
                       config=config, secrets=secrets)
    return WordPressChannel(info, SETTINGS)


@pytest.fixture
def wp_channel(wordpress: WordPressSite) -> WordPressChannel:  # noqa: F811
    config, secrets = WordPressChannel.connect(
        {"url": wordpress.url + "/", "username": wordpress.user,
         "category_map": {"berkala": "Informasi Berkala"}, "tags": ["KIP", "posyandu"]},
        {"app_password": wordpress.app_password}, SETTINGS,
    )
    assert config["api_root"] == wordpress.url + "/wp-json/"
    return make_channel(config, secrets)


# --- against the real WordPress ---------------------------------------------------------------


@pytest.mark.wordpress
def test_publish_with_featured_image_reads_back_from_rest_and_feed(
    wp_channel: WordPressChannel, wordpress: WordPressSite, tmp_path: Path,  # noqa: F811
) -> None:
    ctx = make_ctx(tmp_path)
    payload = wp_channel.render(ctx, RENDERER)
    assert payload.data["slug"].endswith(payload.fingerprint)
    receipt = wp_channel.publish(payload)
    assert receipt.remote_id.isdigit() and receipt.url.startswith(wordpress.url)

    post = requests.get(f"{wordpress.rest}wp/v2/posts/{receipt.remote_id}",
                        params={"_embed": "wp:featuredmedia"}, timeout=10).json()
    assert post["link"] == receipt.url
    assert post["title"]["rendered"] == ctx.item.title.replace("&", "&#038;")
    assert "pukul 08.00" in post["content"]["rendered"]
    image = post["_embedded"]["wp:featuredmedia"][0]
    assert image["alt_text"] == ctx.media[0].alt_text
    got = requests.get(image["source_url"], timeout=10)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/jpeg"
    categories = requests.get(f"{wordpress.rest}wp/v2/categories",
                              params={"include": ",".join(map(str, post["categories"]))},
                              timeout=10).json()
    assert [c["name"] for c in categories] == ["Informasi Berkala"]
    assert len(post["tags"]) == 2

    feed = feedparser.parse(fetch(wordpress.feed, SETTINGS).content)
    assert not feed.bozo
    entry = next(e for e in feed.entries if e.link == receipt.url)
    assert entry.title == ctx.item.title
    assert image["source_url"] in entry.content[0].value  # the image travels in the feed too


@pytest.mark.wordpress
def test_scheduled_post_is_future(wp_channel: WordPressChannel, tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, with_image=False, due_in=timedelta(days=2))
    receipt = wp_channel.publish(wp_channel.render(ctx, RENDERER))
    found = wp_channel.find_existing(wp_channel.render(ctx, RENDERER), None)
    assert found is not None and found.remote_id == receipt.remote_id
    assert receipt.published_at is not None
    assert abs((receipt.published_at - ctx.due_at).total_seconds()) < 2  # type: ignore[operator]


@pytest.mark.wordpress
def test_find_existing_after_a_crash_and_no_duplicate_media(
    wp_channel: WordPressChannel, wordpress: WordPressSite, tmp_path: Path,  # noqa: F811
) -> None:
    ctx = make_ctx(tmp_path)
    payload = wp_channel.render(ctx, RENDERER)
    assert wp_channel.find_existing(payload, None) is None
    # A first attempt dies after the image upload (WordPress refuses the post itself).
    broken = wp_channel.render(ctx, RENDERER)
    broken.data["status"] = "published"
    with pytest.raises(PermanentError):
        wp_channel.publish(broken)
    receipt = wp_channel.publish(payload)
    # The worker dies before storing the receipt; a new process reconciles first.
    restarted = make_channel(dict(wp_channel.info.config), dict(wp_channel.info.secrets))
    found = restarted.find_existing(restarted.render(ctx, RENDERER), utcnow())
    assert found is not None
    assert (found.remote_id, found.url) == (receipt.remote_id, receipt.url)
    media = requests.get(f"{wordpress.rest}wp/v2/media",
                         params={"slug": payload.fingerprint + "-img"}, timeout=10).json()
    assert len(media) == 1  # the retry reused the image uploaded by the first attempt


@pytest.mark.wordpress
def test_wrong_password_is_auth_error(wordpress: WordPressSite, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(ConfigError) as info:
        WordPressChannel.connect({"url": wordpress.url, "username": wordpress.user},
                                 {"app_password": "salah salah salah salah"}, SETTINGS)
    assert info.value.field == "app_password" and "salah" in info.value.message
    channel = make_channel({"url": wordpress.url, "username": wordpress.user},
                           {"app_password": "salah salah salah salah"})
    with pytest.raises(AuthError) as auth:
        channel.publish(channel.render(make_ctx(tmp_path), RENDERER))
    assert "application password" in auth.value.message
    health = channel.check()
    assert not health.ok and "salah" in health.detail


@pytest.mark.wordpress
def test_bad_request_is_permanent_with_wordpress_message(
    wordpress: WordPressSite, tmp_path: Path,  # noqa: F811
) -> None:
    channel = make_channel({"url": wordpress.url, "username": wordpress.user,
                            "post_status": "published"},
                           {"app_password": wordpress.app_password})
    with pytest.raises(PermanentError) as info:
        channel.publish(channel.render(make_ctx(tmp_path, with_image=False), RENDERER))
    assert "HTTP 400" in info.value.message
    assert "status is not one of publish" in info.value.message


@pytest.mark.wordpress
def test_check_reports_ok(wp_channel: WordPressChannel) -> None:
    health = wp_channel.check()
    assert health.ok and "Terhubung" in health.detail


# --- sites that misbehave (loopback servers) ------------------------------------------------


def _json(h, status: int, body: object, headers: dict | None = None) -> None:
    send(h, status, json.dumps(body).encode(), "application/json", headers)


INDEX = {"name": "Situs uji", "namespaces": ["oembed/1.0", "wp/v2"],
         "authentication": {"application-passwords": {}}}


@pytest.fixture
def fake_site():
    with LoopbackServer() as srv:
        srv.route("/wp-json/", lambda h: _json(h, 200, INDEX))
        yield srv


def _fake_channel(srv: LoopbackServer) -> WordPressChannel:
    return make_channel({"url": srv.url("").rstrip("/"), "username": "u"}, {"app_password": "p"})


def test_server_errors_are_transient(fake_site: LoopbackServer, tmp_path: Path) -> None:
    """A 5xx to the post write may follow the post's creation (a plugin failing after it),
    so the next attempt looks for it first; a 5xx to a read is simply transient."""
    fake_site.route("/wp-json/wp/v2/posts", lambda h: _json(
        h, 503, {"code": "down", "message": "Sedang pemeliharaan"}))
    channel = _fake_channel(fake_site)
    payload = channel.render(make_ctx(tmp_path, with_image=False), RENDERER)
    with pytest.raises(TransientError) as write:
        channel.publish(payload)
    assert write.value.uncertain and "503" in write.value.message
    with pytest.raises(TransientError) as read:
        channel.find_existing(payload, None)
    assert not read.value.uncertain


def test_a_connection_dropped_after_the_write_is_uncertain(fake_site: LoopbackServer,
                                                          tmp_path: Path) -> None:
    def hang_up(h):  # the request was read (and maybe carried out); no answer comes back
        h.close_connection = True
        h.connection.shutdown(2)

    fake_site.route("/wp-json/wp/v2/posts", hang_up)
    channel = _fake_channel(fake_site)
    with pytest.raises(TransientError) as dropped:
        channel.publish(channel.render(make_ctx(tmp_path, with_image=False), RENDERER))
    assert dropped.value.uncertain
    port = fake_site.url("").rstrip("/").rsplit(":", 1)[1]
    fake_site.stop()  # nothing listens any more: the request never left
    refused = make_channel({"url": f"http://127.0.0.1:{port}", "username": "u"},
                           {"app_password": "p"})
    with pytest.raises(TransientError) as never_sent:
        refused.publish(refused.render(make_ctx(tmp_path, with_image=False), RENDERER))
    assert not never_sent.value.uncertain


def test_rate_limit(fake_site: LoopbackServer, tmp_path: Path) -> None:
    fake_site.route("/wp-json/wp/v2/posts", lambda h: _json(
        h, 429, {"code": "too_many", "message": "slow down"}, {"Retry-After": "30"}))
    channel = _fake_channel(fake_site)
    with pytest.raises(RateLimited) as info:
        channel.publish(channel.render(make_ctx(tmp_path, with_image=False), RENDERER))
    assert info.value.retry_after == 30


def test_timeout_on_write_is_uncertain_on_read_is_not(fake_site: LoopbackServer,
                                                       tmp_path: Path) -> None:
    def slow(h):
        time.sleep(1.5)
        _json(h, 201, {"id": 1})

    fake_site.route("/wp-json/wp/v2/posts", slow)
    channel = make_channel({"url": fake_site.url("").rstrip("/"), "username": "u"},
                           {"app_password": "p"})
    channel.settings = Settings(allow_loopback=True, http_timeout=0.5)
    payload = channel.render(make_ctx(tmp_path, with_image=False), RENDERER)
    with pytest.raises(TransientError) as write:
        channel.publish(payload)
    assert write.value.uncertain
    with pytest.raises(TransientError) as read:
        channel.find_existing(payload, None)
    assert not read.value.uncertain


def test_connect_site_says_what_is_wrong(fake_site: LoopbackServer) -> None:
    def check(**routes) -> str:
        for path, handler in routes.items():
            fake_site.route(path, handler)
        result = connect_site(fake_site.url(""), "u", "p", SETTINGS)
        assert not result.ok
        return result.detail

    with LoopbackServer() as plain:  # an ordinary web site, not WordPress
        plain.route("/", lambda h: send(h, 200, b"<html>Selamat datang</html>", "text/html"))
        result = connect_site(plain.url(""), "u", "p", SETTINGS)
        assert not result.ok and "bukan situs WordPress" in result.detail
    assert "REST API WordPress dimatikan" in check(**{"/wp-json/": lambda h: _json(
        h, 401, {"code": "rest_disabled", "message": "REST API dimatikan"})})
    assert "wp/v2" in check(**{"/wp-json/": lambda h: _json(h, 200, {"namespaces": ["x"]})})
    no_auth = {**INDEX, "authentication": []}
    assert "Application Password tidak aktif" in check(
        **{"/wp-json/": lambda h: _json(h, 200, no_auth)})
    fake_site.route("/wp-json/", lambda h: _json(h, 200, INDEX))
    assert "salah" in check(**{"/wp-json/wp/v2/users/me": lambda h: _json(
        h, 401, {"code": "rest_not_logged_in", "message": "You are not currently logged in."})})
    assert "tidak berhak" in check(**{"/wp-json/wp/v2/users/me": lambda h: _json(
        h, 200, {"name": "Kontributor", "capabilities": {"edit_posts": True}})})
    fake_site.route("/wp-json/wp/v2/users/me", lambda h: _json(
        h, 200, {"name": "Admin", "capabilities": {"publish_posts": True, "upload_files": True}}))
    ok = connect_site(fake_site.url(""), "u", "p", SETTINGS)
    assert ok.ok and ok.api_root == fake_site.url("/wp-json/")


def test_connect_site_refuses_guarded_address() -> None:
    strict = Settings(allow_loopback=False)
    result = connect_site("http://169.254.169.254", "u", "p", strict)
    assert not result.ok and "ditolak" in result.detail
    with pytest.raises(ConfigError) as info:
        WordPressChannel.connect({"url": "http://10.0.0.5", "username": "u"},
                                 {"app_password": "p"}, strict)
    assert info.value.field == "url"
    # Offline validation (inside the services' transaction) names bad fields too.
    for config, field in [({"url": "dinas.go.id", "username": "u"}, "url"),
                          ({"url": "http://x.go.id", "username": "u", "post_status": "x"},
                           "post_status"),
                          ({"url": "http://x.go.id"}, "username")]:
        with pytest.raises(ConfigError) as bad:
            WordPressChannel.validate_config(config, {"app_password": "p"}, strict)
        assert bad.value.field == field


def test_post_slug_carries_the_fingerprint() -> None:
    assert post_slug("Jadwal Posyandu!", "pub-12-abcdef") == "jadwal-posyandu-pub-12-abcdef"
    long = post_slug("x" * 500, "pub-1-ab")
    assert len(long) <= 190 and long.endswith("-pub-1-ab")


@pytest.mark.wordpress
def test_image_not_on_this_machine_comes_from_its_public_variant_url(
    wp_channel: WordPressChannel, wordpress: WordPressSite, tmp_path: Path,  # noqa: F811
) -> None:
    ctx = make_ctx(tmp_path)
    on_disk = ctx.media[0]
    with LoopbackServer() as public:
        public.route("/m/tok/website.jpg", lambda h: send(
            h, 200, Path(on_disk.path).read_bytes(), "image/jpeg"))
        remote = MediaView(id=2, public_url=public.url("/m/tok"), path="",
                           mime_type="image/jpeg", alt_text=on_disk.alt_text)
        payload = wp_channel.render(
            RenderContext(ctx.publication_id, ctx.item, ctx.opd, (remote,),
                          ctx.public_base_url), RENDERER)
        receipt = wp_channel.publish(payload)
        assert [r["path"] for r in public.requests] == ["/m/tok/website.jpg"]
    post = requests.get(f"{wordpress.rest}wp/v2/posts/{receipt.remote_id}",
                        params={"_embed": "wp:featuredmedia"}, timeout=10).json()
    assert post["_embedded"]["wp:featuredmedia"][0]["alt_text"] == on_disk.alt_text
