"""Public URLs of things on the built-in OPD site (stable: they never change once given)."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 80) -> str:
    """``Jadwal Posyandu Desa Firdaus`` → ``jadwal-posyandu-desa-firdaus``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "informasi"


def item_path(opd_slug: str, item_id: int, item_slug: str) -> str:
    """Path of an item's page on the OPD site."""
    return f"/o/{opd_slug}/i/{item_id}/{item_slug}"


def item_url(base_url: str, opd_slug: str, item_id: int, item_slug: str) -> str:
    """Absolute URL of an item's page, under ``PUBLISHER_PUBLIC_BASE_URL``."""
    return base_url.rstrip("/") + item_path(opd_slug, item_id, item_slug)


def media_url(base_url: str, public_token: str) -> str:
    """Unguessable public URL of a media file."""
    return f"{base_url.rstrip('/')}/m/{public_token}"
