"""RSS 2.0 and Atom feeds per OPD and for the whole Pemda (feedgen), with conditional GET.

Each entry's id/GUID is the item's stable URL, so readers never see an item twice.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, request

from .. import checkpoints
from ..app import db_session, get_runtime
from ..register import CATEGORY_LABELS, pemda_name
from ..sanitize import clean_html, printable
from . import queries
from .common import install
from .feed_checkpoint import NAMESPACE, CheckpointExtension

bp = Blueprint("site_feeds", __name__)
install(bp)

FEED_SIZE = 50
MAX_AGE = 300  # seconds a reader or proxy may reuse a feed
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def build_feed(kind: str, title: str, page_url: str, self_url: str,
               cards: Sequence[queries.Card], description: str,
               empty_since: datetime) -> FeedGenerator:
    """A ``kind`` ("rss" or "atom") feed of ``cards`` (newest first); ``empty_since`` dates a
    feed with no entries."""
    base = get_runtime().settings.public_base_url
    # RSS readers render <description> as HTML: escape it so text stays text ("<b>" in a
    # summary shows as "<b>"). Atom summaries are type="text" already. Every text passes
    # printable(): a control character in a row stored before the text policy would make
    # the XML unwritable (and the feed a 500).
    def text(value: str) -> str:
        value = printable(value)
        return html.escape(value) if kind == "rss" else value

    fg = FeedGenerator()
    fg.id(page_url)
    fg.title(printable(title))
    fg.subtitle(text(description))
    fg.language("id")
    fg.link(href=page_url, rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.generator("OPD Publisher")
    # A fixed build date (not "now"), so the same content gives the same bytes and ETag.
    fg.updated(_newest(cards) or empty_since)
    for card in cards:
        url = base + card.path
        entry = fg.add_entry(order="append")
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(printable(card.title))
        entry.link(href=url, rel="alternate")
        entry.summary(text(card.excerpt))
        entry.content(printable(clean_html(card.body_html)), type="html")
        entry.published(card.published_at)
        entry.updated(max(card.published_at, card.updated_at))
        entry.author(name=printable(card.opd_name))
        entry.category(term=card.category, label=CATEGORY_LABELS.get(card.category, card.category))
    return fg


def _respond(fg: FeedGenerator, kind: str, cards: Sequence[queries.Card]) -> Response:
    body = fg.atom_str(pretty=True) if kind == "atom" else fg.rss_str(pretty=True)
    mime = "application/atom+xml" if kind == "atom" else "application/rss+xml"
    response = Response(body, mimetype=mime)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.add_etag()
    response.last_modified = _newest(cards) or fg.updated()
    response.make_conditional(request)
    return response


def _newest(cards: Sequence[queries.Card]) -> datetime | None:
    return max((max(c.published_at, c.updated_at) for c in cards), default=None)


def _opd_feed(opd_slug: str, kind: str) -> Response:
    session = db_session()
    opd = queries.opd_by_slug(session, opd_slug)
    if opd is None:
        abort(404)
    base = get_runtime().settings.public_base_url
    cards = queries.cards(session, [opd.id], limit=FEED_SIZE)
    fg = build_feed(kind, opd.name, f"{base}/o/{opd.slug}/", f"{base}/o/{opd.slug}/feed.{kind}",
                    cards, f"Informasi publik {opd.name}", opd.created_at)
    return _respond(fg, kind, cards)


def _pemda_feed(kind: str) -> Response:
    session = db_session()
    base = get_runtime().settings.public_base_url
    cards = queries.cards(session, None, limit=FEED_SIZE)
    name = pemda_name(session)
    fg = build_feed(kind, f"Informasi publik {name}", f"{base}/", f"{base}/feed.{kind}", cards,
                    f"Informasi publik terbaru dari seluruh OPD {name}", EPOCH)
    fg.register_extension(NAMESPACE, CheckpointExtension)
    getattr(fg, NAMESPACE).checkpoint(checkpoints.latest(get_runtime().settings),
                                      f"{base}/audit/checkpoints")
    return _respond(fg, kind, cards)


@bp.get("/o/<opd_slug>/feed.rss")
def opd_rss(opd_slug: str) -> Response:
    """RSS 2.0 feed of an OPD."""
    return _opd_feed(opd_slug, "rss")


@bp.get("/o/<opd_slug>/feed.atom")
def opd_atom(opd_slug: str) -> Response:
    """Atom feed of an OPD."""
    return _opd_feed(opd_slug, "atom")


@bp.get("/feed.rss")
def pemda_rss() -> Response:
    """RSS 2.0 feed of every OPD."""
    return _pemda_feed("rss")


@bp.get("/feed.atom")
def pemda_atom() -> Response:
    """Atom feed of every OPD."""
    return _pemda_feed("atom")
