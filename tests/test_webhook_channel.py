"""The webhook channel against real HTTP peers on 127.0.0.1: what each answer means for the
queue (receipt, auth, rate limit, transient, permanent, uncertain), keep-alive reuse, the
guard, and lookups for reconciliation."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from publisher.channels.base import (
    AuthError,
    ChannelInfo,
    Payload,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.channels.webhook import WebhookChannel, new_signing_secret
from publisher.config import Settings
from publisher.keepalive import MAX_BODY
from tests.loopback_http import LoopbackServer, send

SECRET = new_signing_secret()


def make_channel(url: str, tmp_path: Path, *, lookup_url: str = "", timeout: float = 2.0,
                 allow_loopback: bool = True) -> WebhookChannel:
    settings = Settings(instance_path=tmp_path, database_url="sqlite://",
                        secret_key="test-secret-key-0001",
                        allow_loopback=allow_loopback, http_timeout=timeout)
    info = ChannelInfo(id=1, opd_id=1, kind="webhook", name="CMS", status="active",
                       config={"url": url, "lookup_url": lookup_url},
                       secrets={"signing_secret": SECRET})
    return WebhookChannel(info, settings)


def payload(n: int = 1) -> Payload:
    return Payload(publication_id=n, channel_id=1, kind="webhook", fingerprint=f"pub{n}-abc",
                   content_hash="abc", title="Judul",
                   data={"type": "informasi.published", "data": {"title": "Judul", "n": n}})


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    def handler(h: BaseHTTPRequestHandler) -> None:
        send(h, status, body, "application/json", headers)

    return handler


def test_signed_post_gives_a_receipt_with_the_receivers_id_and_url(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(201, b'{"id": "post-7", "url": "https://cms.test/p/7"}'))
    receipt = make_channel(server.url("/hook"), tmp_path).publish(payload())
    assert (receipt.remote_id, receipt.url) == ("post-7", "https://cms.test/p/7")
    sent = server.requests[0]
    Webhook(SECRET).verify(sent["body"], sent["headers"])  # raises if the signature is wrong
    assert sent["headers"]["webhook-id"] == "pub1-abc"
    assert json.loads(sent["body"])["data"]["title"] == "Judul"


def test_a_2xx_without_json_still_counts_with_the_fingerprint_as_id(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(204))
    receipt = make_channel(server.url("/hook"), tmp_path).publish(payload())
    assert receipt.remote_id == "pub1-abc"


def test_one_connection_carries_many_sends(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(200, b"{}"))
    channel = make_channel(server.url("/hook"), tmp_path)
    for n in range(5):
        channel.publish(payload(n))
    assert len(server.requests) == 5
    assert server.connections == 1


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthError, "tanda tangan"),
        (403, AuthError, "HTTP 403"),
        (503, TransientError, "HTTP 503"),
        (422, PermanentError, "menolak isi kiriman (HTTP 422)"),
        (301, PermanentError, "mengalihkan"),
    ],
)
def test_each_answer_becomes_the_error_the_retry_policy_expects(  # type: ignore[no-untyped-def]
    server, tmp_path, status, error, words
) -> None:
    server.route("/hook", answer(status, b'{"error": "no"}', {"Location": "https://new.test/"}))
    with pytest.raises(error) as caught:
        make_channel(server.url("/hook"), tmp_path).publish(payload())
    assert type(caught.value) is error
    assert words in caught.value.message
    if status == 301:
        assert caught.value.detail == "https://new.test/"


def test_429_carries_retry_after(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(429, b"slow down", {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        make_channel(server.url("/hook"), tmp_path).publish(payload())
    assert caught.value.retry_after == 120.0


def test_an_answer_too_slow_is_uncertain(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)
        send(h, 200, b"{}")

    server.route("/hook", slow)
    with pytest.raises(TransientError) as caught:
        make_channel(server.url("/hook"), tmp_path, timeout=0.3).publish(payload())
    assert caught.value.uncertain  # the receiver may have stored it: reconcile first
    assert "did not answer" in caught.value.detail


def test_a_receiver_that_hangs_up_without_answering_is_uncertain(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def hang_up(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    server.route("/hook", hang_up)
    with pytest.raises(TransientError) as caught:
        make_channel(server.url("/hook"), tmp_path).publish(payload())
    assert caught.value.uncertain


def test_nobody_listening_is_transient_and_certain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError) as caught:
        make_channel(f"http://127.0.0.1:{port}/hook", tmp_path).publish(payload())
    assert not caught.value.uncertain  # nothing was sent: safe to send again
    assert "Tidak dapat terhubung" in caught.value.message


def test_a_connection_closed_while_idle_is_replaced_not_reported(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(200, b"{}"))
    channel = make_channel(server.url("/hook"), tmp_path)
    channel.publish(payload(1))
    server.close_idle_connections()
    channel.publish(payload(2))  # the dropped connection is noticed before the send
    assert len(server.requests) == 2
    assert server.connections == 2


def test_connections_are_kept_per_thread(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(200, b"{}"))
    channel = make_channel(server.url("/hook"), tmp_path)
    threads = [threading.Thread(target=lambda n=n: [channel.publish(payload(n * 10 + k))
                                                    for k in range(3)]) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.requests) == 12
    assert server.connections == 4


def test_an_oversized_answer_is_cut_and_its_connection_dropped(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(200, b"x" * (MAX_BODY + 10)))
    channel = make_channel(server.url("/hook"), tmp_path)
    receipt = channel.publish(payload(1))
    assert receipt.remote_id == "pub1-abc"  # not JSON: the fingerprint stands in
    server.route("/hook", answer(200, b"{}"))
    channel.publish(payload(2))
    assert server.connections == 2


def test_the_guard_refuses_before_connecting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # With loopback not allowed the guard refuses 127.0.0.1 itself: no connection is tried.
    channel = make_channel("http://127.0.0.1:9/hook", tmp_path, allow_loopback=False)
    with pytest.raises(PermanentError) as caught:
        channel.publish(payload())
    assert "ditolak" in caught.value.message


def test_lookup_finds_an_earlier_delivery_or_says_none(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def lookup(h: BaseHTTPRequestHandler) -> None:
        if "webhook-id=pub1-abc" in h.path:
            send(h, 200, b'{"id": "post-1", "url": "https://cms.test/p/1"}', "application/json")
        else:
            send(h, 404, b'{"error": "not found"}', "application/json")

    server.route("/lookup", lookup)
    channel = make_channel(server.url("/hook"), tmp_path, lookup_url=server.url("/lookup"))
    found = channel.find_existing(payload(1), None)
    assert found is not None and found.remote_id == "post-1"
    assert channel.find_existing(payload(2), None) is None
    assert server.requests[0]["path"] == "/lookup?webhook-id=pub1-abc"


def test_lookup_answering_garbage_is_transient(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/lookup", answer(200, b"<html>oops</html>"))
    channel = make_channel(server.url("/hook"), tmp_path, lookup_url=server.url("/lookup"))
    with pytest.raises(TransientError, match="bukan JSON"):
        channel.find_existing(payload(1), None)


def test_check_reports_reachable_and_unreachable(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.route("/hook", answer(405))
    assert make_channel(server.url("/hook"), tmp_path).check().ok
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    health = make_channel(f"http://127.0.0.1:{port}/hook", tmp_path).check()
    assert not health.ok and "Tidak dapat terhubung" in health.detail
