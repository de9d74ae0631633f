"""Helpers shared by the Facebook and Instagram channels: images, public URLs, matching."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..fetch import FetchConnectionError, FetchTimeout, HTTPStatusError, fetch
from ..media_variants import card_media, local_variant, variant_url
from ..netguard import OutboundError
from .base import ConfigError, MediaView, RenderContext, TransientError

#: Instagram's size cap for an image.
MAX_IMAGE_BYTES = 8 * 1024 * 1024
_LOCAL_SUFFIXES = (".local", ".localhost", ".lan", ".internal", ".home", ".intranet", ".corp")


def instagram_images(ctx: RenderContext, settings: Any) -> list[MediaView]:
    """The item's images at their Instagram-variant URLs, or a generated card when it has none
    (Instagram posts need an image)."""
    if not ctx.media:
        return [card_media(ctx, settings)]
    return [
        replace(m, public_url=variant_url(m.public_url, "instagram"), mime_type="image/jpeg",
                width=None, height=None)
        for m in ctx.media
    ]


def facebook_upload(image: MediaView) -> tuple[str, bytes] | None:
    """``(file name, JPEG bytes)`` of the Facebook variant of a stored image, or None when the
    file is not on this machine (then Meta fetches the variant URL)."""
    data = local_variant(image, "facebook")
    return None if data is None else (f"media-{image.id}.jpg", data)


def check_graph_id(config: dict[str, Any], name: str, what: str) -> None:
    """Raise ConfigError unless ``config[name]`` is a Graph id (digits)."""
    value = str(config.get(name) or "").strip()
    if not value.isdigit():
        raise ConfigError(name, f"harus berupa ID {what} (angka), bukan {value!r}")
    config[name] = value


def normalise_text(text: str) -> str:
    """Text as compared when reconciling: NFC, whitespace runs collapsed, trimmed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def parse_graph_time(value: Any) -> datetime | None:
    """Graph's ``2026-11-27T09:30:00+0000`` as an aware datetime (None if absent or odd)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def public_base_url_problem(url: str, settings: Any | None = None) -> str | None:
    """Why Meta's servers could not fetch images under ``url``, in Bahasa Indonesia; None if
    it looks public.

    Judged from the URL alone (no DNS: a split-horizon name may resolve to a private address
    inside the office yet be public outside). ``settings.allow_loopback`` (tests, demos) lets
    loopback and plain http pass.
    """
    allow_loopback = bool(getattr(settings, "allow_loopback", False))
    fix = (
        " Atur PUBLISHER_PUBLIC_BASE_URL ke alamat https yang dapat dibuka dari internet "
        "(mis. https://publikasi.kabupaten.go.id), karena Instagram mengambil gambar dari sana."
    )
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return f"PUBLISHER_PUBLIC_BASE_URL {url!r} bukan URL yang sah." + fix
    if parts.scheme not in ("http", "https") or not host:
        return f"PUBLISHER_PUBLIC_BASE_URL {url!r} bukan URL http(s) dengan nama host." + fix
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if address.is_loopback and allow_loopback:
            return None
        if not address.is_global:
            return (
                f"PUBLISHER_PUBLIC_BASE_URL memakai alamat {host} yang bukan alamat publik."
                + fix
            )
    elif host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        return (
            f"PUBLISHER_PUBLIC_BASE_URL memakai nama host {host!r} yang hanya dikenal di "
            "jaringan lokal." + fix
        )
    if parts.scheme != "https" and not allow_loopback:
        return "PUBLISHER_PUBLIC_BASE_URL memakai http, bukan https." + fix
    return None


def image_url_problem(url: str, settings: Any) -> str | None:
    """Fetch ``url`` as Meta will: it must answer 200 with a JPEG of at most 8 MB.

    Returns the problem in Bahasa Indonesia, or None. Goes through the SSRF guard; a public
    name that resolves to a private address inside the office needs that network listed in
    PUBLISHER_ALLOWED_NETWORKS. A server that is only slow or busy right now (a timeout, a
    refused connection, a 5xx) raises TransientError: try again later, it is no verdict.
    """
    try:
        result = fetch(url, settings, max_bytes=MAX_IMAGE_BYTES, accept="image/jpeg")
    except (FetchTimeout, FetchConnectionError) as exc:
        raise TransientError(f"Gambar di {url} belum dapat diambil: {exc.message}") from None
    except HTTPStatusError as exc:
        if exc.status >= 500:
            raise TransientError(f"Gambar di {url} belum dapat diambil: {exc.message}") from None
        return f"Gambar di {url} tidak dapat diambil: {exc.message}"
    except OutboundError as exc:
        return f"Gambar di {url} tidak dapat diambil: {exc.message}"
    if result.content_type != "image/jpeg":
        return (
            f"Gambar di {url} dikirim sebagai {result.content_type or 'tanpa Content-Type'}, "
            "bukan image/jpeg."
        )
    if not result.content.startswith(b"\xff\xd8\xff"):
        return f"Isi {url} bukan berkas JPEG."
    return None
