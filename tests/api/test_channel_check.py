"""The channel test calls out with no database transaction open (checked from the peer)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from ..dbprobe import open_transactions
from ..loopback_http import LoopbackServer, send


def test_webhook_check_holds_no_session_during_the_call(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    def receiver(h: BaseHTTPRequestHandler) -> None:
        seen.append(open_transactions(runtime.settings.database_url))
        send(h, 200)

    with LoopbackServer() as server:
        server.route("/hook", receiver)
        status, channel, _ = api.post("/channels", world.approver_a, {
            "opd": "kominfo", "kind": "webhook", "name": "CMS",
            "config": {"url": server.url("/hook")}})
        assert status == 201, channel
        status, result, _ = api.post(f"/channels/{channel['id']}/test", world.approver_a)
    assert status == 200, result
    assert result["ok"] is True and result["channel"]["health_ok"] is True
    assert [r["method"] for r in server.requests] == ["HEAD"]
    assert seen == [0]


def test_unreachable_webhook_is_reported_not_raised(api, world) -> None:  # type: ignore[no-untyped-def]
    with LoopbackServer() as server:
        url = server.url("/hook")
    # The server is gone: the check fails and says so; the endpoint still answers 200.
    status, channel, _ = api.post("/channels", world.approver_a, {
        "opd": "kominfo", "kind": "webhook", "name": "CMS", "config": {"url": url}})
    assert status == 201
    status, result, _ = api.post(f"/channels/{channel['id']}/test", world.approver_a)
    assert status == 200
    assert result["ok"] is False and "terhubung" in result["detail"]
    assert result["channel"]["health_ok"] is False
