"""The issue's acceptance: an article created in the real WordPress appears, without anyone
touching it, as one Facebook post and one Instagram post on the Graph test server, in the
register, exactly once across several polls and a worker restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from publisher import audit
from publisher.channels.wordpress import WordPressChannel
from publisher.db import Base
from publisher.feeds import poll_due_feeds
from publisher.models import FeedEntrySeen, FeedSource, Item, Publication, PublicationStatus
from publisher.services import feeds as feed_service
from publisher.timeutil import utcnow

from .meta_fixtures import IG_ID, PAGE_ID
from .meta_world import World, all_published, drain_until, publications
from .test_wordpress_channel import RENDERER, SETTINGS, make_channel, make_ctx
from .wordpress_fixture import WordPressSite, wordpress  # noqa: F401

pytestmark = pytest.mark.wordpress


def _poll(w: World, worker: str) -> None:
    with w.runtime.db.write() as s:
        s.execute(update(FeedSource).values(next_poll_at=utcnow() - timedelta(seconds=1)))
    assert poll_due_feeds(w.runtime, worker) == 1


def test_wordpress_article_goes_to_facebook_and_instagram_once(
    world: World, wordpress: WordPressSite, tmp_path: Path,  # noqa: F811
) -> None:
    w = world
    Base.metadata.create_all(w.runtime.db.engine,
                             tables=[FeedSource.__table__, FeedEntrySeen.__table__])
    with w.runtime.db.write() as s:
        feed_service.create_feed_source(s, w.approver.principal, w.settings, w.opd.id, {  # type: ignore[attr-defined]
            "name": "Situs Dinkes", "url": wordpress.feed, "requires_approval": False,
            "target_channel_ids": [w.facebook.id, w.instagram.id]})
    _poll(w, "worker-1")  # seeds: what is already on the site is not posted

    config, secrets = WordPressChannel.connect(
        {"url": wordpress.url, "username": wordpress.user},
        {"app_password": wordpress.app_password}, SETTINGS)
    site = make_channel(config, secrets)
    ctx = make_ctx(tmp_path)
    receipt = site.publish(site.render(ctx, RENDERER))

    _poll(w, "worker-1")
    _poll(w, "worker-1")
    _poll(w, "worker-2-after-restart")

    # The shared WordPress may publish other articles meanwhile (a scheduled post of an
    # earlier run falling due): only this article's item is looked at.
    def ours(pubs: list[Publication]) -> list[Publication]:
        with w.runtime.db.read() as s:
            ids = set(s.scalars(select(Item.id).where(Item.source == "feed",
                                                      Item.link == receipt.url)))
        return [p for p in pubs if p.item_id in ids]

    drain_until(w, lambda pubs: len(ours(pubs)) == 2 and all_published(ours(pubs)),
                seconds=60)
    _poll(w, "worker-3")
    drain_until(w, lambda pubs: all_published(ours(pubs)), seconds=60)

    posts = [p for p in w.graph.state.page_posts(PAGE_ID) if ctx.item.title in p["message"]]
    media = [m for m in w.graph.state.ig_media(IG_ID)
             if ctx.item.title in str(m.get("caption", ""))]
    assert len(posts) == 1
    assert len(media) == 1
    pubs = ours(publications(w))
    assert len(pubs) == 2 and all(p.status == PublicationStatus.PUBLISHED for p in pubs)
    assert {p.remote_id for p in pubs} == {posts[0]["id"], media[0]["id"]}
    with w.runtime.db.read() as s:
        [item] = s.scalars(select(Item).where(Item.source == "feed",
                                              Item.link == receipt.url)).all()
        assert item.link == receipt.url and len(item.media) == 1
        assert audit.verify(s).ok
