"""Cross-posting from the real WordPress feed: an article published there becomes exactly one
item with its picture, across several polls and a worker restart, and goes out to the
channel (here the built-in site) through the real queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from publisher.channels.wordpress import WordPressChannel
from publisher.models import Publication, PublicationStatus
from publisher.runtime import Runtime

from .test_feeds import Env, feed_tables  # noqa: F401
from .test_wordpress_channel import RENDERER, SETTINGS, make_ctx
from .wordpress_fixture import WordPressSite, wordpress  # noqa: F401

pytestmark = pytest.mark.wordpress


def test_article_in_wordpress_is_cross_posted_exactly_once(
    wordpress: WordPressSite, runtime: Runtime, make: Any, tmp_path: Path,  # noqa: F811
) -> None:
    env = Env(runtime, make)
    source_id = env.source(wordpress.feed)
    env.poll("worker-1")
    assert env.get(source_id).seeded and env.get(source_id).last_error is None
    assert env.items() == []  # what was already on the site is not posted

    config, secrets = WordPressChannel.connect(
        {"url": wordpress.url, "username": wordpress.user},
        {"app_password": wordpress.app_password}, SETTINGS)
    row = make.channel(env.opd, "wordpress", config=config, secrets=secrets)  # via services
    assert row.secrets_encrypted and wordpress.app_password not in row.secrets_encrypted
    site = runtime.channel(row)
    ctx = make_ctx(tmp_path)
    receipt = site.publish(site.render(ctx, RENDERER))

    env.poll("worker-1")
    env.poll("worker-1")
    env.poll("worker-2-after-restart")
    [item] = env.items()
    assert item.title == ctx.item.title
    assert item.link == receipt.url
    assert len(item.media) == 1 and item.media[0].alt_text == ctx.media[0].alt_text
    assert "pukul 08.00" in item.body_html

    assert env.make.dispatcher().drain() >= 1
    with runtime.db.read() as s:
        [pub] = s.scalars(select(Publication).where(Publication.item_id == item.id)).all()
        assert pub.status == PublicationStatus.PUBLISHED
