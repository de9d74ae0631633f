"""Feed polling: one full cycle over 1,000 feed sources served on loopback.

Cycle 1 seeds every source (each feed fetched and parsed, its entries recorded). Cycle 2 is the
measured steady state: half the feeds are unchanged (conditional GET → 304), the other half
each have one new entry (fetch, parse, article page looked at for og:image, one item approved
and fanned out to a channel, all audited). The HTTP server runs in another process, so the CPU
figure is the poller's own. Target: a full cycle in under 60 s on a 2-core machine.

    .venv/bin/python bench/feed_poll.py [--feeds 1000] [--concurrency 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import seed_opd_and_channel
from publisher.config import Settings
from publisher.db import Base, Database
from publisher.feeds import poll_due_feeds
from publisher.migrate import upgrade
from publisher.models import FeedSource, Item
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

BASE_ENTRIES = 10
OLD = datetime(2026, 1, 1, tzinfo=UTC)


def feed_xml(feed: int, cycle: int, changing: bool) -> bytes:
    """RSS of one OPD site: 10 old entries, plus one new entry per cycle when ``changing``."""
    count = BASE_ENTRIES + (cycle if changing else 0)
    items = []
    for n in reversed(range(count)):
        date = OLD + timedelta(days=n) if n < BASE_ENTRIES else datetime.now(UTC)
        items.append(
            f"<item><title>Berita {feed}-{n}: kegiatan pelayanan publik</title>"
            f"<link>http://127.0.0.1/a/{feed}/{n}</link><guid>site-{feed}-post-{n}</guid>"
            f"<pubDate>{format_datetime(date)}</pubDate><description>Ringkasan berita {n} "
            f"dari dinas {feed}. Layanan buka pukul 08.00-15.00 WIB.</description></item>")
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>"
            f"<title>Dinas {feed}</title><link>http://127.0.0.1/</link><description>d"
            "</description>" + "".join(items) + "</channel></rss>").encode()


def serve(port_out: Any, cycle: Any) -> None:
    """The feeds' web server (own process): /f/<n> feeds with ETags, /a/... article pages."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per response: headers and body in separate small writes meet Nagle and
        # delayed ACKs (about 40 ms per request on keep-alive), which real servers avoid.
        wbufsize = 1 << 16

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "f":
                feed = int(parts[1])
                changing = feed % 2 == 1
                version = cycle.value if changing else 0
                etag = f'"{feed}-{version}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = feed_xml(feed, version, changing)
                ctype = "application/rss+xml"
            else:
                body, ctype, etag = b"<html><head><title>Berita</title></head></html>", \
                    "text/html", ""
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    port_out.put(server.server_address[1])
    server.serve_forever()


def setup(rt: Runtime, port: int, feeds: int) -> None:
    """One OPD, one site channel, ``feeds`` sources (bulk insert, all due now)."""
    opd_id, channel_id = seed_opd_and_channel(rt, "site")
    now = utcnow()
    with rt.db.write_conn() as conn:
        conn.execute(insert(FeedSource), [{
            "opd_id": opd_id, "name": f"Situs dinas {n}", "url": f"http://127.0.0.1:{port}/f/{n}",
            "enabled": True, "target_channel_ids": [channel_id], "body_template": "",
            "requires_approval": False, "category": "berkala", "poll_interval_seconds": 900,
            "next_poll_at": now, "seeded": False, "error_count": 0,
            "created_at": now - timedelta(hours=1), "updated_at": now,
        } for n in range(feeds)])


def cycle(rt: Runtime, concurrency: int) -> tuple[int, float, float]:
    """Make every source due and poll them all; (polled, wall s, CPU s of this process)."""
    with rt.db.write() as s:
        s.execute(update(FeedSource).values(next_poll_at=utcnow() - timedelta(seconds=1)))
    wall, cpu = time.perf_counter(), time.process_time()
    polled = poll_due_feeds(rt, "bench-worker", concurrency=concurrency)
    return polled, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("PUBLISHER_BENCH_DATABASE_URL"))
    args = parser.parse_args()

    ctx = multiprocessing.get_context("fork")
    port_q, version = ctx.Queue(), ctx.Value("i", 0)
    server = ctx.Process(target=serve, args=(port_q, version), daemon=True)
    server.start()
    port = port_q.get(timeout=10)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(instance_path=Path(tmp), allow_loopback=True, http_timeout=10.0,
                            database_url=args.database_url or f"sqlite:///{tmp}/bench.db")
        settings.finish()
        db = Database(settings.database_url)
        upgrade(db)
        Base.metadata.create_all(db.engine, tables=[Base.metadata.tables["feed_source"],
                                                    Base.metadata.tables["feed_entry_seen"]])
        rt = Runtime(settings, db)
        setup(rt, port, args.feeds)
        backend = db.dialect
        print(f"feeds: {args.feeds} on 127.0.0.1 (half unchanged → 304), backend {backend}, "
              f"{args.concurrency} fetch threads, {os.cpu_count()} CPUs")
        polled, wall, cpu = cycle(rt, args.concurrency)
        print(f"cycle 1 (seeding, every feed 200 + parse): {polled} feeds in {wall:.2f} s, "
              f"CPU {cpu:.2f} s = {1000 * cpu / max(polled, 1):.2f} ms per feed")
        with version.get_lock():
            version.value = 1
        polled, wall, cpu = cycle(rt, args.concurrency)
        with db.read() as s:
            items = s.scalar(select(func.count()).select_from(Item)) or 0
            errors = s.scalar(select(func.count()).select_from(FeedSource).where(
                FeedSource.last_error.is_not(None))) or 0
        print(f"cycle 2 (steady: {args.feeds // 2} × 304, {args.feeds - args.feeds // 2} × new "
              f"entry → item): {polled} feeds in {wall:.2f} s, CPU {cpu:.2f} s = "
              f"{1000 * cpu / max(polled, 1):.2f} ms per feed; items made {items}, "
              f"sources in error {errors}")
        ok = wall < 60 and errors == 0 and items == args.feeds - args.feeds // 2
        print("PASS" if ok else "FAIL", "(target: full cycle < 60 s, no errors, one item per "
              "changed feed)")
        db.dispose()
    server.terminate()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
