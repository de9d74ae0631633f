"""Post captions for the Facebook and Instagram channels, within each platform's limits.

The text comes from ``posts/<kind>.txt.j2`` (an OPD may override it, e.g. with its own footer and
hashtags). When the rendered caption breaks a limit, the item's text (``body``) is cut at a word
boundary and the template says where the full text is (``truncated``); if an override does not
use ``body``, the whole caption is cut and ends with a pointer to the item's page on the site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .channels.base import RenderContext

#: Standard KIP footer (UU 14/2008); an OPD overrides it by overriding the template.
KIP_FOOTER = (
    "Informasi publik ini disampaikan sesuai UU No. 14 Tahun 2008 tentang Keterbukaan "
    "Informasi Publik. Permohonan informasi: hubungi PPID kami."
)
DEFAULT_HASHTAGS = ("#KeterbukaanInformasi", "#InformasiPublik")

_HASHTAG = re.compile(r"(?<![\w#&/])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]+")
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Limits:
    """What a caption may contain at most."""

    chars: int
    hashtags: int = 10**6
    mentions: int = 10**6


INSTAGRAM_LIMITS = Limits(chars=2200, hashtags=30, mentions=20)
FACEBOOK_LIMITS = Limits(chars=63_206)


def hashtags(text: str) -> list[str]:
    """Hashtags in ``text``, in order."""
    return _HASHTAG.findall(text)


def mentions(text: str) -> list[str]:
    """@-mentions in ``text`` (not e-mail addresses), in order."""
    return _MENTION.findall(text)


def fits(text: str, limits: Limits) -> bool:
    """Whether ``text`` is within every limit."""
    return (
        len(text) <= limits.chars
        and len(hashtags(text)) <= limits.hashtags
        and len(mentions(text)) <= limits.mentions
    )


def _nth_start(pattern: re.Pattern[str], text: str, n: int) -> int:
    """Where the n-th (0-based) match starts, or len(text) when there are fewer."""
    for index, match in enumerate(pattern.finditer(text)):
        if index == n:
            return match.start()
    return len(text)


def cut(text: str, limits: Limits, suffix: str = _ELLIPSIS) -> str:
    """``text`` within ``limits``: cut at a word boundary before the first thing that breaks a
    limit, then ``suffix`` appended (which must itself hold no hashtag or mention)."""
    if fits(text, limits):
        return text
    end = min(
        limits.chars - len(suffix),
        _nth_start(_HASHTAG, text, max(limits.hashtags, 0)),
        _nth_start(_MENTION, text, max(limits.mentions, 0)),
    )
    if end <= 0:
        return suffix.strip() if len(suffix.strip()) <= limits.chars else ""
    head = text[:end]
    if end < len(text) and not text[end].isspace() and re.search(r"\s", head):
        head = re.split(r"\s+(?=\S*$)", head)[0]  # drop the partial word
    head = head.rstrip(" \t\n,.;:-")
    return head + suffix if head else suffix.strip()


def render_caption(
    kind: str, ctx: RenderContext, renderer: Any, limits: Limits, **extra: Any
) -> str:
    """Render ``posts/<kind>.txt.j2`` for ``ctx`` and bring it within ``limits``."""
    item = ctx.item
    full_body = (item.body_text or item.summary or "").strip()
    values: dict[str, Any] = {
        "body": full_body,
        "truncated": False,
        "kip_footer": KIP_FOOTER,
        "hashtags": " ".join(DEFAULT_HASHTAGS),
        **extra,
    }
    text = renderer.render(kind, ctx, **values)
    if fits(text, limits):
        return text
    # What the template costs without the body; the body gets the rest.
    frame = renderer.render(kind, ctx, **{**values, "body": "", "truncated": True})
    budget = Limits(
        chars=limits.chars - len(frame),
        hashtags=limits.hashtags - len(hashtags(frame)),
        mentions=limits.mentions - len(mentions(frame)),
    )
    if budget.chars > len(_ELLIPSIS) and budget.hashtags >= 0 and budget.mentions >= 0:
        text = renderer.render(kind, ctx, **{**values, "body": cut(full_body, budget),
                                             "truncated": True})
        if fits(text, limits):
            return text
    # An override that ignores ``body`` (or a frame alone over the limit): cut the whole text.
    pointer = f"{_ELLIPSIS}\n\nSelengkapnya: {item.site_url.split('#', 1)[0]}"
    return cut(text, limits, suffix=pointer)
