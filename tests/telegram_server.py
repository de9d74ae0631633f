"""A loopback server speaking the Telegram Bot API's ``sendMessage``, ``getUpdates`` and
``getMe``, with its real answer and error shapes (429 with ``retry_after``, 403 bot blocked,
400 chat not found, 404 for a wrong token)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from .loopback_http import LoopbackServer, send

TOKEN = "123456789:AAHtestTokenForLoopbackOnly_abcdefgh"


class BotApi:
    """``with BotApi() as bot: bot.url`` is the API base; ``bot.sent`` the messages taken."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self.sent: list[dict[str, Any]] = []
        #: Answers to give to the next sendMessage calls: (status, payload).
        self.errors: list[tuple[int, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        #: Seconds each sendMessage takes (widens a worker's batch in the kill test).
        self.delay = 0.0
        #: The message (1-based) after whose delivery the answer is held back for
        #: :attr:`hold_seconds`, with :attr:`holding` set: the sender is waiting for it.
        self.hold_at: int | None = None
        self.hold_seconds = 5.0
        self.holding = threading.Event()
        self.lock = threading.Lock()
        self._message_id = 0
        self.server.route(f"/bot{TOKEN}/sendMessage", self._send_message)
        self.server.route(f"/bot{TOKEN}/getUpdates", self._get_updates)
        self.server.route(f"/bot{TOKEN}/getMe", self._get_me)

    def refuse_token(self, token: str) -> None:
        """Answer every method of ``token`` as Telegram does for a revoked or wrong token."""
        def unauthorized(handler: BaseHTTPRequestHandler) -> None:
            self._answer(handler, 401, {"ok": False, "error_code": 401,
                                        "description": "Unauthorized"})
        for method in ("sendMessage", "getUpdates", "getMe"):
            self.server.route(f"/bot{token}/{method}", unauthorized)

    @property
    def url(self) -> str:
        return self.server.url("").rstrip("/")

    def __enter__(self) -> BotApi:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        send(handler, status, json.dumps(payload).encode(), "application/json")

    def _params(self) -> dict[str, Any]:
        body = self.server.requests[-1]["body"]
        return json.loads(body or b"{}")

    def _get_me(self, handler: BaseHTTPRequestHandler) -> None:
        self._answer(handler, 200, {"ok": True, "result": {
            "id": 123456789, "is_bot": True, "first_name": "PPID Sukamaju",
            "username": "ppid_sukamaju_bot", "can_join_groups": True}})

    def _send_message(self, handler: BaseHTTPRequestHandler) -> None:
        params = self._params()
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if self.errors:
                status, payload = self.errors.pop(0)
                self._answer(handler, status, payload)
                return
            if not params.get("chat_id") or not params.get("text"):
                self._answer(handler, 400, {"ok": False, "error_code": 400,
                                            "description": "Bad Request: message text is empty"})
                return
            self._message_id += 1
            message_id = self._message_id
            self.sent.append(params)
            hold = self.hold_at == len(self.sent)
        if hold:  # delivered, and the sender is left waiting for the answer
            self.holding.set()
            time.sleep(self.hold_seconds)
        self._answer(handler, 200, {"ok": True, "result": {
            "message_id": message_id, "chat": {"id": params["chat_id"]},
            "date": 0, "text": params["text"]}})

    def _get_updates(self, handler: BaseHTTPRequestHandler) -> None:
        offset = int(self._params().get("offset") or 0)
        with self.lock:
            result = [u for u in self.updates if u["update_id"] >= offset]
        self._answer(handler, 200, {"ok": True, "result": result})

    def message(self, chat: dict[str, Any], text: str) -> None:
        """A message someone sends to the bot (returned by the next getUpdates)."""
        with self.lock:
            update_id = 1000 + len(self.updates)
            self.updates.append({"update_id": update_id, "message": {
                "message_id": update_id, "date": 0, "chat": chat, "text": text}})


def too_many_requests(retry_after: int) -> tuple[int, dict[str, Any]]:
    return 429, {"ok": False, "error_code": 429,
                 "description": f"Too Many Requests: retry after {retry_after}",
                 "parameters": {"retry_after": retry_after}}


BLOCKED = (403, {"ok": False, "error_code": 403,
                 "description": "Forbidden: bot was blocked by the user"})
CHAT_NOT_FOUND = (400, {"ok": False, "error_code": 400,
                        "description": "Bad Request: chat not found"})
