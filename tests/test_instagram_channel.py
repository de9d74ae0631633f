"""The Instagram channel over HTTP against the Graph test server: containers, polling,
carousels, quota, public image URLs, reconciliation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from publisher.channels import get
from publisher.channels.base import (
    AuthError,
    PermanentError,
    Processing,
    RateLimited,
    Receipt,
    TransientError,
)
from publisher.channels.instagram import InstagramChannel, public_base_url_problem
from publisher.timeutil import utcnow

from .meta_fixtures import IG_ID, MetaEnv, meta_fixture, png_bytes  # noqa: F401


def drive(channel: InstagramChannel, payload, result, limit: int = 10):
    """Call resume() as the queue would, until a receipt (no waiting: check_after is ignored)."""
    for _ in range(limit):
        if isinstance(result, Receipt):
            return result
        assert isinstance(result, Processing)
        result = channel.resume(payload, result.state)
    raise AssertionError("no receipt")


def test_registered() -> None:
    assert get("instagram") is InstagramChannel


def test_single_image_container_polled_then_published(meta: MetaEnv) -> None:
    meta.state.ready_after = 2
    image = meta.image(alt="Balita ditimbang")
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(image,)), meta.renderer)
    first = channel.publish(payload)
    assert isinstance(first, Processing) and first.state["step"] == "container"
    assert first.check_after == 5.0
    # Our own check and Meta's download both fetched the image from the public URL.
    assert meta.images.hits == {"/m/img1/instagram.jpg": 2}
    container = meta.state.containers[first.state["container"]]
    assert container["caption"] == payload.text and container["alt_text"] == "Balita ditimbang"
    second = channel.resume(payload, first.state)
    assert isinstance(second, Processing) and second.state["polls"] == 1  # IN_PROGRESS
    assert second.check_after == 10.0
    receipt = drive(channel, payload, second)
    [media] = meta.state.ig_media(IG_ID)
    assert receipt.remote_id == media["id"]
    assert receipt.url == f"https://www.instagram.com/p/{media['code']}/"
    assert media["caption"] == payload.text
    assert meta.state.tokens_in_url == 0


def test_carousel(meta: MetaEnv) -> None:
    images = tuple(meta.image() for _ in range(3))
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=images), meta.renderer)
    first = channel.publish(payload)
    assert isinstance(first, Processing) and first.state["step"] == "items"
    assert len(first.state["items"]) == 3
    receipt = drive(channel, payload, first)
    [media] = meta.state.ig_media(IG_ID)
    assert receipt.remote_id == media["id"]
    assert media["media_type"] == "CAROUSEL"
    assert media["children"] == first.state["items"]
    assert all(meta.state.containers[c]["is_carousel_item"] for c in media["children"])


def test_more_than_ten_images_are_cut_to_ten(meta: MetaEnv) -> None:
    images = tuple(meta.image() for _ in range(12))
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=images), meta.renderer)
    assert len(payload.images) == 10


def test_not_ready_at_publish_keeps_waiting(meta: MetaEnv) -> None:
    meta.state.ready_after = 0
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    first = channel.publish(payload)
    meta.state.fail(r"/media_publish$", code=9007, subcode=2207027)
    waiting = channel.resume(payload, first.state)
    assert isinstance(waiting, Processing)
    assert meta.state.ig_media(IG_ID) == []
    assert isinstance(channel.resume(payload, waiting.state), Receipt)


@pytest.mark.parametrize("outcome", ["ERROR", "EXPIRED"])
def test_broken_container_is_made_again(meta: MetaEnv, outcome: str) -> None:
    meta.state.ready_after = 0
    meta.state.next_container_outcomes = [outcome]
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    first = channel.publish(payload)
    again = channel.resume(payload, first.state)
    assert isinstance(again, Processing)
    assert again.state["attempt"] == 2
    assert again.state["container"] != first.state["container"]
    assert outcome in again.state["previous"]
    receipt = drive(channel, payload, again)
    assert [m["id"] for m in meta.state.ig_media(IG_ID)] == [receipt.remote_id]


def test_container_errors_give_up_with_a_reason(meta: MetaEnv) -> None:
    meta.state.ready_after = 0
    meta.state.next_container_outcomes = ["ERROR"] * 3
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    result = channel.publish(payload)
    with pytest.raises(PermanentError, match="gagal memproses gambar 3 kali") as caught:
        drive(channel, payload, result)
    assert "2207003" in caught.value.message
    assert meta.state.ig_media(IG_ID) == []


def _published_earlier(meta: MetaEnv, hours_ago: list[float]) -> None:
    account = meta.state.igs[IG_ID]
    for hours in hours_ago:
        moment = utcnow() - timedelta(hours=hours)
        account["publishes"].append(moment)
        media_id = meta.state.new_id()
        meta.state.media[media_id] = {"id": media_id, "ig": IG_ID, "caption": "lama",
                                      "media_type": "IMAGE", "children": [], "created": moment,
                                      "code": "OLD" + media_id[-4:], "seq": -hours}


def test_spent_quota_defers_until_a_slot_frees(meta: MetaEnv) -> None:
    meta.state.igs[IG_ID]["quota_total"] = 2
    _published_earlier(meta, [23.0, 1.0])
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    with pytest.raises(RateLimited, match="ditunda") as caught:
        channel.publish(payload)
    assert 3500 <= (caught.value.retry_after or 0) <= 3700  # the 23-hour-old post ages out
    assert meta.state.calls("POST", r"/media$") == 0  # no container made
    meta.state.clock_offset = caught.value.retry_after or 0
    assert isinstance(channel.publish(payload), Processing)


def test_slots_reserved_by_publications_ahead_count_against_the_quota(meta: MetaEnv) -> None:
    meta.state.igs[IG_ID]["quota_total"] = 5
    _published_earlier(meta, [23.0, 20.0, 1.0])  # two slots left
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    for ahead, hours in ((2, 1.0), (3, 4.0)):  # the 23 h post, then the 20 h post must go
        payload.slots_ahead = ahead
        with pytest.raises(RateLimited, match=f"{ahead} slot dipesan") as caught:
            channel.publish(payload)
        assert abs((caught.value.retry_after or 0) - hours * 3600) <= 120
    payload.slots_ahead = 6  # more ahead than posts in the window: check again in an hour
    with pytest.raises(RateLimited) as caught:
        channel.publish(payload)
    assert caught.value.retry_after == 3600.0
    assert meta.state.calls("POST", r"media$") == 0
    payload.slots_ahead = 1
    assert isinstance(channel.publish(payload), Processing)


def test_quota_spent_between_container_and_publish(meta: MetaEnv) -> None:
    meta.state.ready_after = 0
    meta.state.igs[IG_ID]["quota_total"] = 1
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    first = channel.publish(payload)
    _published_earlier(meta, [2.0])  # someone else used the last slot meanwhile
    with pytest.raises(RateLimited) as caught:
        channel.resume(payload, first.state)
    assert 22 * 3600 - 60 <= (caught.value.retry_after or 0) <= 22 * 3600 + 60


def test_image_that_is_not_jpeg_fails_before_any_container(meta: MetaEnv) -> None:
    image = meta.image("gambar.png", png_bytes(), "image/png")
    channel = meta.instagram()
    with pytest.raises(PermanentError, match="bukan image/jpeg"):
        channel.publish(channel.render(meta.ctx(media=(image,)), meta.renderer))
    assert meta.state.calls("POST", r"/media$") == 0


def test_missing_image_fails_with_the_url(meta: MetaEnv) -> None:
    image = meta.image()
    del meta.images.files["/m/img1/instagram.jpg"]
    channel = meta.instagram()
    with pytest.raises(PermanentError, match="404"):
        channel.publish(channel.render(meta.ctx(media=(image,)), meta.renderer))


def test_meta_cannot_fetch_the_image(meta: MetaEnv) -> None:
    meta.state.fail(r"/media$", method="POST", code=9004, subcode=2207052)
    channel = meta.instagram()
    with pytest.raises(PermanentError, match="PUBLISHER_PUBLIC_BASE_URL"):
        channel.publish(channel.render(meta.ctx(media=(meta.image(),)), meta.renderer))


def test_item_without_image_gets_a_card(meta: MetaEnv) -> None:
    meta.state.ready_after = 0
    channel = meta.instagram()
    payload = channel.render(meta.ctx(), meta.renderer)
    [card] = payload.images
    assert card.public_url.startswith(meta.images.base_url + "/m/c/")
    with Image.open(card.path) as im:
        assert (im.format, im.size) == ("JPEG", (1080, 1350))
    assert "Jadwal Posyandu" in card.alt_text
    # Served where the app serves cards (publisher.site.variants), Meta fetches it.
    meta.images.add(card.public_url.removeprefix(meta.images.base_url),
                    Path(card.path).read_bytes())
    receipt = drive(channel, payload, channel.publish(payload))
    assert [m["id"] for m in meta.state.ig_media(IG_ID)] == [receipt.remote_id]


def test_no_image_at_all_is_a_clear_error(meta: MetaEnv) -> None:
    channel = meta.instagram()
    payload = channel.render(meta.ctx(), meta.renderer)
    payload.images = []
    with pytest.raises(PermanentError, match="minimal satu gambar"):
        channel.publish(payload)


def test_loopback_base_url_refused_in_production(meta: MetaEnv) -> None:
    meta.settings.allow_loopback = False
    channel = meta.instagram()
    with pytest.raises(PermanentError, match="bukan alamat publik"):
        channel.publish(channel.render(meta.ctx(media=(meta.image(),)), meta.renderer))
    assert meta.images.hits == {}
    assert not channel.check().ok


@pytest.mark.parametrize(("url", "problem"), [
    ("https://publikasi.kabupaten.go.id", None),
    ("https://203.0.113.9", "bukan alamat publik"),  # documentation range: not global
    ("https://8.8.8.8", None),
    ("http://publikasi.kabupaten.go.id", "http, bukan https"),
    ("http://localhost:5000", "jaringan lokal"),
    ("https://server-dinas", "jaringan lokal"),
    ("https://publisher.pemda.local", "jaringan lokal"),
    ("http://127.0.0.1:5000", "bukan alamat publik"),
    ("http://10.1.2.3", "bukan alamat publik"),
    ("http://192.168.1.10:8080", "bukan alamat publik"),
    ("http://[fd00::1]", "bukan alamat publik"),
    ("ftp://files.go.id", "bukan URL http(s)"),
])
def test_public_base_url_problem(url: str, problem: str | None) -> None:
    # Pure: no DNS and no connection, whatever the address.
    found = public_base_url_problem(url, SimpleNamespace(allow_loopback=False))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and "PUBLISHER_PUBLIC_BASE_URL" in found


def test_public_base_url_problem_allows_loopback_in_tests() -> None:
    assert public_base_url_problem("http://127.0.0.1:5000",
                                   SimpleNamespace(allow_loopback=True)) is None
    assert public_base_url_problem("http://127.0.0.1:5000") is not None


def test_lost_publish_answer_is_reconciled(meta: MetaEnv) -> None:
    meta.state.ready_after = 0
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    since = utcnow()
    first = channel.publish(payload)
    meta.state.fail(r"/media_publish$", mode="drop", after=True)
    with pytest.raises(TransientError) as caught:
        channel.resume(payload, first.state)
    assert caught.value.uncertain is True
    found = channel.find_existing(payload, since)
    [media] = meta.state.ig_media(IG_ID)
    assert found is not None and found.remote_id == media["id"]
    assert found.url.endswith(f"/p/{media['code']}/")


def test_resume_after_crash_on_a_published_container(meta: MetaEnv) -> None:
    # The worker died after media_publish, before storing anything: the state still says
    # "container"; resuming must find the post, not publish again.
    meta.state.ready_after = 0
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    first = channel.publish(payload)
    receipt = channel.resume(payload, first.state)
    again = channel.resume(payload, first.state)
    assert isinstance(receipt, Receipt) and isinstance(again, Receipt)
    assert again.remote_id == receipt.remote_id
    assert len(meta.state.ig_media(IG_ID)) == 1


def test_find_existing_ignores_other_captions(meta: MetaEnv) -> None:
    _published_earlier(meta, [0.1])
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    assert channel.find_existing(payload, utcnow() - timedelta(hours=6)) is None


def test_expired_token_is_auth_error(meta: MetaEnv) -> None:
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    meta.state.invalidate(meta.page_token, 463)
    with pytest.raises(AuthError, match="kedaluwarsa"):
        channel.publish(payload)
    assert not channel.check().ok


def test_health(meta: MetaEnv) -> None:
    health = meta.instagram().check()
    assert health.ok, health.detail
    assert "@dinkes_contoh" in health.detail
    assert "instagram_content_publish" in health.scopes


def test_long_caption_within_limits(meta: MetaEnv) -> None:
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),), body="kata " * 1000),
                             meta.renderer)
    assert len(payload.text) <= 2200
    assert payload.link == ""
    assert "link di bio" in payload.text


def test_carousel_container_not_ready_keeps_waiting(meta: MetaEnv) -> None:
    meta.state.ready_after = 0
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(), meta.image())), meta.renderer)
    first = channel.publish(payload)
    meta.state.fail(r"/media$", method="POST", code=9007, subcode=2207027)
    waiting = channel.resume(payload, first.state)
    assert isinstance(waiting, Processing) and waiting.state["step"] == "items"
    assert isinstance(drive(channel, payload, waiting), Receipt)


def test_container_never_ready_starts_over(meta: MetaEnv) -> None:
    meta.state.ready_after = 10_000
    channel = meta.instagram(poll_seconds=0.01)
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    result = channel.publish(payload)
    for _ in range(21):
        result = channel.resume(payload, result.state)
    assert isinstance(result, Processing)
    assert result.state["attempt"] == 2 and "IN_PROGRESS" in result.state["previous"]
    assert result.check_after == 0.01


def test_unreadable_quota_does_not_block(meta: MetaEnv) -> None:
    meta.state.fail("content_publishing_limit", code=100)
    channel = meta.instagram()
    payload = channel.render(meta.ctx(media=(meta.image(),)), meta.renderer)
    assert isinstance(channel.publish(payload), Processing)
