"""SSRF guard for every outbound request to an address a user typed (feeds, webhooks, sites).

A URL's host is resolved and *every* address it resolves to is checked against the policy:
private, loopback, link-local, multicast, reserved, unspecified, CGNAT, documentation and
IPv6 unique-local addresses are refused, including when hidden inside an IPv6 form
(v4-mapped ``::ffff:10.0.0.1``, NAT64, 6to4, Teredo). ``Settings.allow_loopback`` and
``Settings.allowed_networks`` open exceptions (tests, an intranet CMS).

The check runs inside the connection itself (:func:`safe_session`, and
:mod:`publisher.keepalive` for webhooks): the socket connects to one
of the very addresses that were checked, so a DNS answer that changes between a check and the
connect (DNS rebinding) cannot reach a refused address. Proxies from the environment are
ignored, since a proxy would make the check meaningless.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as u3connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")


class OutboundError(Exception):
    """An outbound request could not be made. ``message`` is for people (Bahasa Indonesia
    first, English gloss); ``code`` is a short machine name (``blocked``, ``bad_url``, ...)."""

    code = "outbound"

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.url = url


#: The name the channels use for any refusal or failure of the guard.
GuardError = OutboundError


class InvalidURL(OutboundError):
    """The URL is not an http(s) URL with a host."""

    code = "bad_url"


class BlockedAddress(OutboundError):
    """The host resolves to an address the policy refuses (SSRF guard)."""

    code = "blocked"

    def __init__(self, message: str, *, url: str = "", address: str = "") -> None:
        super().__init__(message, url=url)
        self.address = address


class ResolveError(OutboundError):
    """The host name does not resolve."""

    code = "dns"


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound requests may reach, built from the settings."""

    allow_loopback: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> AddressPolicy:
        """Read ``allow_loopback`` and ``allowed_networks`` (CIDR strings) from Settings."""
        return _policy(
            bool(getattr(settings, "allow_loopback", False)),
            tuple(getattr(settings, "allowed_networks", ()) or ()),
        )


@lru_cache(maxsize=64)
def _policy(allow_loopback: bool, networks: tuple[str, ...]) -> AddressPolicy:
    parsed: list[IPNetwork] = []
    for raw in networks:
        try:
            parsed.append(ipaddress.ip_network(str(raw).strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"PUBLISHER_ALLOWED_NETWORKS: {raw!r} bukan jaringan CIDR (not a CIDR network, "
                "e.g. 10.20.0.0/16)"
            ) from None
    return AddressPolicy(allow_loopback, tuple(parsed))


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (v4-mapped, v4-compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = int(ip)
    if packed >> 32 == 0 and packed > 1:  # deprecated ::a.b.c.d (IPv4-compatible)
        return ipaddress.IPv4Address(packed)
    return None


def _refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (None when it is)."""
    if ip.is_unspecified:
        return "alamat tak tertentu (unspecified)"
    if ip.is_loopback:
        return "alamat loopback"
    if ip.is_link_local:
        return "alamat link-local (mis. metadata cloud / e.g. cloud metadata)"
    if ip.is_multicast:
        return "alamat multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "alamat CGNAT bersama (shared address space)"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "alamat site-local IPv6"
    if ip.is_private:
        return "alamat jaringan privat (private network)"
    if ip.is_reserved:
        return "alamat cadangan (reserved)"
    if not ip.is_global:
        return "alamat bukan publik (not globally routable)"
    return None


def address_refusal(address: str | IPAddress, policy: AddressPolicy) -> str | None:
    """The reason ``address`` is refused under ``policy``, or None if it may be reached.

    Pure: no DNS, no network. An IPv6 form that carries an IPv4 address is judged by that
    IPv4 address (where the packets really go).
    """
    outer = ipaddress.ip_address(str(address).split("%", 1)[0])  # drop an IPv6 zone id
    ip: IPAddress = outer
    if isinstance(outer, ipaddress.IPv6Address):
        ip = _embedded_v4(outer) or outer
    if any(ip in net for net in policy.allowed_networks if net.version == ip.version):
        return None
    if policy.allow_loopback and ip.is_loopback:
        return None
    reason = _refusal(ip)
    if reason is not None and ip is not outer:
        reason = f"{reason} {ip}, tersembunyi dalam {outer} (hidden in an IPv6 form)"
    return reason


def check_address(address: str | IPAddress, policy: AddressPolicy, *, url: str = "") -> None:
    """Raise BlockedAddress if ``address`` may not be reached under ``policy``."""
    reason = address_refusal(address, policy)
    if reason is not None:
        raise BlockedAddress(
            f"Alamat {address} ditolak: {reason}. Tujuan ini tidak boleh dihubungi "
            "(refused by the outbound address policy; see PUBLISHER_ALLOW_LOOPBACK / "
            "PUBLISHER_ALLOWED_NETWORKS)",
            url=url,
            address=str(address),
        )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IP literals resolve to themselves, without DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def split_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL; raise InvalidURL naming the problem."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"URL tidak sah (invalid URL): {exc}", url=url) from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURL(
            f"URL harus diawali http:// atau https:// (only http and https are allowed), "
            f"bukan {scheme or 'tanpa skema'!r}",
            url=url,
        )
    if not parts.hostname:
        raise InvalidURL("URL tidak punya nama host (URL has no host)", url=url)
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def checked_addresses(
    host: str, port: int, policy: AddressPolicy, *, url: str = "", resolver: Resolver | None = None
) -> list[str]:
    """Resolve ``host`` and check every address; all must pass, else BlockedAddress."""
    try:
        addresses = (resolver or resolve)(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError(
            f"Nama host {host!r} tidak ditemukan (host name does not resolve): {exc}", url=url
        ) from None
    if not addresses:
        raise ResolveError(f"Nama host {host!r} tidak punya alamat (no address)", url=url)
    for address in addresses:
        check_address(address, policy, url=url)
    return addresses


def check_url(url: str, settings: Any, *, resolver: Resolver | None = None) -> list[str]:
    """Check that ``url`` is http(s) and that every address its host resolves to is allowed.

    Returns the checked addresses. Raises InvalidURL, ResolveError or BlockedAddress.
    Use it to validate a URL when it is saved; requests made through :func:`safe_session`
    are checked again at connect time.
    """
    _scheme, host, port = split_url(url)
    return checked_addresses(host, port, AddressPolicy.from_settings(settings), url=url,
                             resolver=resolver)


# --- the pinned connection ------------------------------------------------------------------


def never_sent(exc: requests.RequestException) -> bool:
    """True when a failed request certainly never reached the server (no connection was
    made): a write that failed so had no effect. Anything else (a reset or a timeout after
    the request went out) may have been acted on."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError | NameResolutionError | ConnectTimeoutError)
    return False


class _GuardedConnectionMixin:
    """Resolve, check every address, then connect to a checked address (never re-resolve)."""

    guard_policy: AddressPolicy
    guard_resolver: Resolver | None
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def __init__(
        self, *args: Any, guard_policy: AddressPolicy, guard_resolver: Resolver | None = None,
        **kwargs: Any,
    ) -> None:
        self.guard_policy = guard_policy
        self.guard_resolver = guard_resolver
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        host = self.host.strip("[]").rstrip(".")
        try:
            addresses = checked_addresses(
                host, self.port, self.guard_policy, resolver=self.guard_resolver
            )
        except ResolveError as exc:
            raise NameResolutionError(self.host, self, socket.gaierror(str(exc))) from exc  # type: ignore[arg-type]
        last: OSError | None = None
        for address in addresses:
            try:
                return u3connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedPoolManager(PoolManager):
    def __init__(self, policy: AddressPolicy, resolver: Resolver | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard_kw = {"guard_policy": policy, "guard_resolver": resolver}

    def _new_pool(self, scheme: str, host: str, port: int,
                  request_context: dict[str, Any] | None = None) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.ConnectionCls = (
            _GuardedHTTPSConnection if scheme == "https" else _GuardedHTTPConnection
        )
        pool.conn_kw = {**pool.conn_kw, **self._guard_kw}
        return pool


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver | None = None,
                 **kwargs: Any) -> None:
        self._guard_policy = policy
        self._guard_resolver = resolver
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _GuardedPoolManager(
            self._guard_policy, self._guard_resolver,
            num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs,
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise BlockedAddress(
            "Proxy tidak dipakai untuk permintaan keluar yang dijaga (proxies are not allowed "
            "for guarded outbound requests)"
        )


def safe_session(
    settings: Any, *, pool_maxsize: int = 10, resolver: Resolver | None = None
) -> requests.Session:
    """A requests Session whose every connection (redirect hops included) passes the guard.

    Environment proxies and .netrc are ignored. A refused address raises BlockedAddress from
    ``session.request`` before any byte is sent.
    """
    policy = AddressPolicy.from_settings(settings)
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(policy, resolver, pool_connections=pool_maxsize,
                             pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


__all__: Sequence[str] = (
    "AddressPolicy", "BlockedAddress", "GuardError", "GuardedAdapter", "InvalidURL",
    "OutboundError", "ResolveError", "address_refusal", "check_address", "check_url",
    "checked_addresses", "resolve", "safe_session", "split_url",
)

