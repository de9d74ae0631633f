"""A CMS-like Standard Webhooks receiver on 127.0.0.1, for queue and webhook tests.

It verifies every signature, stores each delivery, dedupes on ``webhook-id`` as the spec asks,
and answers lookups (``GET /lookup?webhook-id=…``) so the sender can reconcile. Behaviour can
be scripted: a delay before answering (for every request, or per request from ``delays``), a
list of status codes to answer first, or a seeded fault schedule (:mod:`.faults`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from standardwebhooks.webhooks import Webhook

from .faults import FaultSchedule


class WebhookReceiver:
    """``with WebhookReceiver(secret) as r: r.url`` — see module docstring."""

    def __init__(self, secret: str, delay: float = 0.0, host: str = "127.0.0.1") -> None:
        assert host.startswith("127.")
        self.host = host
        self.verifier = Webhook(secret)
        self.delay = delay
        #: Delays for the next POSTs, one each (then ``delay``).
        self.delays: list[float] = []
        self.script: list[int] = []
        #: The Retry-After header of a scripted 429 (None: none).
        self.retry_after: str | None = None
        self.schedule: FaultSchedule | None = None
        self.deliveries: Counter[str] = Counter()
        self.stored: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in one segment: no Nagle / delayed-ACK stall per answer.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if status == 429 and receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.shutdown(2)

            def _fault(self, write: bool) -> str:
                schedule = receiver.schedule
                action = schedule.decide(write) if schedule is not None else "pass"
                if action == "slow":
                    time.sleep(schedule.slow_seconds)  # type: ignore[union-attr]
                elif action == "error":
                    self._answer(503, {"error": "scheduled outage"})
                elif action == "rate":
                    data = b'{"error": "slow down"}'
                    self.send_response(429)
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif action == "drop":
                    self._drop()
                return action

            def do_GET(self) -> None:
                if self._fault(write=False) in ("error", "rate", "drop"):
                    return
                query = parse_qs(urlparse(self.path).query)
                webhook_id = (query.get("webhook-id") or [""])[0]
                with receiver.lock:
                    found = receiver.stored.get(webhook_id)
                if found is None:
                    self._answer(404, {"error": "not found"})
                else:
                    self._answer(200, {"id": found["post_id"], "url": found["url"]})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    delay = receiver.delays.pop(0) if receiver.delays else receiver.delay
                if delay:
                    time.sleep(delay)
                fault = self._fault(write=True)
                if fault in ("error", "rate", "drop"):
                    return
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                if status != 200:
                    self._answer(status, {"error": f"scripted {status}"})
                    return
                try:
                    receiver.verifier.verify(body, dict(self.headers))
                except Exception:
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self._answer(401, {"error": "bad signature"})
                    return
                webhook_id = self.headers["webhook-id"]
                with receiver.lock:
                    receiver.deliveries[webhook_id] += 1
                    if webhook_id not in receiver.stored:  # dedupe on webhook-id
                        post_id = f"post-{len(receiver.stored) + 1}"
                        receiver.stored[webhook_id] = {
                            "post_id": post_id, "url": f"http://cms.test/{post_id}",
                            "payload": json.loads(body),
                        }
                    stored = receiver.stored[webhook_id]
                if fault == "lost":  # stored, and the answer never arrives
                    self._drop()
                    return
                self._answer(200, {"id": stored["post_id"], "url": stored["url"]})

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_port}/hook"

    @property
    def lookup_url(self) -> str:
        return f"http://{self.host}:{self.server.server_port}/lookup"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
