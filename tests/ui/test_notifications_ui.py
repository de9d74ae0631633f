"""Notifikasi (/admin/notifikasi): the bell with its unread count, the list, marking read
(only one's own), the preferences per kind and their effect, escaping and odd arguments."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from publisher.models import AuditEvent, Delivery, Notification, NotificationPreference, Role
from publisher.services import items
from publisher.timeutil import utcnow

from .forms import selected

BIG = 2**63
HUGE = str(10**30)
_BELL = re.compile(r'<a href="/admin/notifikasi" class="bell" id="bell"[^>]*>.*?</a>', re.S)


@pytest.fixture()
def world(make: Any, runtime: Any) -> dict[str, Any]:
    opd = make.opd("Dinas Kominfo")
    editor = make.person(Role.EDITOR, opd, full_name="Rina Operator")
    approver = make.person(Role.APPROVER, opd, full_name="Sari PPID")
    other = make.person(Role.APPROVER, make.opd("Dinas Lain"), full_name="Orang Lain")
    site = make.channel(opd, "site", "Situs")
    return {"opd": opd, "editor": editor, "approver": approver, "other": other, "site": site}


def _submit(make: Any, runtime: Any, world: dict[str, Any], title: str) -> int:
    item = make.item(world["editor"], world["opd"], [world["site"].id], title=title)
    with runtime.db.write() as s:
        items.submit_item(s, world["editor"].principal, runtime.settings, item.id)
    return int(item.id)


def _rows(runtime: Any, user_id: int) -> list[Any]:
    """(id, read_at, subject) of the user's in-app notifications, oldest first."""
    with runtime.db.read() as s:
        return list(s.execute(select(Notification.id, Notification.read_at,
                                     Notification.subject).where(
            Notification.user_id == user_id, Notification.delivery == Delivery.INAPP)
            .order_by(Notification.id)))


def _bell(page: str) -> str:
    match = _BELL.search(page)
    assert match, "no bell in the header"
    return match.group(0)


def test_approver_sees_bell_and_notification_and_marks_read(
        ui: Any, make: Any, runtime: Any, world: dict[str, Any]) -> None:
    item_id = _submit(make, runtime, world, "Jadwal vaksinasi\nminggu depan")
    ui.login(world["approver"].username)
    page = ui.text("/admin/")
    bell = _bell(page)
    assert 'aria-label="Notifikasi (1 belum dibaca)"' in bell
    assert '<span class="bell-count" aria-hidden="true">1</span>' in bell

    listing = ui.text("/admin/notifikasi")
    (row,) = _rows(runtime, world["approver"].user_id)
    assert f'id="notif-{row.id}" class="notif unread"' in listing
    assert "Menunggu persetujuan: Jadwal vaksinasi" in listing
    assert "Rina Operator mengajukan" in listing
    assert 'class="notif-body"' in listing
    assert "WIB" in listing  # the OPD's zone (Asia/Jakarta)

    response = ui.post(f"/admin/notifikasi/{row.id}/baca")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/informasi/{item_id}#approval")
    assert _rows(runtime, world["approver"].user_id)[0].read_at is not None
    bell = _bell(ui.text("/admin/notifikasi"))
    assert 'aria-label="Notifikasi"' in bell
    assert "bell-count" not in bell  # hidden at 0
    assert f'id="notif-{row.id}" class="notif"' in ui.text("/admin/notifikasi")


def test_mark_all_read(ui: Any, make: Any, runtime: Any, world: dict[str, Any]) -> None:
    _submit(make, runtime, world, "Satu")
    _submit(make, runtime, world, "Dua")
    ui.login(world["approver"].username)
    assert 'aria-label="Notifikasi (2 belum dibaca)"' in _bell(ui.text("/admin/"))
    response = ui.post("/admin/notifikasi/baca-semua")
    assert response.status_code == 302
    assert all(r.read_at is not None for r in _rows(runtime, world["approver"].user_id))
    assert "bell-count" not in _bell(ui.text("/admin/notifikasi"))


def test_newest_first_and_paged(ui: Any, make: Any, runtime: Any,
                                world: dict[str, Any]) -> None:
    user_id = world["approver"].user_id
    with runtime.db.write() as s:
        for n in range(30):
            s.add(Notification(user_id=user_id, kind="item_submitted", delivery=Delivery.INAPP,
                               dedupe_key=f"t-{n}", subject=f"Pesan nomor {n:02d}",
                               body_text="isi", link="", status="sent", sent_at=utcnow()))
    ui.login(world["approver"].username)
    first = ui.text("/admin/notifikasi")
    assert first.index("Pesan nomor 29") < first.index("Pesan nomor 28")
    assert "Pesan nomor 04" not in first  # 25 a page
    second = ui.text("/admin/notifikasi?page=2")
    assert "Pesan nomor 04" in second and "Pesan nomor 29" not in second


def test_another_user_cannot_mark(ui: Any, ui2: Any, make: Any, runtime: Any,
                                  world: dict[str, Any]) -> None:
    _submit(make, runtime, world, "Milik penyetuju")
    (row,) = _rows(runtime, world["approver"].user_id)
    ui2.login(world["other"].username)
    assert ui2.post(f"/admin/notifikasi/{row.id}/baca").status_code == 404
    assert _rows(runtime, world["approver"].user_id)[0].read_at is None
    ui2.post("/admin/notifikasi/baca-semua")
    assert _rows(runtime, world["approver"].user_id)[0].read_at is None
    assert "Milik penyetuju" not in ui2.text("/admin/notifikasi")
    # the editor who submitted is not told about their own submission
    assert _rows(runtime, world["editor"].user_id) == []


def test_preferences_save_and_off_stops_notifications(
        ui: Any, make: Any, runtime: Any, world: dict[str, Any]) -> None:
    approver = world["approver"]
    _submit(make, runtime, world, "Sebelum dimatikan")
    ui.login(approver.username)
    form = ui.text("/admin/notifikasi/pengaturan")
    assert "Informasi menunggu persetujuan Anda" in form
    assert selected(form, "pref-item_submitted") == "email"  # the kind's default
    assert "Email hanya dikirim bila akun Anda memiliki alamat email." in form
    response = ui.post("/admin/notifikasi/pengaturan", {
        "pref-item_submitted": "off", "pref-item_returned": "inapp",
        "pref-dik_submitted": "email"})
    assert response.status_code == 302
    with runtime.db.read() as s:
        prefs = dict(s.execute(select(NotificationPreference.kind, NotificationPreference.delivery)
                               .where(NotificationPreference.user_id == approver.user_id)).all())
        detail = s.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "user.notification_preferences")).one()
    assert prefs == {"item_submitted": "off", "item_returned": "inapp",
                     "dik_submitted": "email"}
    assert detail["item_submitted"] == "off"
    assert detail["item_returned"] == "inapp"
    assert selected(ui.text("/admin/notifikasi/pengaturan"), "pref-item_submitted") == "off"

    # saving again updates the rows (one per kind)
    ui.post("/admin/notifikasi/pengaturan", {
        "pref-item_submitted": "off", "pref-item_returned": "email",
        "pref-dik_submitted": "email"})
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationPreference).where(
            NotificationPreference.user_id == approver.user_id)) == 3

    before = len(_rows(runtime, approver.user_id))
    _submit(make, runtime, world, "Sesudah dimatikan")
    assert len(_rows(runtime, approver.user_id)) == before
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == approver.user_id,
            Notification.subject.contains("Sesudah"))) == 0


def test_preferences_refuse_unknown_choice(ui: Any, make: Any, runtime: Any,
                                           world: dict[str, Any]) -> None:
    ui.login(world["approver"].username)
    response = ui.post("/admin/notifikasi/pengaturan", {
        "pref-item_submitted": "sms", "pref-item_returned": "inapp"})
    assert response.status_code == 422
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationPreference)) == 0


def test_preferences_in_english(ui: Any, make: Any, world: dict[str, Any]) -> None:
    ui.login(world["approver"].username)
    ui.post("/admin/bahasa", {"locale": "en"})
    assert "Information awaiting your approval" in ui.text("/admin/notifikasi/pengaturan")


def test_account_links_to_preferences(ui: Any, world: dict[str, Any]) -> None:
    ui.login(world["approver"].username)
    assert 'href="/admin/notifikasi/pengaturan"' in ui.text("/admin/akun")


def test_hostile_title_is_escaped(ui: Any, make: Any, runtime: Any,
                                  world: dict[str, Any]) -> None:
    _submit(make, runtime, world, "<script>alert(1)</script>")
    ui.login(world["approver"].username)
    page = ui.text("/admin/notifikasi")
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("link", ["//evil.example/x", "https://evil.example/", "/\\evil",
                                  "javascript:alert(1)", ""])
def test_unsafe_link_is_not_followed(ui: Any, runtime: Any, world: dict[str, Any],
                                     link: str) -> None:
    with runtime.db.write() as s:
        row = Notification(user_id=world["approver"].user_id, kind="item_submitted",
                           delivery=Delivery.INAPP, dedupe_key="hostile", subject="Tautan",
                           body_text="isi", link=link, status="sent", sent_at=utcnow())
        s.add(row)
        s.flush()
        row_id = row.id
    ui.login(world["approver"].username)
    assert "evil" not in ui.text("/admin/notifikasi")
    response = ui.post(f"/admin/notifikasi/{row_id}/baca")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/notifikasi")


def test_email_rows_are_not_listed(ui: Any, runtime: Any, world: dict[str, Any]) -> None:
    with runtime.db.write() as s:
        s.add(Notification(user_id=world["approver"].user_id, kind="item_submitted",
                           delivery=Delivery.EMAIL, dedupe_key="mail", subject="Surel saja",
                           body_text="isi", link="", status="pending"))
    ui.login(world["approver"].username)
    page = ui.text("/admin/notifikasi")
    assert "Surel saja" not in page
    assert "bell-count" not in _bell(page)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/admin/notifikasi?page=999999999999", 200),
    ("get", f"/admin/notifikasi?page={HUGE}", 200),
    ("get", "/admin/notifikasi?page=-1", 200),
    ("get", "/admin/notifikasi?page=abc", 200),
    ("post", f"/admin/notifikasi/{BIG}/baca", 404),
    ("post", f"/admin/notifikasi/{HUGE}/baca", 404),
    ("post", "/admin/notifikasi/0/baca", 404),
    ("post", "/admin/notifikasi/abc/baca", 404),
    ("post", "/admin/notifikasi/123456789/baca", 404),
])
def test_odd_arguments(ui: Any, make: Any, runtime: Any, world: dict[str, Any],
                       method: str, path: str, status: int) -> None:
    _submit(make, runtime, world, "Ada satu")
    ui.login(world["approver"].username)
    response = ui.post(path) if method == "post" else ui.get(path)
    assert response.status_code == status


def test_signed_out_is_sent_to_login(client: Any) -> None:
    assert client.get("/admin/notifikasi").status_code in (302, 401)
    assert client.get("/admin/notifikasi/pengaturan").status_code in (302, 401)


def test_csrf_is_required(app: Any, ui: Any, runtime: Any, make: Any,
                          world: dict[str, Any]) -> None:
    _submit(make, runtime, world, "Perlu token")
    (row,) = _rows(runtime, world["approver"].user_id)
    app.config["WTF_CSRF_ENABLED"] = True
    ui.login(world["approver"].username)
    response = ui.client.post(f"/admin/notifikasi/{row.id}/baca", data={})
    assert response.status_code == 400
    assert _rows(runtime, world["approver"].user_id)[0].read_at is None
