"""Notifications are written with the change that causes them: one per event, person and
delivery, in the person's language, and as the person chose."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from publisher.models import Delivery, Notification, NotificationPreference, Role
from publisher.notify.outbox import notify
from publisher.services import items

from .factories import Factory


def _rows(runtime: Any, **where: Any) -> list[Notification]:
    with runtime.db.read() as s:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        rows = list(s.scalars(query))
        s.expunge_all()
        return rows


def test_submission_tells_the_approvers_not_the_submitter(make: Factory, runtime: Any) -> None:
    opd = make.opd("Dinas Kesehatan")
    editor = make.person(Role.EDITOR, opd, email="rina@dinkes.example")
    approver = make.person(Role.APPROVER, opd, email="sari@dinkes.example")
    english = make.person(Role.APPROVER, opd, locale="en")  # no email address
    outsider = make.person(Role.APPROVER, make.opd("Dinas Pendidikan"), email="x@y.example")
    site = make.channel(opd, "site")
    item = make.item(editor, opd, [site.id], title="Jadwal imunisasi <b>Desember</b>")
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    rows = _rows(runtime, kind="item_submitted")
    assert {(r.user_id, r.delivery) for r in rows} == {
        (approver.user_id, Delivery.INAPP), (approver.user_id, Delivery.EMAIL),
        (english.user_id, Delivery.INAPP)}
    assert outsider.user_id not in {r.user_id for r in rows}
    by_user = {(r.user_id, r.delivery): r for r in rows}
    indonesian = by_user[(approver.user_id, Delivery.EMAIL)]
    assert indonesian.subject == "Menunggu persetujuan: Jadwal imunisasi <b>Desember</b>"
    assert indonesian.status == "pending"
    assert indonesian.link == f"/admin/informasi/{item.id}#approval"
    assert by_user[(english.user_id, Delivery.INAPP)].subject.startswith("Awaiting approval:")
    assert by_user[(english.user_id, Delivery.INAPP)].status == "sent"


def test_returned_item_tells_its_drafter_with_the_comment(make: Factory, runtime: Any) -> None:
    opd = make.opd()
    editor = make.person(Role.EDITOR, opd, email="rina@dinkes.example")
    approver = make.person(Role.APPROVER, opd)
    item = make.item(editor, opd, [make.channel(opd, "site").id])
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    with runtime.db.write() as s:
        items.return_item(s, approver.principal, runtime.settings, item.id, "Tambahkan jam buka")
    (inapp, email) = _rows(runtime, kind="item_returned")
    assert inapp.user_id == email.user_id == editor.user_id
    assert "Tambahkan jam buka" in email.body_text


def test_preference_off_and_in_app_only(make: Factory, runtime: Any) -> None:
    opd = make.opd()
    editor = make.person(Role.EDITOR, opd)
    quiet = make.person(Role.APPROVER, opd, email="a@b.example")
    inapp = make.person(Role.APPROVER, opd, email="c@d.example")
    with runtime.db.write() as s:
        s.add(NotificationPreference(user_id=quiet.user_id, kind="item_submitted",
                                     delivery=Delivery.OFF))
        s.add(NotificationPreference(user_id=inapp.user_id, kind="item_submitted",
                                     delivery=Delivery.INAPP))
    item = make.item(editor, opd, [make.channel(opd, "site").id])
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    rows = _rows(runtime, kind="item_submitted")
    assert [(r.user_id, r.delivery) for r in rows] == [(inapp.user_id, Delivery.INAPP)]


def test_the_same_event_twice_is_one_notification(make: Factory, runtime: Any) -> None:
    opd = make.opd()
    person = make.person(Role.APPROVER, opd, email="a@b.example")
    for _ in range(2):
        with runtime.db.write() as s:
            written = notify(s, "item_submitted", [person.user_id], event_key="item-1-v1",
                             context={"actor": "X", "title": "T", "opd": "O"}, link="/admin/")
            assert written == 2
    assert len(_rows(runtime)) == 2  # one in-app, one email: the second write added nothing


def test_a_failed_change_writes_no_notification(make: Factory, runtime: Any) -> None:
    opd = make.opd()
    person = make.person(Role.APPROVER, opd, email="a@b.example")
    with pytest.raises(RuntimeError), runtime.db.write() as s:
        notify(s, "item_submitted", [person.user_id], event_key="e",
               context={"actor": "X", "title": "T", "opd": "O"})
        raise RuntimeError("the change failed after the notification was queued")
    assert _rows(runtime) == []
