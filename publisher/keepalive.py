"""Guarded HTTP/1.1 keep-alive requests for senders that post hundreds of times a second.

A webhook channel sends from up to ``concurrency`` queue threads at once. A shared urllib3
pool costs about 0.6 ms of interpreter time a request, and its lock is contended by every
sender thread; here each thread keeps its own :mod:`http.client` connection per host
(half the CPU, no lock), so the interpreter lock stays free for the round trips.

Every new connection passes the SSRF guard of :mod:`publisher.netguard`: the host is resolved,
every address checked, and the socket connects to one of the checked addresses (TLS still
verifies the certificate against the host name). Nothing is retried here: the queue decides.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from .netguard import AddressPolicy, Resolver, checked_addresses, split_url

#: Idle connections older than this are closed rather than reused (servers drop them anyway).
IDLE_SECONDS = 30.0
#: Most of a response body that is read; a longer answer is cut and its connection dropped.
MAX_BODY = 1 << 20


class RequestFailed(Exception):
    """The request failed. ``sent`` says whether it may have reached the server (so a write
    may have taken effect: reconcile before sending again)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class ConnectFailed(RequestFailed):
    """No connection could be made (refused, unreachable, timed out): nothing was sent."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message, sent=False)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Response:
    """A whole answer: status, headers (names lower-cased) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _guarded_socket(
    host: str, port: int, timeout: float | None, policy: AddressPolicy,
    resolver: Resolver | None,
) -> socket.socket:
    """Connect to the first reachable address of ``host`` that the guard allows (every
    address must pass); raise OutboundError or ConnectFailed."""
    addresses = checked_addresses(host.strip("[]").rstrip("."), port, policy, resolver=resolver)
    last: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout)
        except TimeoutError:
            raise ConnectFailed(f"connecting to {host}:{port} timed out", timed_out=True) from None
        except OSError as exc:
            last = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise ConnectFailed(f"cannot connect to {host}:{port}: {last}")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, timeout: float, policy: AddressPolicy,
                 resolver: Resolver | None) -> None:
        super().__init__(host, port, timeout=timeout)
        self.policy, self.resolver = policy, resolver
        self.last_used = time.monotonic()

    def connect(self) -> None:
        self.sock = _guarded_socket(self.host, self.port, self.timeout, self.policy,
                                    self.resolver)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, timeout: float, policy: AddressPolicy,
                 resolver: Resolver | None, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.policy, self.resolver, self.tls = policy, resolver, context
        self.last_used = time.monotonic()

    def connect(self) -> None:
        sock = _guarded_socket(self.host, self.port, self.timeout, self.policy, self.resolver)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


_Connection = _GuardedHTTPConnection | _GuardedHTTPSConnection


def _dropped(conn: _Connection) -> bool:
    """Whether an idle connection was closed by the server (readable while idle means EOF
    or stray bytes: either way it cannot carry another request)."""
    if conn.sock is None:
        return True
    if time.monotonic() - conn.last_used > IDLE_SECONDS:
        return True
    try:
        poller = select.poll()  # not select(): it fails on descriptors above 1023
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class KeepAliveClient:
    """Requests through guarded keep-alive connections, one per (thread, scheme, host, port).

    ``request`` raises :class:`publisher.netguard.OutboundError` when the guard refuses the
    address, :class:`ConnectFailed` when nothing was sent, and :class:`RequestFailed` with
    ``sent=True`` when the connection broke or timed out after the request went out.
    """

    def __init__(self, settings: Any, *, timeout: float | None = None,
                 resolver: Resolver | None = None, user_agent: str = "opd-publisher") -> None:
        self.policy = AddressPolicy.from_settings(settings)
        self.timeout = float(timeout if timeout is not None else settings.http_timeout)
        self.resolver = resolver
        self.user_agent = user_agent
        self._local = threading.local()
        self._tls: ssl.SSLContext | None = None

    def _connections(self) -> dict[tuple[str, str, int], _Connection]:
        conns: dict[tuple[str, str, int], _Connection] | None = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        return conns

    def _connection(self, scheme: str, host: str, port: int) -> tuple[_Connection, bool]:
        """This thread's connection to the host and whether it is a reused one."""
        conns = self._connections()
        key = (scheme, host, port)
        conn = conns.get(key)
        if conn is not None and not _dropped(conn):
            return conn, True
        if conn is not None:
            conn.close()
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            conn = _GuardedHTTPSConnection(host, port, self.timeout, self.policy, self.resolver,
                                           self._tls)
        else:
            conn = _GuardedHTTPConnection(host, port, self.timeout, self.policy, self.resolver)
        conns[key] = conn
        return conn, False

    def _forget(self, conn: _Connection) -> None:
        conn.close()
        conns = self._connections()
        for key, known in list(conns.items()):
            if known is conn:
                del conns[key]

    def request(self, method: str, url: str, *, body: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                query: Mapping[str, str] | None = None) -> Response:
        """Send one request and read the whole answer (redirects are answers, not followed)."""
        scheme, host, port = split_url(url)
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if query:
            target += ("&" if parts.query else "?") + urlencode(query)
        conn, reused = self._connection(scheme, host, port)
        all_headers = {"User-Agent": self.user_agent, **(headers or {})}
        try:
            conn.request(method, target, body=body, headers=all_headers)
        except TimeoutError:
            self._forget(conn)
            raise RequestFailed(f"sending to {host} timed out", sent=True) from None
        except (OSError, http.client.HTTPException) as exc:
            self._forget(conn)
            # A reused connection that breaks while sending: the server may have read part
            # of it. A fresh one that fails here did not get a request through.
            raise RequestFailed(f"connection to {host} broke while sending: {exc}",
                                sent=reused) from None
        except BaseException:
            self._forget(conn)  # ConnectFailed, or the guard refused the address
            raise
        try:
            answer = conn.getresponse()
            if answer.length is not None and answer.length <= MAX_BODY:
                data = answer.read()
            else:  # chunked, unknown or too long: read no more than the cap (and one byte)
                data = answer.read(MAX_BODY + 1)
        except TimeoutError:
            self._forget(conn)
            raise RequestFailed(f"{host} did not answer within {self.timeout:g} s",
                                sent=True) from None
        except (OSError, http.client.HTTPException) as exc:
            self._forget(conn)
            raise RequestFailed(f"connection to {host} broke before the answer: "
                                f"{type(exc).__name__}: {exc}", sent=True) from None
        if len(data) > MAX_BODY or answer.will_close or not answer.isclosed():
            self._forget(conn)
            data = data[:MAX_BODY]
        else:
            conn.last_used = time.monotonic()
        headers_out = {k.lower(): v for k, v in answer.getheaders()}
        return Response(status=answer.status, headers=headers_out, body=data)
