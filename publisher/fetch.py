"""Fetch a URL a user gave us (a feed, an article, an image) safely.

Every connection passes the SSRF guard (:mod:`publisher.netguard`); redirects are followed by
hand, a limited number of times, each hop checked again; the body is streamed and cut at
``max_bytes`` (a response that never ends fails with a clear error); the whole fetch has a
deadline; conditional GET (ETag / Last-Modified) turns an unchanged resource into a 304 with
no body, with validators only from a resource that has not changed for a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import requests

from .netguard import OutboundError, check_url, safe_session

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
USER_AGENT = "OPD-Publisher/0.1 (+https://github.com/opd-publisher)"


class FetchError(OutboundError):
    """A fetch failed for a reason other than the address policy."""

    code = "fetch"


class FetchTimeout(FetchError):
    """The server did not answer (or finish answering) in time."""

    code = "timeout"


class FetchConnectionError(FetchError):
    """The connection could not be made or broke off."""

    code = "connection"


class TooLarge(FetchError):
    """The body is larger than the size cap (or never ends)."""

    code = "too_large"


class TooManyRedirects(FetchError):
    """More redirects than allowed, or a redirect without a usable Location."""

    code = "redirects"


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    code = "http_status"

    def __init__(self, message: str, *, url: str = "", status: int = 0) -> None:
        super().__init__(message, url=url)
        self.status = status


@dataclass
class FetchResult:
    """What a fetch returned. ``not_modified`` means 304: ``content`` is empty."""

    url: str
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    redirects: int = 0

    @property
    def not_modified(self) -> bool:
        """True on a 304 answer to a conditional GET."""
        return self.status == 304

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


#: RFC 9110 §8.8.2.2: a client may take a Last-Modified as strong only when it is at least
#: 60 seconds before the answer's Date.
SETTLED_AFTER = timedelta(seconds=60)


def settled(last_modified: str | None, date: str | None) -> bool:
    """Whether validators carrying ``last_modified`` can be trusted for a conditional GET:
    true without a Last-Modified, false when it is unreadable or less than a minute before the
    answer's ``date`` (or now, when the server sent no Date)."""
    if not last_modified:
        return True
    modified = _http_date(last_modified)
    if modified is None:
        return False
    answered = _http_date(date) if date else None
    return (answered or datetime.now(UTC)) - modified >= SETTLED_AFTER


def _http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _read_capped(response: requests.Response, max_bytes: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(
            f"Isi terlalu besar: {int(declared)} byte, batas {max_bytes} byte "
            f"(response larger than the size cap)",
            url=url,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(
                f"Isi melebihi batas {max_bytes} byte dan terus berlanjut; pengambilan dihentikan "
                "(response exceeded the size cap or never ends)",
                url=url,
            )
        if time.monotonic() > deadline:
            raise FetchTimeout(
                "Server terlalu lama mengirim isi; pengambilan dihentikan "
                "(response took longer than the total timeout)",
                url=url,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(
    url: str,
    settings: Any,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    timeout: float | None = None,
    accept: str = "*/*",
    session: requests.Session | None = None,
) -> FetchResult:
    """GET ``url`` through the SSRF guard; return a FetchResult (status 200-299 or 304).

    ``timeout`` (default ``settings.http_timeout``) bounds connecting, each read, and the
    whole fetch. Raises a subclass of OutboundError naming the problem in Bahasa Indonesia.
    Pass a ``session`` from :func:`publisher.netguard.safe_session` to reuse connections.
    """
    timeout = float(timeout if timeout is not None else getattr(settings, "http_timeout", 15.0))
    deadline = time.monotonic() + timeout
    own_session = session is None
    http = session or safe_session(settings)
    headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    try:
        for hop in range(max_redirects + 1):
            check_url(current, settings)  # a clear error before connecting; re-checked on connect
            remaining = max(0.5, deadline - time.monotonic())
            try:
                response = http.get(current, headers=headers, stream=True,
                                    allow_redirects=False, timeout=(min(remaining, timeout),
                                                                    min(remaining, timeout)))
            except requests.Timeout as exc:
                raise FetchTimeout(
                    f"Server tidak menjawab dalam {timeout:g} detik (timed out)", url=current
                ) from exc
            except requests.ConnectionError as exc:
                raise FetchConnectionError(
                    f"Tidak dapat terhubung ke server (connection failed): {_short(exc)}",
                    url=current,
                ) from exc
            except requests.RequestException as exc:
                raise FetchError(f"Permintaan gagal (request failed): {_short(exc)}",
                                 url=current) from exc
            with response:
                if response.status_code in REDIRECT_CODES:
                    location = response.headers.get("Location")
                    if not location:
                        raise TooManyRedirects(
                            f"Pengalihan HTTP {response.status_code} tanpa Location "
                            "(redirect without a Location header)",
                            url=current,
                        )
                    current = urljoin(current, location)
                    continue
                result = FetchResult(
                    url=current,
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    redirects=hop,
                )
                result.etag = response.headers.get("ETag") or etag
                result.last_modified = response.headers.get("Last-Modified") or last_modified
                if response.status_code == 304:
                    return result
                if not settled(result.last_modified, response.headers.get("Date")):
                    # Validators of a resource changed within the last minute may not change
                    # again when it changes within the same second (WordPress derives its feed's
                    # ETag from the newest post's second): ask unconditionally next time.
                    result.etag = result.last_modified = None
                if response.status_code >= 400 or response.status_code < 200:
                    status_line = f"{response.status_code} {response.reason or ''}".strip()
                    raise HTTPStatusError(
                        f"Server menjawab HTTP {status_line} (the server answered with an error)",
                        url=current,
                        status=response.status_code,
                    )
                try:
                    result.content = _read_capped(response, max_bytes, deadline, current)
                except requests.Timeout as exc:
                    raise FetchTimeout(
                        f"Server berhenti mengirim isi selama {timeout:g} detik (read timed out)",
                        url=current,
                    ) from exc
                except requests.RequestException as exc:
                    raise FetchConnectionError(
                        f"Sambungan terputus saat membaca isi (connection broke): {_short(exc)}",
                        url=current,
                    ) from exc
                return result
        raise TooManyRedirects(
            f"Terlalu banyak pengalihan (more than {max_redirects} redirects)", url=url
        )
    finally:
        if own_session:
            http.close()


def _short(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception, one line."""
    inner: BaseException = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        nxt = inner.__cause__ or inner.__context__
        assert nxt is not None
        inner = nxt
    text = str(inner) or type(inner).__name__
    return text.splitlines()[0][:200]
