"""The Facebook Page channel over HTTP against the Graph test server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.channels import get
from publisher.channels.base import AuthError, Receipt, TransientError
from publisher.channels.facebook import FacebookPageChannel
from publisher.timeutil import utcnow

from .meta_fixtures import PAGE_ID, MetaEnv, jpeg_bytes, meta_fixture  # noqa: F401


def test_registered() -> None:
    assert get("facebook") is FacebookPageChannel


def test_text_and_link_post(meta: MetaEnv) -> None:
    channel = meta.facebook()
    payload = channel.render(meta.ctx(), meta.renderer)
    receipt = channel.publish(payload)
    assert isinstance(receipt, Receipt)
    [post] = meta.state.page_posts(PAGE_ID)
    assert receipt.remote_id == post["id"]
    assert receipt.url == f"https://www.facebook.com/{post['id'].replace('_', '/posts/')}"
    assert post["message"] == payload.text
    assert post["link"] == payload.link == meta.ctx().item.site_url
    assert payload.fingerprint == "pub-41-abababababab"
    assert meta.state.tokens_in_url == 0


def test_one_photo_is_uploaded_from_disk(meta: MetaEnv) -> None:
    image = meta.image(on_disk=True, alt="Petugas posyandu menimbang balita")
    channel = meta.facebook()
    receipt = channel.publish(channel.render(meta.ctx(media=(image,)), meta.renderer))
    [post] = meta.state.page_posts(PAGE_ID)
    assert isinstance(receipt, Receipt) and receipt.remote_id == post["id"]
    [photo_id] = post["photos"]
    assert meta.state.photos[photo_id]["alt_text"] == "Petugas posyandu menimbang balita"
    assert meta.images.hits == {}  # sent as bytes: Meta did not need our public URL


def test_photo_upload_is_the_facebook_variant(meta: MetaEnv) -> None:
    big = jpeg_bytes(3000, 1000)
    image = meta.image(body=big, on_disk=True)
    channel = meta.facebook()
    channel.publish(channel.render(meta.ctx(media=(image,)), meta.renderer))
    [photo] = meta.state.photos.values()
    assert photo["size"] == (2048, 683)  # long side 2048 (publisher.images "facebook")


def test_one_photo_by_url_when_not_on_disk(meta: MetaEnv) -> None:
    image = meta.image()
    channel = meta.facebook()
    channel.publish(channel.render(meta.ctx(media=(image,)), meta.renderer))
    assert len(meta.state.page_posts(PAGE_ID)) == 1
    assert meta.images.hits == {"/m/img1/facebook.jpg": 1}  # the Graph server fetched it


def test_several_photos_make_one_post(meta: MetaEnv) -> None:
    images = tuple(meta.image(on_disk=True) for _ in range(3))
    channel = meta.facebook()
    receipt = channel.publish(channel.render(meta.ctx(media=images), meta.renderer))
    [post] = meta.state.page_posts(PAGE_ID)
    assert isinstance(receipt, Receipt) and receipt.remote_id == post["id"]
    assert len(post["photos"]) == 3
    assert all(meta.state.photos[p]["published"] for p in post["photos"])
    assert meta.state.calls("POST", r"/photos$") == 3
    assert meta.state.calls("POST", r"/feed$") == 1


def test_failed_photo_upload_is_not_uncertain(meta: MetaEnv) -> None:
    images = tuple(meta.image(on_disk=True) for _ in range(2))
    meta.state.fail(r"/photos$", code=2, after=True)
    channel = meta.facebook()
    with pytest.raises(TransientError) as caught:
        channel.publish(channel.render(meta.ctx(media=images), meta.renderer))
    assert caught.value.uncertain is False  # an unpublished photo is invisible
    assert meta.state.page_posts(PAGE_ID) == []


def test_lost_answer_is_reconciled_without_a_second_post(meta: MetaEnv) -> None:
    channel = meta.facebook()
    payload = channel.render(meta.ctx(), meta.renderer)
    since = utcnow()
    meta.state.fail(f"^{PAGE_ID}/feed$", mode="drop", after=True)  # posted, answer lost
    with pytest.raises(TransientError) as caught:
        channel.publish(payload)
    assert caught.value.uncertain is True
    found = channel.find_existing(payload, since)
    [post] = meta.state.page_posts(PAGE_ID)
    assert found is not None and found.remote_id == post["id"]
    assert found.url.startswith("https://www.facebook.com/")


def test_find_existing_needs_same_text_and_time_window(meta: MetaEnv) -> None:
    channel = meta.facebook()
    payload = channel.render(meta.ctx(), meta.renderer)
    other = channel.render(meta.ctx(publication_id=42, title="Lain"), meta.renderer)
    channel.publish(other)
    assert channel.find_existing(payload, utcnow() - timedelta(hours=1)) is None
    channel.publish(payload)
    assert channel.find_existing(payload, utcnow() - timedelta(hours=1)) is not None
    # A post older than the window is not taken for ours.
    for post in meta.state.page_posts(PAGE_ID):
        post["created"] -= timedelta(hours=5)
    assert channel.find_existing(payload, utcnow() - timedelta(hours=1)) is None


def test_expired_token_is_auth_error_and_unhealthy(meta: MetaEnv) -> None:
    channel = meta.facebook()
    payload = channel.render(meta.ctx(), meta.renderer)
    meta.state.invalidate(meta.page_token, 460)
    with pytest.raises(AuthError, match="kata sandi"):
        channel.publish(payload)
    health = channel.check()
    assert not health.ok and "kata sandi" in health.detail


def test_missing_permission_names_it(meta: MetaEnv) -> None:
    token = meta.state.add_page("104000000000009", "Tanpa izin",
                                scopes=("pages_show_list", "pages_read_engagement"))
    channel = meta.facebook(token=token, page_id="104000000000009")
    with pytest.raises(AuthError, match="pages_manage_posts"):
        channel.publish(channel.render(meta.ctx(), meta.renderer))
    health = channel.check()
    assert not health.ok and "pages_manage_posts" in health.detail


def test_health_ok_with_expiry(meta: MetaEnv) -> None:
    meta.state.tokens[meta.page_token].expires_at = int(
        (utcnow() + timedelta(days=5)).timestamp())
    health = meta.facebook().check()
    assert health.ok
    assert "pages_manage_posts" in health.scopes
    assert health.expires_at is not None
    assert "berakhir dalam 5 hari" in health.detail


def test_config_is_checked(meta: MetaEnv) -> None:
    from publisher.channels.base import ConfigError
    from publisher.channels.instagram import InstagramChannel

    ok = FacebookPageChannel.validate_config({"page_id": " 123 "}, {"page_token": "t"},
                                             meta.settings)
    assert ok[0]["page_id"] == "123"
    with pytest.raises(ConfigError) as caught:
        FacebookPageChannel.validate_config({"page_id": "dinkes"}, {"page_token": "t"},
                                            meta.settings)
    assert caught.value.field == "page_id"
    with pytest.raises(ConfigError) as caught:
        FacebookPageChannel.validate_config({"page_id": "123"}, {}, meta.settings)
    assert caught.value.field == "page_token"
    with pytest.raises(ConfigError) as caught:
        InstagramChannel.validate_config({"ig_user_id": "17841", "poll_seconds": -1},
                                         {"page_token": "t"}, meta.settings)
    assert caught.value.field == "poll_seconds"
