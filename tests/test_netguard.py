"""The SSRF guard: pure address checks (no connection is ever made to a non-loopback address)
and end-to-end checks with real servers on 127.0.0.1 and 127.0.0.2."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate

import pytest

from publisher.fetch import (
    FetchTimeout,
    HTTPStatusError,
    TooLarge,
    TooManyRedirects,
    fetch,
    settled,
)
from publisher.netguard import (
    AddressPolicy,
    BlockedAddress,
    InvalidURL,
    address_refusal,
    check_url,
    safe_session,
)

from .loopback_http import LoopbackServer, endless, redirect, send, static


@dataclass
class _Settings:
    allow_loopback: bool = False
    allowed_networks: tuple[str, ...] = ()
    http_timeout: float = 5.0


STRICT = _Settings()
LOOPBACK = _Settings(allow_loopback=True)
NARROW = _Settings(allowed_networks=("127.0.0.1/32",))

REFUSED = [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.0.0.2", "169.254.169.254",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "100.64.0.1", "192.0.2.1",
    "198.18.0.1", "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1",
    "fec0::1", "2001:db8::1",
    # IPv4 hidden in IPv6 forms
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
    "2002:a00:1::1", "::10.0.0.1",
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8",
           "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_refuses_non_public_addresses(address: str) -> None:
    reason = address_refusal(address, AddressPolicy.from_settings(STRICT))
    assert reason, f"{address} should be refused"


@pytest.mark.parametrize("address", ALLOWED)
def test_allows_public_addresses(address: str) -> None:
    assert address_refusal(address, AddressPolicy.from_settings(STRICT)) is None


def test_loopback_allowance_and_narrowed_allowance() -> None:
    loop = AddressPolicy.from_settings(LOOPBACK)
    assert address_refusal("127.0.0.2", loop) is None
    assert address_refusal("::1", loop) is None
    assert address_refusal("::ffff:127.0.0.1", loop) is None
    assert address_refusal("10.0.0.1", loop)  # loopback only, not private
    narrow = AddressPolicy.from_settings(NARROW)
    assert address_refusal("127.0.0.1", narrow) is None
    assert "loopback" in (address_refusal("127.0.0.2", narrow) or "")
    intranet = AddressPolicy.from_settings(_Settings(allowed_networks=("10.20.0.0/16",)))
    assert address_refusal("10.20.3.4", intranet) is None
    assert address_refusal("10.21.0.1", intranet)


def test_bad_allowed_network_is_named() -> None:
    with pytest.raises(ValueError, match="ALLOWED_NETWORKS"):
        AddressPolicy.from_settings(_Settings(allowed_networks=("10.0.0.0/33",)))


def test_check_url_checks_every_resolved_address() -> None:
    # A host that resolves to one public and one private address is refused as a whole.
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    with pytest.raises(BlockedAddress) as info:
        check_url("https://mixed.example/feed", STRICT, resolver=resolver)
    assert info.value.address == "10.1.2.3"
    assert "ditolak" in info.value.message
    assert check_url("https://ok.example/", STRICT, resolver=lambda h, p: ["8.8.8.8"]) == [
        "8.8.8.8"
    ]


def test_check_url_refuses_ip_literals_and_tricks_without_dns() -> None:
    for url in ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/",
                "http://0x7f000001/", "http://2130706433/", "http://[fd00::1]:8080/"]:
        with pytest.raises(BlockedAddress):
            check_url(url, STRICT)


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "http:///nohost",
                                 "javascript:alert(1)", "http://example.org:99999/"])
def test_invalid_urls(url: str) -> None:
    with pytest.raises(InvalidURL):
        check_url(url, STRICT)


# --- end to end, on loopback only -------------------------------------------------------------


@pytest.fixture
def server():
    with LoopbackServer("127.0.0.1") as srv:
        yield srv


@pytest.fixture
def second_server():
    with LoopbackServer("127.0.0.2") as srv:
        yield srv


def test_redirect_to_address_outside_narrowed_allowance_is_refused(server, second_server):
    second_server.route("/secret", static(b"internal"))
    server.route("/feed", redirect(second_server.url("/secret")))
    with pytest.raises(BlockedAddress) as info:
        fetch(server.url("/feed"), NARROW)
    assert info.value.address == "127.0.0.2"
    assert second_server.requests == []  # never reached
    # The same redirect is followed when the allowance covers both (so the test can fail).
    assert fetch(server.url("/feed"), LOOPBACK).content == b"internal"


def test_strict_policy_refuses_loopback_before_connecting(server):
    server.route("/x", static(b"x"))
    with pytest.raises(BlockedAddress):
        fetch(server.url("/x"), STRICT)
    with pytest.raises(BlockedAddress):
        safe_session(STRICT).get(server.url("/x"), timeout=2)
    assert server.requests == []


def test_session_pins_the_checked_address_against_dns_rebinding(server, second_server):
    second_server.route("/x", static(b"rebound"))
    server.route("/x", static(b"first"))
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    session = safe_session(NARROW, resolver=lambda host, port: next(answers))
    url = f"http://rebind.test:{server.port}/x"
    response = session.get(url, timeout=2)
    assert response.content == b"first"
    assert server.requests[0]["headers"]["Host"] == f"rebind.test:{server.port}"
    session.close()  # the next connection resolves again and now gets 127.0.0.2
    session2 = safe_session(NARROW, resolver=lambda host, port: ["127.0.0.2"])
    with pytest.raises(BlockedAddress):
        session2.get(f"http://rebind.test:{second_server.port}/x", timeout=2)
    assert second_server.requests == []


def test_endless_response_is_cut_at_the_size_cap(server):
    server.route("/feed", endless())
    started = time.monotonic()
    with pytest.raises(TooLarge) as info:
        fetch(server.url("/feed"), LOOPBACK, max_bytes=256 * 1024)
    assert time.monotonic() - started < 5
    assert "batas" in info.value.message


def test_declared_oversize_is_refused_before_reading(server):
    server.route("/big", static(b"y" * 5000))
    with pytest.raises(TooLarge):
        fetch(server.url("/big"), LOOPBACK, max_bytes=1000)
    assert fetch(server.url("/big"), LOOPBACK, max_bytes=5000).content == b"y" * 5000


def test_conditional_get_gives_304(server):
    server.route("/feed", static(b"<rss/>", "application/rss+xml", etag='"v1"',
                                 last_modified="Fri, 27 Nov 2026 08:00:00 GMT"))
    first = fetch(server.url("/feed"), LOOPBACK)
    assert first.status == 200 and first.etag == '"v1"'
    second = fetch(server.url("/feed"), LOOPBACK, etag=first.etag,
                   last_modified=first.last_modified)
    assert second.not_modified and second.content == b""
    assert second.etag == '"v1"' and second.last_modified == first.last_modified
    assert server.requests[1]["headers"]["If-None-Match"] == '"v1"'


def test_validators_of_a_resource_changed_this_minute_are_not_kept(server):
    # Like WordPress's feed: Last-Modified is the newest post's second and the ETag is derived
    # from it, so a second post in the same second would leave both unchanged (RFC 9110
    # §8.8.2.2: a Last-Modified under 60 s before the answer's Date is weak).
    just_now = formatdate(time.time(), usegmt=True)
    server.route("/fresh", static(b"<rss/>", "application/rss+xml", etag='"abc"',
                                  last_modified=just_now))
    first = fetch(server.url("/fresh"), LOOPBACK)
    assert first.status == 200 and first.etag is None and first.last_modified is None
    assert first.headers["last-modified"] == just_now  # the answer itself is kept as it came

    older = formatdate(time.time() - 120, usegmt=True)
    server.route("/settled", static(b"<rss/>", "application/rss+xml", etag='"def"',
                                    last_modified=older))
    second = fetch(server.url("/settled"), LOOPBACK)
    assert second.etag == '"def"' and second.last_modified == older
    assert not settled("not a date", None)  # an unreadable Last-Modified is not trusted
    assert settled(None, None)  # an ETag alone is


def test_redirect_limit_and_relative_redirects(server):
    server.route("/loop", redirect("/loop"))
    with pytest.raises(TooManyRedirects):
        fetch(server.url("/loop"), LOOPBACK, max_redirects=3)
    assert len(server.requests) == 4
    server.route("/a", redirect("/b", 301))
    server.route("/b", static(b"B"))
    result = fetch(server.url("/a"), LOOPBACK)
    assert result.content == b"B" and result.redirects == 1 and result.url.endswith("/b")


def test_error_status_and_timeout(server):
    with pytest.raises(HTTPStatusError) as info:
        fetch(server.url("/missing"), LOOPBACK)
    assert info.value.status == 404 and "HTTP 404" in info.value.message

    def slow(h):
        time.sleep(1.5)
        send(h, 200, b"late")

    server.route("/slow", slow)
    with pytest.raises(FetchTimeout):
        fetch(server.url("/slow"), LOOPBACK, timeout=0.5)
