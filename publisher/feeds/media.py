"""The picture of a feed entry: from its enclosure / media:content / an ``<img>`` in it, else
the article's ``og:image``; fetched through the SSRF guard, then cleaned and stored by
:func:`publisher.services.media.save_image` (content-addressed)."""

from __future__ import annotations

import io
import logging
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests
from PIL import Image, UnidentifiedImageError

from ..fetch import fetch
from ..images import ImageError
from ..netguard import OutboundError
from ..services.media import StoredImage, save_image
from .parse import FeedEntry, ImageRef

log = logging.getLogger(__name__)

ARTICLE_MAX_BYTES = 2 * 1024 * 1024
#: A picture narrower or lower than this is a counter, a spacer or an icon, never the
#: article's photo (tracking pixels that no host list names are caught here).
MIN_PICTURE_SIDE = 32

__all__ = ["StoredImage", "entry_image", "og_image"]


def _too_small(content: bytes) -> bool:
    """Whether the image's header says it is a pixel, a spacer or an icon (nothing is
    decoded; an unreadable file is left to the image cleaner to name)."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return min(image.size) < MIN_PICTURE_SIDE
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return False


class _OgImage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.url = ""
        self.alt = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = dict(attrs)
        name = (values.get("property") or values.get("name") or "").lower()
        content = (values.get("content") or "").strip()
        if name in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
            self.url = self.url or content
        elif name in ("og:image:alt", "twitter:image:alt"):
            self.alt = self.alt or content


def og_image(html: bytes, page_url: str) -> ImageRef | None:
    """The ``og:image`` (or ``twitter:image``) of an HTML page, as an absolute URL."""
    finder = _OgImage()
    finder.feed(html.decode("utf-8", "replace"))
    if not finder.url:
        return None
    return ImageRef(urljoin(page_url, finder.url), finder.alt, "og:image")


def entry_image(entry: FeedEntry, settings: Any, session: requests.Session) -> StoredImage | None:
    """Find, fetch, clean and store the entry's picture; None when there is none usable.

    A missing or broken picture never stops the entry (it is posted without one); the reason
    is logged.
    """
    refs = list(entry.images)
    if not refs and entry.link:
        try:
            page = fetch(entry.link, settings, max_bytes=ARTICLE_MAX_BYTES,
                         accept="text/html", session=session)
            found = og_image(page.content, page.url) if "html" in page.content_type else None
            if found is not None:
                refs.append(found)
        except OutboundError as exc:
            log.info("feed entry %s: article page not fetched: %s", entry.link, exc.message)
    for ref in refs:
        try:
            got = fetch(ref.url, settings, max_bytes=int(settings.max_upload_bytes),
                        accept="image/*", session=session)
            if _too_small(got.content):
                log.info("feed image %s skipped: smaller than %d px (a tracking pixel or "
                         "an icon)", ref.url, MIN_PICTURE_SIDE)
                continue
            alt = (ref.alt or entry.title or "Gambar")[:1000]
            return save_image(settings, got.content, alt_text=alt, source_url=ref.url)
        except OutboundError as exc:
            log.info("feed image %s not fetched: %s", ref.url, exc.message)
            continue
        except ImageError as exc:
            log.info("feed image %s not usable: %s", ref.url, exc.message)
            continue
    return None
