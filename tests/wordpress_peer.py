"""A small WordPress REST peer on 127.0.0.1 for the queue's fault tests.

It speaks the part of ``/wp-json/wp/v2/`` the ``wordpress`` channel uses, with WordPress's
own shapes: posts and media created by POST and found by ``?slug=`` (a taken slug gets
``-2`` appended, as WordPress does, so a duplicate stays visible), Basic authentication with
an application password (401 ``rest_not_logged_in`` otherwise), error bodies ``{"code",
"message", "data": {"status"}}``, 429 with ``Retry-After``. A seeded fault schedule
(:mod:`.faults`) can fail any request. The real WordPress is exercised in
``test_wordpress_channel.py``; this peer is for hundreds of publications under faults.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import FaultSchedule
from .graph_server import QuietServer

USER = "operator"
APP_PASSWORD = "abcd efgh ijkl mnop qrst uvwx"


class WordPressPeer:
    """``with WordPressPeer() as wp: wp.url`` — posts and media in memory."""

    def __init__(self) -> None:
        self.posts: dict[int, dict[str, Any]] = {}
        self.media: dict[int, dict[str, Any]] = {}
        self.schedule: FaultSchedule | None = None
        #: (method, route, status, headers) answered instead, first match, once each.
        self.refusals: list[tuple[str, str, int, dict[str, str]]] = []
        self.lock = threading.Lock()
        self._ids = itertools.count(100)
        peer = self

        class Handler(_Handler):
            wp = peer

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> WordPressPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def refuse(self, method: str, route: str, status: int = 429,
               headers: dict[str, str] | None = None) -> None:
        """Answer the next ``method`` request to ``route`` (``posts``, ``media``…) with an
        error of WordPress's shape."""
        self.refusals.append((method, route, status, headers or {}))

    def posts_with_slug_prefix(self, prefix: str) -> list[dict[str, Any]]:
        """Posts whose slug is ``prefix`` or a WordPress-made variant of it (``prefix-2``)."""
        with self.lock:
            return [p for p in self.posts.values()
                    if p["slug"] == prefix or p["slug"].startswith(prefix + "-")]

    # called with the lock held

    def _unique_slug(self, table: dict[int, dict[str, Any]], slug: str) -> str:
        taken = {row["slug"] for row in table.values()}
        if slug not in taken:
            return slug
        for n in itertools.count(2):
            if f"{slug}-{n}" not in taken:
                return f"{slug}-{n}"
        raise AssertionError("unreachable")


class _Drop(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    wp: WordPressPeer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str,
               headers: dict[str, str] | None = None) -> None:
        self._send(status, {"code": code, "message": message, "data": {"status": status}},
                   headers)

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(2)

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        schedule = self.wp.schedule
        action = schedule.decide(write=method == "POST") if schedule is not None else "pass"
        if action == "slow":
            time.sleep(schedule.slow_seconds)  # type: ignore[union-attr]
        elif action == "error":
            self._error(500, "internal_server_error", "Terjadi galat kritis di situs ini.")
            return
        elif action == "rate":
            self._error(429, "too_many_requests", "Terlalu banyak permintaan.",
                        {"Retry-After": "1"})
            return
        elif action == "drop":
            self._drop()
            return
        if not self._authorised():
            self._error(401, "rest_not_logged_in", "Anda tidak sedang log masuk.")
            return
        route = split.path.removeprefix("/wp-json/wp/v2/").strip("/")
        with self.wp.lock:
            refusal = next((r for r in self.wp.refusals if r[:2] == (method, route)), None)
            if refusal is not None:
                self.wp.refusals.remove(refusal)
        if refusal is not None:
            self._error(refusal[2], "refused", f"HTTP {refusal[2]} (scripted)", refusal[3])
            return
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        with self.wp.lock:
            status, body = self._route(method, route, query, raw)
        if action == "lost" and status < 300:  # carried out; the answer never arrives
            self._drop()
            return
        self._send(status, body)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == USER and password == APP_PASSWORD

    def _route(self, method: str, route: str, query: dict[str, str],
               raw: bytes) -> tuple[int, Any]:
        wp = self.wp
        if route in ("posts", "media") and method == "GET":
            table = wp.posts if route == "posts" else wp.media
            slug = query.get("slug")
            rows = [r for r in table.values() if slug is None or r["slug"] == slug]
            return 200, rows
        if route == "posts" and method == "POST":
            data = json.loads(raw or b"{}")
            if not data.get("title"):
                return 400, {"code": "empty_content", "message": "Konten kosong.",
                             "data": {"status": 400}}
            post_id = next(wp._ids)
            slug = wp._unique_slug(wp.posts, str(data.get("slug") or f"post-{post_id}"))
            wp.posts[post_id] = {
                "id": post_id, "slug": slug, "status": data.get("status", "publish"),
                "title": {"raw": data["title"]}, "featured_media": data.get("featured_media"),
                "date_gmt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "link": f"{self._base()}/?p={post_id}",
            }
            return 201, wp.posts[post_id]
        if route == "media" and method == "POST":
            fields = _multipart(self.headers.get("Content-Type") or "", raw)
            media_id = next(wp._ids)
            slug = wp._unique_slug(wp.media, str(fields.get("slug") or f"media-{media_id}"))
            wp.media[media_id] = {"id": media_id, "slug": slug,
                                  "source_url": f"{self._base()}/wp-content/{slug}.jpg"}
            return 201, wp.media[media_id]
        return 404, {"code": "rest_no_route", "message": "Rute tidak ditemukan.",
                     "data": {"status": 404}}

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"  # type: ignore[attr-defined]


def _multipart(content_type: str, raw: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body."""
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw,
                                 policy=HTTP)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not part.get_filename():
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload.decode() if isinstance(payload, bytes) else ""
    return fields
