"""Render contexts for channels, built the same way for sending and for previews."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .channels.base import ItemView, MediaView, OpdView, RenderContext
from .models import Item, Media, Opd
from .timeutil import zone_label
from .urls import item_url, media_url


def make_context(
    item: Mapping[str, Any],
    opd: Mapping[str, Any],
    media: Iterable[Mapping[str, Any]],
    publication_id: int,
    settings: Any,
) -> RenderContext:
    """A RenderContext from plain mappings (rows copied out of the session)."""
    base = settings.public_base_url
    media_dir = _media_dir(settings.instance_path)
    return RenderContext(
        publication_id=publication_id,
        item=ItemView(
            id=item["id"], opd_id=item["opd_id"], slug=item["slug"], title=item["title"],
            body_html=item["body_html"],
            summary=item["summary"], category=item["category"], link=item["link"],
            version=item["version"], content_hash=item["content_hash"],
            site_url=item_url(base, opd["slug"], item["id"], item["slug"]),
            official_unit=item["official_unit"], responsible=item["responsible"],
            made_at=item["made_at"], made_place=item["made_place"],
            info_formats=tuple(item["info_formats"] or ()), retention=item["retention"],
            created_at=item["created_at"],
        ),
        opd=OpdView(
            id=opd["id"], name=opd["name"], slug=opd["slug"], timezone=opd["timezone"],
            tz_label=zone_label(opd["timezone"]), color=opd["color"],
        ),
        media=tuple(
            MediaView(
                id=m["id"], public_url=media_url(base, m["public_token"]),
                path=str(media_dir / m["storage_key"]), mime_type=m["mime_type"],
                alt_text=m["alt_text"], width=m["width"], height=m["height"],
            )
            for m in media
        ),
        public_base_url=base,
    )


@lru_cache(maxsize=8)
def _media_dir(instance_path: Path) -> Path:
    return instance_path / "media"


_ITEM_KEYS = (
    "id", "opd_id", "slug", "title", "body_html", "summary", "category", "link", "version",
    "content_hash", "official_unit", "responsible", "made_at", "made_place", "info_formats",
    "retention", "created_at",
)
_MEDIA_KEYS = ("id", "storage_key", "mime_type", "alt_text", "width", "height", "public_token")


def context_for_item(item: Item, publication_id: int, settings: Any) -> RenderContext:
    """The context of an ORM item (for previews): same shape as the queue's."""
    opd: Opd = item.opd
    return make_context(
        {k: getattr(item, k) for k in _ITEM_KEYS},
        {"id": opd.id, "name": opd.name, "slug": opd.slug, "timezone": opd.timezone,
         "color": opd.color},
        [{k: getattr(m, k) for k in _MEDIA_KEYS} for m in _sorted_media(item.media)],
        publication_id,
        settings,
    )


def _sorted_media(media: Iterable[Media]) -> list[Media]:
    return sorted(media, key=lambda m: (m.position, m.id))
