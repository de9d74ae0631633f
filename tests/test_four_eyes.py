"""Four-eyes integrity: what goes out is what another person approved."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from sqlalchemy import select

from publisher import audit
from publisher.models import AuditEvent, ItemStatus, Publication, PublicationStatus, Role
from publisher.services import items, publications
from publisher.services.errors import Conflict, Forbidden

from .factories import Factory


@pytest.fixture()
def world(make: Factory):  # type: ignore[no-untyped-def]
    opd = make.opd("Dinas Kesehatan")
    editor = make.person(Role.EDITOR, opd)
    first = make.person(Role.APPROVER, opd)
    second = make.person(Role.APPROVER, opd)
    site = make.channel(opd, "site", "Situs OPD")
    hook = make.channel(opd, "webhook", "CMS", config={"url": "http://127.0.0.1:9/hook"})
    return opd, editor, first, second, site, hook


class _Pub(NamedTuple):
    id: int
    channel_id: int
    status: str
    error_kind: str | None


def _pubs(runtime, item_id: int) -> list[_Pub]:  # type: ignore[no-untyped-def]
    with runtime.db.read() as s:
        rows = s.scalars(select(Publication).where(Publication.item_id == item_id)
                         .order_by(Publication.channel_id))
        return [_Pub(p.id, p.channel_id, p.status, p.error_kind) for p in rows]


def test_approver_who_edits_a_submitted_item_cannot_approve_it(  # type: ignore[no-untyped-def]
    make: Factory, runtime, world
) -> None:
    opd, editor, first, second, site, _hook = world
    item = make.item(editor, opd, [site.id])
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    with runtime.db.write() as s:
        items.update_item(s, first.principal, runtime.settings, item.id,
                          {"body_html": "<p>Isi yang ditulis ulang oleh penyetuju.</p>"})
    with runtime.db.write() as s:
        items.submit_item(s, first.principal, runtime.settings, item.id)
    with pytest.raises(Forbidden, match="terakhir Anda ubah"), runtime.db.write() as s:
        items.approve_item(s, first.principal, runtime.settings, item.id)
    with runtime.db.write() as s:
        approved = items.approve_item(s, second.principal, runtime.settings, item.id)
        assert approved.status == ItemStatus.APPROVED


def test_editing_an_approved_unsent_item_sends_it_back_for_approval(  # type: ignore[no-untyped-def]
    make: Factory, runtime, world
) -> None:
    opd, editor, first, second, site, hook = world
    item = make.item(editor, opd, [site.id, hook.id], schedule=make.in_a_minute())
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    with runtime.db.write() as s:
        items.approve_item(s, first.principal, runtime.settings, item.id)
    assert {p.status for p in _pubs(runtime, item.id)} == {PublicationStatus.SCHEDULED}

    with runtime.db.write() as s:
        changed = items.update_item(s, first.principal, runtime.settings, item.id,
                                    {"title": "Judul diubah setelah disetujui"})
        assert changed.status == ItemStatus.SUBMITTED
    pubs = _pubs(runtime, item.id)
    assert {p.status for p in pubs} == {PublicationStatus.CANCELLED}
    assert {p.error_kind for p in pubs} == {items.REAPPROVAL}
    # Nothing goes out while the change waits, even once it is due.
    assert make.dispatcher().drain() == 0

    # The approver who changed it is now its last author.
    with pytest.raises(Forbidden), runtime.db.write() as s:
        items.approve_item(s, first.principal, runtime.settings, item.id)
    with runtime.db.write() as s:
        items.approve_item(s, second.principal, runtime.settings, item.id)
    pubs = _pubs(runtime, item.id)
    assert [p.id for p in pubs] == sorted(p.id for p in pubs)
    assert {p.status for p in pubs} == {PublicationStatus.SCHEDULED}
    assert {p.error_kind for p in pubs} == {None}
    with runtime.db.read() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert audit.verify(s).ok
    assert actions.count("publication.withdrawn") == 2
    assert actions.count("publication.scheduled") == 4


def test_a_publication_the_user_cancelled_stays_cancelled_after_reapproval(  # type: ignore[no-untyped-def]
    make: Factory, runtime, world
) -> None:
    opd, editor, first, second, site, hook = world
    item = make.item(editor, opd, [site.id, hook.id], schedule=make.in_a_minute())
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    with runtime.db.write() as s:
        items.approve_item(s, first.principal, runtime.settings, item.id)
    hook_pub = next(p for p in _pubs(runtime, item.id) if p.channel_id == hook.id)
    with runtime.db.write() as s:
        publications.cancel_publication(s, editor.principal, hook_pub.id)
    with runtime.db.write() as s:
        items.update_item(s, first.principal, runtime.settings, item.id,
                          {"title": "Judul baru"})
    with runtime.db.write() as s:
        items.approve_item(s, second.principal, runtime.settings, item.id)
    status = {p.channel_id: p.status for p in _pubs(runtime, item.id)}
    assert status == {site.id: PublicationStatus.SCHEDULED, hook.id: PublicationStatus.CANCELLED}


def test_editing_while_a_publication_is_being_sent_is_refused(  # type: ignore[no-untyped-def]
    make: Factory, runtime, world
) -> None:
    opd, editor, first, _second, site, _hook = world
    item = make.published_item(editor, first, opd, [site.id])
    pub = _pubs(runtime, item.id)[0]
    with runtime.db.write() as s:
        s.get(Publication, pub.id).status = PublicationStatus.SENDING
    with pytest.raises(Conflict, match="sedang dikirim"), runtime.db.write() as s:
        items.update_item(s, first.principal, runtime.settings, item.id, {"title": "Lain"})
    with runtime.db.read() as s:
        assert s.get(Publication, pub.id).status == PublicationStatus.SENDING
