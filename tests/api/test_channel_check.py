"""The channel test calls out with no database transaction open (checked from the peer)."""

from __future__ import annotations

import sqlite3
from http.server import BaseHTTPRequestHandler

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..loopback_http import LoopbackServer, send


def _open_transactions(database_url: str) -> int:
    """Transactions other connections hold open right now (SQLite: a held write lock)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=0.5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            conn.close()
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")))
    finally:
        engine.dispose()


def test_webhook_check_holds_no_session_during_the_call(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    def receiver(h: BaseHTTPRequestHandler) -> None:
        seen.append(_open_transactions(runtime.settings.database_url))
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
