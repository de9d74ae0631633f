"""Telegram notifications: Bot API ``sendMessage`` over one keep-alive HTTP connection.

The API base URL is a setting (``PUBLISHER_TELEGRAM_API_URL``: a self-hosted
``telegram-bot-api`` server, or a test server on loopback); the client is the standard
library's :mod:`http.client`, because exactly-once needs control over the request's last byte.

Exactly once
------------
Like the SMTP sender's withheld terminator: the request line, the headers and every byte of
the JSON body but the last go out first; then ``before_commit()`` marks the row ``sent`` in
its own short transaction; only then is the last byte written. A server does not act on a
request whose body is incomplete (``Content-Length``), so a crash or a refused mark-sent before
that byte leaves the message unsent (the row is claimed again), and after it the row already
says ``sent``. The narrow window of a hard crash between the commit and that one-byte write
loses the message, as with SMTP.

Errors are the channels' typed errors: 429 with ``retry_after`` is :class:`RateLimited`;
401/404 (a wrong token) is :class:`AuthError`; 403 (bot blocked or removed from the group) and
400 (chat not found) are :class:`PermanentError`, in words a person can act on; 5xx and
connection failures are transient. The token is part of the URL path and never appears in an
error message or a log line.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import urlsplit

from ..channels.base import AuthError, PermanentError, RateLimited, TransientError
from ..config import Settings
from .email import ConnectFailed, Outgoing, absolute_link

#: Telegram's limit on a message's text (after entity parsing).
MAX_TEXT = 4096

TOKEN_HINT = ("Telegram menolak token bot: periksa PUBLISHER_TELEGRAM_BOT_TOKEN "  # noqa: S105
              "(Telegram refused the bot token)")


def message_html(settings: Settings, n: Outgoing) -> str:
    """The message in Telegram's HTML mode: subject in bold, every value escaped."""
    url = absolute_link(settings, n.link)
    link = f'\n\n<a href="{escape(url)}">Buka / Open</a>' if url else ""
    head = f"<b>{escape(n.subject)}</b>\n\n"
    room = MAX_TEXT - len(head) - len(link)
    body = escape(n.body_text.rstrip())
    if len(body) > room:  # cut on a character, never inside an entity such as &amp;
        body = body[:room - 1]
        amp = body.rfind("&")
        if amp != -1 and ";" not in body[amp:]:
            body = body[:amp]
        body += "…"
    return head + body + link


def _describe(code: int, description: str) -> str:
    return f"Telegram menjawab {code}: {description[:300]}"


def error_for(status: int, payload: dict[str, Any]) -> Exception:
    """The typed error for a Bot API answer that is not ``ok``."""
    code = int(payload.get("error_code") or status)
    description = str(payload.get("description") or "")
    lowered = description.lower()
    if code == 429:
        retry = (payload.get("parameters") or {}).get("retry_after")
        return RateLimited(_describe(code, description),
                           retry_after=float(retry) if isinstance(retry, int | float) else None)
    if code in (401, 404):
        return AuthError(TOKEN_HINT, detail=f"http {code}")
    if code == 403:
        return PermanentError(
            "Bot diblokir atau dikeluarkan dari chat: hubungkan ulang Telegram di Pengaturan "
            f"notifikasi ({_describe(code, description)})", detail="http 403")
    if code == 400 and "chat not found" in lowered:
        return PermanentError(
            "Chat Telegram tidak ditemukan: hubungkan ulang Telegram di Pengaturan notifikasi "
            f"({_describe(code, description)})", detail="http 400")
    if 400 <= code < 500:
        return PermanentError(_describe(code, description), detail=f"http {code}")
    return TransientError(_describe(code, description), detail=f"http {code}")


class TelegramSender:
    """One HTTP connection to the Bot API, reused across a batch, opened again after a
    failure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        parts = urlsplit(settings.telegram_api_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> TelegramSender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (quietly)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self.settings.telegram_timeout
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout,
                    context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        return self._conn

    def _path(self, method: str) -> str:
        return f"{self._prefix}/bot{self.settings.telegram_bot_token}/{method}"

    def call(self, method: str, params: dict[str, Any],
             before_commit: Callable[[], None] | None = None) -> Any:
        """POST ``params`` as JSON to ``method``; returns the answer's ``result``. With
        ``before_commit``, it runs before the body's last byte (see the module docstring)."""
        body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
        conn = self._connection()
        try:
            conn.putrequest("POST", self._path(method), skip_accept_encoding=True)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body[:-1])
        except OSError as exc:
            self.close()
            raise ConnectFailed(f"Server Telegram {self._host}:{self._port} tidak dapat "
                                f"dihubungi: {type(exc).__name__}") from None
        if before_commit is not None:
            try:
                before_commit()
            except BaseException:
                self.close()  # the body stays incomplete: the server never acts on it
                raise
        try:
            conn.send(body[-1:])
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransientError(f"Koneksi ke Telegram terputus setelah pesan dikirim: "
                                 f"{type(exc).__name__}", uncertain=True) from None
        if response.will_close:
            self.close()
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if response.status == 200 and payload.get("ok") is True:
            return payload.get("result")
        if not payload and response.status in (401, 404):  # e.g. a proxy in front
            raise AuthError(TOKEN_HINT, detail=f"http {response.status}")
        if not payload:
            raise TransientError(f"Telegram menjawab {response.status} tanpa JSON",
                                 detail=f"http {response.status}")
        raise error_for(response.status, payload)

    def deliver(self, n: Outgoing, before_commit: Callable[[], None]) -> None:
        """Send notification ``n`` to chat ``n.to``."""
        self.call("sendMessage", {
            "chat_id": n.to, "text": message_html(self.settings, n), "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }, before_commit)
