"""A tiny real HTTP server on a loopback address, for tests of outbound HTTP (no mocks).

Routes map a path to a handler ``(handler: BaseHTTPRequestHandler) -> None`` that writes the
whole response. Every request is recorded (method, path, headers) in ``requests``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler], None]


class LoopbackServer:
    """``with LoopbackServer("127.0.0.2") as srv: srv.route("/x", handler); srv.url("/x")``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        assert host.startswith("127."), "test traffic stays on 127.0.0.0/8"
        self.host = host
        self.routes: dict[str, Handler] = {}
        self.requests: list[dict[str, Any]] = []
        #: How many TCP connections clients opened (keep-alive reuse shows as fewer).
        self.connections = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body in one write (no Nagle/delayed-ACK stalls)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1
                    server._open.append(self.connection)

            def _serve(self) -> None:
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers),
                     "body": body}
                )
                handler = server.routes.get(path)
                if handler is None:
                    send(self, 404, b"not found", "text/plain")
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)

            do_GET = _serve
            do_POST = _serve
            do_HEAD = _serve

        self.httpd = ThreadingHTTPServer((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, path: str, handler: Handler) -> None:
        """Serve ``path`` with ``handler``."""
        self.routes[path] = handler

    def url(self, path: str = "/") -> str:
        """The full URL of ``path`` on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def close_idle_connections(self) -> None:
        """Hang up every open connection, as a server does with idle keep-alive ones."""
        with self._lock:
            open_now, self._open = self._open, []
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        time.sleep(0.05)  # let the FIN reach the client

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
) -> None:
    """Write a complete response with a Content-Length."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def not_modified(handler: BaseHTTPRequestHandler, headers: dict[str, str]) -> None:
    """Answer 304 with ``headers`` (the validators) and no body."""
    handler.send_response(304)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def static(body: bytes, content_type: str = "text/plain", *, etag: str | None = None,
           last_modified: str | None = None) -> Handler:
    """A handler serving ``body``, answering 304 to a matching conditional GET."""

    def _handler(h: BaseHTTPRequestHandler) -> None:
        extra: dict[str, str] = {}
        if etag:
            extra["ETag"] = etag
        if last_modified:
            extra["Last-Modified"] = last_modified
        if (etag and h.headers.get("If-None-Match") == etag) or (
            last_modified and not etag and h.headers.get("If-Modified-Since") == last_modified
        ):
            not_modified(h, extra)
            return
        send(h, 200, body, content_type, extra)

    return _handler


def redirect(location: str, status: int = 302) -> Handler:
    """A handler answering with a redirect to ``location``."""

    def _handler(h: BaseHTTPRequestHandler) -> None:
        send(h, status, b"", "text/plain", {"Location": location})

    return _handler


def endless(content_type: str = "application/rss+xml") -> Handler:
    """A chunked response that never ends (until the client hangs up)."""

    def _handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"<item><title>" + b"x" * 8000 + b"</title></item>\n"
        h.wfile.write(_chunk(b'<?xml version="1.0"?><rss><channel>\n'))
        frame = _chunk(chunk)
        while True:  # ends when the client hangs up: the write raises BrokenPipeError
            h.wfile.write(frame)

    return _handler


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
