"""Feed cross-posting never reopens exempted information: an article whose item a DIK entry
exempts comes back from the feed (republished under a new GUID, edited) exempt as well."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from publisher.models import AuditEvent, DikEntry, Item, ItemStatus, Publication, Role
from publisher.services import dik

from .dik_support import entry_data
from .test_feeds import Env, FeedSite, feed_tables, new_entries, rss, server  # noqa: F401


def test_republished_article_of_an_exempted_item_stays_exempt(runtime: Any, make: Any,
                                                               server: Any) -> None:  # noqa: F811
    env = Env(runtime, make)
    kepala = make.person(Role.APPROVER, env.opd)
    admin = make.admin()
    with runtime.db.write() as s:
        dik.designate(s, admin.principal, env.opd.id, kepala.user_id, "Kepala Dinas")
    site = FeedSite(server)
    site.set(rss([]))
    env.source(site.url)
    env.poll()  # seeded, nothing posted
    first = new_entries(1, start=0)
    site.set(rss(first))
    env.poll()
    (item,) = env.items()
    assert item.status == ItemStatus.APPROVED
    # the article turns out to hold exempt information: the PPID links its item to a DIK entry
    with runtime.db.write() as s:
        entry_id = dik.create_entry(s, env.editor.principal, env.opd.id, entry_data()).id
    with runtime.db.write() as s:
        dik.submit(s, env.approver.principal, entry_id)
    with runtime.db.write() as s:
        dik.approve(s, kepala.principal, entry_id)
    with runtime.db.write() as s:
        dik.link_item(s, env.approver.principal, item.id, entry_id)
    # the site republishes it: new GUID, edited text, same link
    again = [{**first[0], "guid": "post-0-republished", "title": "Berita nomor 0 (revisi)",
              "body": "Isi yang diperbarui"}]
    site.set(rss(again + first))
    env.poll()
    items = env.items()
    assert len(items) == 2
    copy = items[-1]
    with runtime.db.read() as s:
        stored = s.get_one(Item, copy.id)
        assert stored.dik_entry_id == entry_id and stored.category == "dikecualikan"
        assert stored.status == ItemStatus.DRAFT and stored.targets == []
        assert s.scalars(select(Publication.id).where(Publication.item_id == copy.id)).all() == []
        created = s.scalars(select(AuditEvent).where(AuditEvent.action == "item.created",
                                                     AuditEvent.item_id == copy.id)).one()
        assert created.detail["dik_entry_id"] == entry_id
        assert s.get_one(DikEntry, entry_id).status == "berlaku"
