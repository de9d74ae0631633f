"""Items flow from draft to published through the real queue, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from publisher import audit
from publisher.models import AuditEvent, ItemStatus, Publication, PublicationStatus, Role
from publisher.services import items
from publisher.services.errors import ExemptInformation, Forbidden

from .factories import Factory


@pytest.fixture()
def world(make: Factory):  # type: ignore[no-untyped-def]
    opd = make.opd("Dinas Komunikasi dan Informatika")
    editor = make.person(Role.EDITOR, opd)
    approver = make.person(Role.APPROVER, opd)
    site = make.channel(opd, "site", "Situs OPD")
    return opd, editor, approver, site


def test_approved_item_is_published_on_the_site(make: Factory, runtime, world) -> None:  # type: ignore[no-untyped-def]
    opd, editor, approver, site = world
    item = make.published_item(editor, approver, opd, [site.id], title="Jadwal Posyandu")
    assert item.status == ItemStatus.APPROVED
    done = make.dispatcher().drain()
    assert done == 1
    with runtime.db.read() as s:
        pub = s.scalars(select(Publication).where(Publication.item_id == item.id)).one()
        assert pub.status == PublicationStatus.PUBLISHED
        assert pub.url.endswith(f"/o/{opd.slug}/i/{item.id}/jadwal-posyandu")
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        result = audit.verify(s)
    assert result.ok, result.problems
    assert actions[-2:] == ["publication.sending", "publication.published"]
    assert "item.approved" in actions


def test_drafter_cannot_approve_own_item(make: Factory, runtime, world) -> None:  # type: ignore[no-untyped-def]
    opd, _editor, approver, site = world
    item = make.item(approver, opd, [site.id])
    with runtime.db.write() as s:
        items.submit_item(s, approver.principal, runtime.settings, item.id)
    with pytest.raises(Forbidden), runtime.db.write() as s:
        items.approve_item(s, approver.principal, runtime.settings, item.id)


def test_item_that_becomes_exempt_is_blocked_at_send_time(make: Factory, runtime, world) -> None:  # type: ignore[no-untyped-def]
    opd, editor, approver, site = world
    item = make.published_item(editor, approver, opd, [site.id])
    # Someone reclassifies the item directly in the database, bypassing the services:
    # the sender's own check right before the send must still stop it.
    from sqlalchemy import update

    from publisher.models import Item

    with runtime.db.write() as s:
        s.execute(update(Item).where(Item.id == item.id).values(category="dikecualikan"))
    make.dispatcher().drain()
    with runtime.db.read() as s:
        pub = s.scalars(select(Publication).where(Publication.item_id == item.id)).one()
        assert pub.status == PublicationStatus.BLOCKED
        blocked = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "publication.blocked")
        ).one()
        assert blocked.detail["dik_check"] == "dikecualikan"


def test_exempt_item_cannot_be_submitted(make: Factory, runtime, world) -> None:  # type: ignore[no-untyped-def]
    opd, editor, _approver, _site = world
    item = make.item(editor, opd, [], category="dikecualikan", exemption_article="h",
                     exemption_basis="UU 14/2008 Pasal 17 huruf h", exemption_until="2030-12-31")
    with pytest.raises(ExemptInformation), runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
