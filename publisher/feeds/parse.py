"""Feed bytes → entries (feedparser), with what the rules need: a key and a content hash.

Nothing here touches the network: feedparser gets bytes we fetched through the guard.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import feedparser

from ..sanitize import html_to_text
from ..services import text as text_policy
from ..services.text import scrub

#: feedparser "bozo" reasons that do not make a feed untrustworthy (a wrong charset label).
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_SPACE = re.compile(r"\s+")


class FeedParseError(ValueError):
    """The bytes are not a usable RSS/Atom feed; ``message`` says why (Bahasa Indonesia)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageRef:
    """An image named by a feed entry (enclosure, media:content, or an ``<img>`` in it)."""

    url: str
    alt: str = ""
    origin: str = "enclosure"


@dataclass(frozen=True)
class FeedEntry:
    """One entry, reduced to what cross-posting uses."""

    key: str
    content_hash: str
    title: str
    link: str
    summary_html: str
    content_html: str
    published: datetime | None
    images: tuple[ImageRef, ...] = field(default_factory=tuple)
    position: int = 0

    @property
    def text(self) -> str:
        """Plain text of the summary (or the content when there is no summary)."""
        return html_to_text(self.summary_html or self.content_html)


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title, its link and its entries in feed order."""

    title: str
    link: str
    entries: tuple[FeedEntry, ...]
    version: str


def content_hash(title: str, body_html: str) -> str:
    """Hash of what a reader sees (title + text), not of dates or links, so a re-dated or
    re-linked entry keeps its hash."""
    norm = [_SPACE.sub(" ", title).strip(), _SPACE.sub(" ", html_to_text(body_html)).strip()]
    return hashlib.sha256(json.dumps(norm, ensure_ascii=False).encode()).hexdigest()


def _when(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed"):
        value = entry.get(name)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


#: Pictures of an entry's body tried in turn (the first may be a counter no list names).
MAX_CONTENT_IMAGES = 3


class _ImgFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[ImageRef] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and len(self.found) < MAX_CONTENT_IMAGES:
            values = dict(attrs)
            src = (values.get("src") or "").strip()
            if src.startswith(("http://", "https://")) and not is_tracker(
                    src, values.get("width") or "", values.get("height") or ""):
                self.found.append(ImageRef(src, (values.get("alt") or "").strip(), "content"))


#: Hosts that serve tracking pixels (counters, analytics), never a picture of the article.
TRACKER_HOSTS = frozenset({
    "pixel.wp.com", "stats.wordpress.com", "feeds.feedburner.com", "feeds.feedblitz.com",
    "www.google-analytics.com", "google-analytics.com", "www.facebook.com", "facebook.com",
    "pixel.quantserve.com", "b.scorecardresearch.com", "sb.scorecardresearch.com",
    "mc.yandex.ru", "counter.yadro.ru", "pixel.mathtag.com", "ad.doubleclick.net",
    "stats.g.doubleclick.net", "certify.alexametrics.com", "pubads.g.doubleclick.net",
})
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""\b(href|src|width|height)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_SAFE_SCHEMES = ("http", "https", "mailto")


def _attrs(tag: str) -> dict[str, str]:
    return {name.lower(): html.unescape(value.strip("\"'")).strip()
            for name, value in _ATTR.findall(tag)}


def is_tracker(url: str, width: str = "", height: str = "") -> bool:
    """A tracking pixel: 0 or 1 pixel wide or high, or served by a known counter host."""
    if width in ("0", "1") or height in ("0", "1"):
        return True
    host = (urlsplit(url).hostname or "").lower()
    return host in TRACKER_HOSTS or url.lower().startswith("http://feeds.feedburner.com/~r/")


def _bait_link(match: re.Match[str]) -> str:
    """A link whose target was a script (``javascript:``, ``vbscript:``, ``data:``) goes
    with its text: the words of a bait link never reach a caption."""
    href = _attrs(match.group(1)).get("href")
    if href is None:
        return match.group(0)  # an anchor without a link: its text is just text
    target = "".join(ch for ch in href if ch.isprintable() and not ch.isspace()).lower()
    scheme = target.split(":", 1)[0] if ":" in target.split("/", 1)[0] else ""
    if target == "" or (scheme and scheme not in _SAFE_SCHEMES):
        return ""  # the sanitiser empties a script link's href: both go
    return match.group(0)


def _no_pixel(match: re.Match[str]) -> str:
    attrs = _attrs(match.group(0))
    return "" if is_tracker(attrs.get("src", ""), attrs.get("width", ""),
                            attrs.get("height", "")) else match.group(0)


def strip_bait(body: str) -> str:
    """``body`` without tracking pixels and without links to scripts (and their words)."""
    return _IMG.sub(_no_pixel, _ANCHOR.sub(_bait_link, body)) if body else body


def _images(entry: Any, html: str) -> tuple[ImageRef, ...]:
    refs: list[ImageRef] = []
    for enc in entry.get("enclosures") or []:
        href = enc.get("href") or enc.get("url") or ""
        if href and str(enc.get("type", "")).startswith("image/") and not is_tracker(href):
            refs.append(ImageRef(href, "", "enclosure"))
    for media in (entry.get("media_content") or []) + (entry.get("media_thumbnail") or []):
        url = media.get("url") or ""
        medium = str(media.get("medium") or "")
        mtype = str(media.get("type") or "")
        if url and (medium == "image" or mtype.startswith("image/") or not (medium or mtype)) \
                and not is_tracker(url, str(media.get("width") or ""),
                                   str(media.get("height") or "")):
            refs.append(ImageRef(url, str(entry.get("media_description") or ""), "media"))
    finder = _ImgFinder()
    finder.feed(html)
    refs.extend(finder.found)
    return tuple(refs)


def parse_feed(data: bytes, *, url: str = "", content_type: str = "") -> ParsedFeed:
    """Parse RSS/Atom bytes; raise FeedParseError if they are not a well-formed feed."""
    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True,
                              resolve_relative_uris=True)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        reason = f": {problem}" if problem else ""
        raise FeedParseError(f"Isi alamat ini bukan feed RSS/Atom (not an RSS/Atom feed){reason}")
    if parsed.get("bozo") and not isinstance(problem, _BENIGN):
        raise FeedParseError(
            f"Feed rusak, tidak dapat dibaca dengan aman (malformed feed): {problem}"
        )
    entries: list[FeedEntry] = []
    for position, raw in enumerate(parsed.entries):
        # A feed's text is scrubbed, not refused: normalised (so NFC and NFD spellings of one
        # title are one entry), without control characters or broken surrogates.
        title = text_policy.line(scrub(raw.get("title")), "title")
        content = ""
        if raw.get("content"):
            content = strip_bait(scrub(raw.content[0].get("value")))
        summary = strip_bait(scrub(raw.get("summary")))
        if summary == content:
            summary = ""
        body = content or summary
        chash = content_hash(title, body)
        link = str(raw.get("link") or "").strip()
        key = str(raw.get("id") or "").strip() or link or f"hash:{chash}"
        entries.append(FeedEntry(
            key=key[:2000], content_hash=chash, title=title, link=link, summary_html=summary,
            content_html=content, published=_when(raw), images=_images(raw, body),
            position=position,
        ))
    feed = parsed.feed
    return ParsedFeed(title=str(feed.get("title") or ""), link=str(feed.get("link") or ""),
                      entries=tuple(entries), version=str(parsed.get("version")))
