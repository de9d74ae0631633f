"""Every channel keeps an error's type and wait through its wrappers.

For each step of each channel that talks to its platform, the platform answers with a rate
limit that says how long to wait; the channel must raise ``RateLimited`` with that wait (the
queue then waits without using up an attempt). Instagram's container status checks that fail
for a moment are ``NotReady`` (not a failed attempt either), and a write whose effect is
invisible (an unpublished photo, a container) keeps its type while dropping the uncertainty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.channels.base import (
    ChannelInfo,
    NotReady,
    Payload,
    Processing,
    RateLimited,
    TransientError,
)
from publisher.channels.webhook import WebhookChannel, new_signing_secret
from publisher.channels.wordpress import WordPressChannel

from .loopback_http import LoopbackServer, send
from .meta_fixtures import IG_ID, PAGE_ID, MetaEnv, jpeg_bytes, meta_fixture  # noqa: F401
from .test_wordpress_channel import RENDERER, SETTINGS, make_ctx
from .wordpress_peer import APP_PASSWORD, USER, WordPressPeer

#: Meta's estimate of when the Page may call again, in minutes: 3 → a 180 s wait.
REGAIN = {"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [{
    "type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 20,
    "estimated_time_to_regain_access": 3}]})}


def rate_limited(meta: MetaEnv, pattern: str, method: str) -> None:
    meta.state.fail(pattern, method=method, code=32, status=400, headers=REGAIN)


def fb_payload(meta: MetaEnv, photos: int) -> tuple[Any, Payload]:
    channel = meta.facebook()
    media = tuple(meta.image(on_disk=True) for _ in range(photos))
    return channel, channel.render(meta.ctx(media=media), meta.renderer)


def ig_payload(meta: MetaEnv, photos: int) -> tuple[Any, Payload]:
    channel = meta.instagram(poll_seconds=0.01)
    media = tuple(meta.image(body=jpeg_bytes(800, 800)) for _ in range(photos))
    return channel, channel.render(meta.ctx(media=media), meta.renderer)


def until_published(channel: Any, payload: Payload, result: Any) -> Any:
    """Resume Instagram's steps until the next call is the one under test."""
    for _ in range(20):
        if not isinstance(result, Processing):
            return result
        result = channel.resume(payload, result.state)
    raise AssertionError("Instagram never finished")


FACEBOOK_STEPS: dict[str, tuple[str, str, int, str]] = {
    # step: (path pattern, method, photos, call)
    "text post": (r"/feed$", "POST", 0, "publish"),
    "one photo": (r"/photos$", "POST", 1, "publish"),
    "unpublished photo of several": (r"/photos$", "POST", 2, "publish"),
    "post of several photos": (r"/feed$", "POST", 2, "publish"),
    "reconciliation read": (r"/published_posts$", "GET", 0, "find_existing"),
}


@pytest.mark.parametrize("step", FACEBOOK_STEPS)
def test_facebook_keeps_a_rate_limit_and_its_wait(meta: MetaEnv, step: str) -> None:
    pattern, method, photos, call = FACEBOOK_STEPS[step]
    channel, payload = fb_payload(meta, photos)
    rate_limited(meta, pattern, method)
    with pytest.raises(RateLimited) as info:
        if call == "publish":
            channel.publish(payload)
        else:
            channel.find_existing(payload, None)
    assert info.value.retry_after == 180 and not info.value.consumes_attempt


INSTAGRAM_STEPS: dict[str, tuple[str, str, int, Callable[[Any, Payload], Any] | None]] = {
    "quota read": (r"/content_publishing_limit$", "GET", 1,
                   lambda ch, p: ch.publish(p)),
    "container": (rf"^{IG_ID}/media$", "POST", 1, lambda ch, p: ch.publish(p)),
    "carousel item": (rf"^{IG_ID}/media$", "POST", 2, lambda ch, p: ch.publish(p)),
    "status check": (r"^\d+$", "GET", 1,
                     lambda ch, p: ch.resume(p, ch.publish(p).state)),
    "carousel container": (rf"^{IG_ID}/media$", "POST", 2, None),
    "publish": (r"/media_publish$", "POST", 1, None),
    "reconciliation read": (rf"^{IG_ID}/media$", "GET", 1,
                            lambda ch, p: ch.find_existing(p, None)),
}


@pytest.mark.parametrize("step", INSTAGRAM_STEPS)
def test_instagram_keeps_a_rate_limit_and_its_wait(meta: MetaEnv, step: str) -> None:
    pattern, method, photos, call = INSTAGRAM_STEPS[step]
    channel, payload = ig_payload(meta, photos)
    meta.state.ready_after = 1 if step == "carousel container" else 0
    if call is None:  # a later step: run the ones before it, then fail the next request
        result = channel.publish(payload)
        if step == "carousel container":
            result = channel.resume(payload, result.state)  # the items: still in progress
            assert result.state["step"] == "items"
        state = result.state

        def call(ch: Any, p: Payload) -> Any:
            return until_published(ch, p, ch.resume(p, state))
    rate_limited(meta, pattern, method)
    with pytest.raises(RateLimited) as info:
        call(channel, payload)
    assert info.value.retry_after == 180 and not info.value.consumes_attempt


def test_a_status_check_that_fails_is_a_wait_not_an_attempt(meta: MetaEnv) -> None:
    channel, payload = ig_payload(meta, 1)
    state = channel.publish(payload).state
    meta.state.fail(r"^\d+$", method="GET", code=2, status=503, is_transient=True)
    with pytest.raises(NotReady) as info:
        channel.resume(payload, state)
    assert not info.value.consumes_attempt and not info.value.uncertain


def test_invisible_writes_keep_their_type_and_drop_the_uncertainty(meta: MetaEnv) -> None:
    channel, payload = fb_payload(meta, 2)
    meta.state.fail(r"/photos$", method="POST", mode="drop", after=True)
    with pytest.raises(TransientError) as photo:
        channel.publish(payload)
    assert type(photo.value) is TransientError and not photo.value.uncertain
    ig, ig_pay = ig_payload(meta, 1)
    meta.state.fail(rf"^{IG_ID}/media$", method="POST", mode="drop", after=True)
    with pytest.raises(TransientError) as container:
        ig.publish(ig_pay)
    assert not container.value.uncertain


WORDPRESS_STEPS = {
    "featured image lookup": ("GET", "media", True, "publish"),
    "featured image upload": ("POST", "media", True, "publish"),
    "post": ("POST", "posts", False, "publish"),
    "reconciliation read": ("GET", "posts", False, "find_existing"),
}


@pytest.mark.parametrize("step", WORDPRESS_STEPS)
def test_wordpress_keeps_a_rate_limit_and_its_wait(tmp_path: Path, step: str) -> None:
    method, route, image, call = WORDPRESS_STEPS[step]
    with WordPressPeer() as wp:
        info = ChannelInfo(id=7, opd_id=1, kind="wordpress", name="Situs", status="active",
                           config={"url": wp.url, "username": USER},
                           secrets={"app_password": APP_PASSWORD})
        channel = WordPressChannel(info, SETTINGS)
        payload = channel.render(make_ctx(tmp_path, with_image=image), RENDERER)
        wp.refuse(method, route, 429, {"Retry-After": "45"})
        with pytest.raises(RateLimited) as raised:
            getattr(channel, call)(*([payload] if call == "publish" else [payload, None]))
    assert raised.value.retry_after == 45


@pytest.mark.parametrize("call", ["publish", "find_existing"])
def test_webhook_keeps_a_rate_limit_and_its_wait(tmp_path: Path, call: str) -> None:
    def slow_down(h: Any) -> None:
        send(h, 429, b'{"error": "slow down"}', "application/json", {"Retry-After": "20"})

    with LoopbackServer() as receiver:
        receiver.route("/hook", slow_down)
        receiver.route("/lookup", slow_down)
        info = ChannelInfo(id=9, opd_id=1, kind="webhook", name="CMS", status="active",
                           config={"url": receiver.url("/hook"),
                                   "lookup_url": receiver.url("/lookup")},
                           secrets={"signing_secret": new_signing_secret()})
        channel = WebhookChannel(info, SETTINGS)
        payload = channel.render(make_ctx(tmp_path, with_image=False), RENDERER)
        with pytest.raises(RateLimited) as raised:
            getattr(channel, call)(*([payload] if call == "publish" else [payload, None]))
    assert raised.value.retry_after == 20
