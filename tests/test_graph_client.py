"""The Graph client against the Graph test server: version shim, bearer token, error table,
SDK quirks, usage headers."""

from __future__ import annotations

import json
import socket

import facebook
import pytest

from publisher import graph as graph_module
from publisher.channels.base import AuthError, PermanentError, RateLimited, TransientError
from publisher.config import ConfigError
from publisher.graph import (
    ContainerNotReady,
    GraphClient,
    PublishingLimitReached,
    api_version,
)

from .meta_fixtures import PAGE_ID, MetaEnv, make_settings, meta_fixture  # noqa: F401


def client(meta: MetaEnv, token: str | None = None) -> GraphClient:
    return GraphClient(token or meta.page_token, meta.settings)


def test_version_shim_and_base_url(meta: MetaEnv) -> None:
    with client(meta) as graph:
        assert graph.get(PAGE_ID, fields="id,name")["name"] == "Dinas Kesehatan Kab. Contoh"
    assert meta.state.versions == {"v24.0"}
    assert meta.server.url + "/" == facebook.FACEBOOK_GRAPH_URL
    assert api_version("24.0") == "v24.0"
    assert api_version("v25") == "v25.0"
    with pytest.raises(ConfigError, match="GRAPH_VERSION"):
        api_version("latest")


def test_token_travels_in_header_not_url(meta: MetaEnv) -> None:
    with client(meta) as graph:
        graph.get(PAGE_ID, fields="id")
        graph.post(f"{PAGE_ID}/feed", message="Halo warga")
    assert meta.state.tokens_in_url == 0
    assert len(meta.state.page_posts(PAGE_ID)) == 1


def test_no_token_is_auth_error(meta: MetaEnv) -> None:
    with pytest.raises(AuthError, match="belum punya token"):
        GraphClient("", meta.settings)


def _bcu(minutes: int, call_count: int = 100) -> dict[str, str]:
    usage = {PAGE_ID: [{"type": "pages", "call_count": call_count, "total_cputime": 20,
                        "total_time": 30, "estimated_time_to_regain_access": minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


# (code, subcode, extra, expected class, words in the message)
CASES = [
    (1, None, {}, TransientError, "dicoba lagi"),
    (2, None, {}, TransientError, "sementara"),
    (999, None, {"is_transient": True}, TransientError, "dicoba lagi"),
    (4, None, {}, RateLimited, "aplikasi"),
    (17, None, {}, RateLimited, "pengguna"),
    (32, None, {"headers": {"X-Page-Usage": json.dumps({"call_count": 100})}}, RateLimited,
     "Halaman"),
    (613, None, {}, RateLimited, "ditunda"),
    (80001, None, {"headers": _bcu(7)}, RateLimited, "ditunda"),
    (80002, None, {}, RateLimited, "ditunda"),
    (9, 2207042, {}, PublishingLimitReached, "Kuota"),
    (190, 463, {}, AuthError, "kedaluwarsa"),
    (190, 460, {}, AuthError, "kata sandi"),
    (190, 458, {}, AuthError, "dihapus"),
    (190, 459, {}, AuthError, "checkpoint"),
    (190, 464, {}, AuthError, "dikonfirmasi"),
    (190, 467, {}, AuthError, "tidak valid"),
    (190, None, {}, AuthError, "Sambungkan ulang"),
    (102, None, {}, AuthError, "Sesi"),
    (10, None, {}, AuthError, "izin"),
    (200, None, {"message": "(#200) Requires pages_manage_posts permission"}, AuthError,
     "pages_manage_posts"),
    (299, None, {}, AuthError, "izin"),
    (100, None, {}, PermanentError, "parameter"),
    (368, None, {}, PermanentError, "kebijakan"),
    (506, None, {}, PermanentError, "duplikat"),
    (9004, 2207052, {}, PermanentError, "PUBLISHER_PUBLIC_BASE_URL"),
    (36003, 2207009, {}, PermanentError, "Rasio aspek"),
    (36001, 2207004, {}, PermanentError, "8 MB"),
    (100, 2207026, {}, PermanentError, "JPEG"),
    (9007, 2207027, {}, ContainerNotReady, "belum selesai"),
    (12345, None, {}, PermanentError, "kode 12345"),
]


@pytest.mark.parametrize(("code", "subcode", "extra", "expected", "words"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_error_table(meta: MetaEnv, code, subcode, extra, expected, words) -> None:
    meta.state.fail(f"^{PAGE_ID}/feed$", code=code, subcode=subcode, **extra)
    with client(meta) as graph, pytest.raises(expected) as caught:
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert type(caught.value) is expected
    assert words.lower() in caught.value.message.lower()
    assert f"code={code}" in caught.value.detail
    assert meta.page_token not in caught.value.detail


def test_rate_limit_reads_estimated_time_to_regain_access(meta: MetaEnv) -> None:
    meta.state.fail(f"^{PAGE_ID}/feed$", code=80001, headers=_bcu(7))
    with client(meta) as graph, pytest.raises(RateLimited) as caught:
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert caught.value.retry_after == 7 * 60


def test_transient_write_is_uncertain_read_is_not(meta: MetaEnv) -> None:
    meta.state.fail(f"^{PAGE_ID}/feed$", code=2, times=1)
    meta.state.fail(f"^{PAGE_ID}$", code=2, times=1)
    with client(meta) as graph:
        with pytest.raises(TransientError) as write:
            graph.post(f"{PAGE_ID}/feed", message="x")
        with pytest.raises(TransientError) as read:
            graph.get(PAGE_ID, fields="id")
    assert write.value.uncertain is True
    assert read.value.uncertain is False


def test_answer_without_content_type_is_transient(meta: MetaEnv) -> None:
    # facebook-sdk raises KeyError on it; the client turns that into a TransientError.
    meta.state.fail(f"^{PAGE_ID}/feed$", mode="no_content_type")
    with client(meta) as graph, pytest.raises(TransientError, match="Content-Type") as caught:
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert caught.value.uncertain is True


def test_html_bad_gateway_is_transient(meta: MetaEnv) -> None:
    # facebook-sdk raises "Maintype was not text, image, or querystring" for it.
    meta.state.fail(f"^{PAGE_ID}/feed$", mode="html", status=502)
    with client(meta) as graph, pytest.raises(TransientError) as caught:
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert "http=502" in caught.value.detail
    assert caught.value.uncertain is True


def test_html_not_found_points_at_the_graph_url(meta: MetaEnv) -> None:
    meta.state.fail(f"^{PAGE_ID}$", mode="html", status=404)
    with client(meta) as graph, pytest.raises(PermanentError, match="PUBLISHER_GRAPH_URL"):
        graph.get(PAGE_ID, fields="id")


def test_html_429_is_rate_limited(meta: MetaEnv) -> None:
    meta.state.fail(f"^{PAGE_ID}$", mode="html", status=429)
    with client(meta) as graph, pytest.raises(RateLimited):
        graph.get(PAGE_ID, fields="id")


def test_read_timeout_on_write_is_uncertain(meta: MetaEnv) -> None:
    meta.settings.http_timeout = 0.3
    meta.state.fail(f"^{PAGE_ID}/feed$", mode="delay", delay=0.8)
    with client(meta) as graph, pytest.raises(TransientError) as caught:
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert caught.value.uncertain is True
    assert "ReadTimeout" in caught.value.detail


def test_connection_refused_is_certain(meta: MetaEnv, tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(tmp_path, f"http://127.0.0.1:{port}", meta.images.base_url)
    with GraphClient(meta.page_token, settings) as graph, \
            pytest.raises(TransientError) as caught:
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert caught.value.uncertain is False
    graph_module.configure_sdk(meta.server.url)


def test_usage_at_ceiling_stops_writes_until_regain(meta: MetaEnv) -> None:
    meta.state.extra_headers = _bcu(3, call_count=97)
    with client(meta) as graph:
        graph.get(PAGE_ID, fields="id")
        assert graph.last_usage.peak() >= 97
        calls = len(meta.state.log)
        with pytest.raises(RateLimited) as caught:
            graph.post(f"{PAGE_ID}/feed", message="x")
    assert 170 <= (caught.value.retry_after or 0) <= 180
    assert len(meta.state.log) == calls  # not even sent
    assert meta.state.page_posts(PAGE_ID) == []


def test_usage_below_ceiling_does_not_throttle(meta: MetaEnv) -> None:
    meta.state.extra_headers = _bcu(0, call_count=60)
    with client(meta) as graph:
        graph.get(PAGE_ID, fields="id")
        graph.post(f"{PAGE_ID}/feed", message="x")
    assert len(meta.state.page_posts(PAGE_ID)) == 1


def test_paged_follows_cursors(meta: MetaEnv) -> None:
    with client(meta) as graph:
        for n in range(7):
            graph.post(f"{PAGE_ID}/feed", message=f"pesan {n}")
        messages = [p["message"] for p in graph.paged(f"{PAGE_ID}/published_posts",
                                                      fields="id,message", limit=3)]
    assert messages == [f"pesan {n}" for n in range(6, -1, -1)]
