"""Pengaturan notifikasi beyond the delivery per kind: Telegram as a choice only once the
service has a bot, linking a chat with a code shown once (private chat and group), unlinking,
timing (at once or in the daily digest) with the digest hour in the OPD's zone, and refusing
odd values without touching what is stored."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from publisher.models import (
    AuditEvent,
    Delivery,
    Notification,
    NotificationPreference,
    NotificationStatus,
    Role,
    TelegramLinkCode,
    User,
)
from publisher.notify import telegram_link
from publisher.timeutil import utcnow

from ..telegram_server import TOKEN, BotApi
from .forms import selected

PAGE = "/admin/notifikasi/pengaturan"


@pytest.fixture()
def person(make: Any) -> Any:
    opd = make.opd("Kecamatan Sukamaju", timezone="Asia/Makassar")
    return make.person(Role.APPROVER, opd, full_name="Sari PPID")


@pytest.fixture()
def with_bot(runtime: Any, bot: BotApi, monkeypatch: pytest.MonkeyPatch) -> BotApi:
    monkeypatch.setattr(runtime.settings, "telegram_bot_token", TOKEN)
    monkeypatch.setattr(runtime.settings, "telegram_api_url", bot.url)
    monkeypatch.setattr(runtime.settings, "telegram_bot_username", "ppid_sukamaju_bot")
    return bot


def _prefs(runtime: Any, user_id: int) -> dict[str, tuple[str, str]]:
    with runtime.db.read() as s:
        return {k: (d, t) for k, d, t in s.execute(
            select(NotificationPreference.kind, NotificationPreference.delivery,
                   NotificationPreference.timing)
            .where(NotificationPreference.user_id == user_id))}


def test_without_a_bot_telegram_is_not_offered(ui: Any, person: Any, runtime: Any) -> None:
    ui.login(person.username)
    page = ui.text(PAGE)
    assert 'value="telegram"' not in page
    assert "Telegram belum diaktifkan oleh admin layanan." in page
    response = ui.post(PAGE, {"pref-item_submitted": "telegram"})
    assert response.status_code == 422
    assert "Pilihan tidak dikenal untuk: Informasi menunggu persetujuan Anda." in (
        response.get_data(as_text=True))
    assert _prefs(runtime, person.user_id) == {}
    assert ui.post("/admin/notifikasi/telegram/kode").status_code == 302
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(TelegramLinkCode)) == 0


def test_link_a_group_with_the_code_then_unlink(ui: Any, person: Any, runtime: Any,
                                                with_bot: BotApi) -> None:
    ui.login(person.username)
    page = ui.text(PAGE)
    assert 'value="telegram"' in page
    assert "Belum ada chat yang tertaut." in page
    response = ui.post("/admin/notifikasi/telegram/kode")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = response.get_data(as_text=True)
    code = re.search(r'<code id="telegram-code-value">([A-Z0-9]{8})</code>', shown)
    assert code, shown
    assert f'href="https://t.me/ppid_sukamaju_bot?start={code.group(1)}"' in shown
    assert f"/start@ppid_sukamaju_bot {code.group(1)}" in shown  # the group form
    assert code.group(1) not in ui.text(PAGE)  # shown once
    with runtime.db.read() as s:
        detail = s.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "user.telegram_code_created")).one()
    assert code.group(1) not in str(detail)

    with_bot.message({"id": -100777, "type": "supergroup", "title": "PPID Sukamaju"},
                     f"/start@ppid_sukamaju_bot {code.group(1)}")
    assert telegram_link.poll_updates(runtime) == 1
    linked = ui.text(PAGE)
    assert 'id="telegram-linked"' in linked and "PPID Sukamaju" in linked
    assert 'id="h-no-telegram"' not in linked

    ui.post(PAGE, {"pref-item_submitted": "telegram"})
    assert _prefs(runtime, person.user_id) == {"item_submitted": ("telegram", "immediate")}
    with runtime.db.write() as s:
        s.add(Notification(user_id=person.user_id, kind="item_submitted",
                           delivery=Delivery.TELEGRAM, dedupe_key="waiting", subject="S",
                           body_text="b", status=NotificationStatus.PENDING, due_at=utcnow()))

    assert ui.post("/admin/notifikasi/telegram/putus").status_code == 302
    with runtime.db.read() as s:
        user = s.get(User, person.user_id)
        assert user is not None and user.telegram_chat_id is None
        waiting = s.scalars(select(Notification).where(
            Notification.dedupe_key == "waiting")).one()
        assert waiting.status == NotificationStatus.FAILED
        assert "diputus" in waiting.last_error
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "user.telegram_unlinked")) == 1
    assert "Belum ada chat yang tertaut." in ui.text(PAGE)


def test_digest_timing_and_hour_in_the_opd_zone(ui: Any, person: Any, runtime: Any) -> None:
    ui.login(person.username)
    page = ui.text(PAGE)
    assert '<option value="7" selected>07.00 WITA</option>' in page
    response = ui.post(PAGE, {"pref-dik_ending": "email", "timing-dik_ending": "digest",
                              "timing-item_submitted": "digest", "digest_hour": "16"})
    assert response.status_code == 302
    assert _prefs(runtime, person.user_id) == {
        "dik_ending": ("email", "digest"), "item_submitted": ("email", "digest")}
    page = ui.text(PAGE)
    assert '<option value="16" selected>16.00 WITA</option>' in page
    assert selected(page, "timing-dik_ending") == "digest"
    assert selected(page, "pref-dik_ending") == "email"
    assert selected(page, "timing-item_returned") == "immediate"
    with runtime.db.read() as s:
        assert s.scalar(select(User.digest_hour).where(User.id == person.user_id)) == 16
        detail = s.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "user.notification_preferences")).one()
    assert detail["digest_hour"] == 16 and detail["timing"]["dik_ending"] == "digest"


@pytest.mark.parametrize("form", [
    {"digest_hour": "24"}, {"digest_hour": "-1"}, {"digest_hour": "tujuh"},
    {"timing-item_submitted": "weekly"},
    {"pref-item_submitted": "off", "timing-item_returned": "later"},
])
def test_odd_values_change_nothing(ui: Any, person: Any, runtime: Any,
                                   form: dict[str, str]) -> None:
    ui.login(person.username)
    assert ui.post(PAGE, form).status_code == 422
    assert _prefs(runtime, person.user_id) == {}
    with runtime.db.read() as s:
        assert s.scalar(select(User.digest_hour).where(User.id == person.user_id)) == 7


def test_another_users_code_links_only_them(ui: Any, ui2: Any, make: Any, person: Any,
                                            runtime: Any, with_bot: BotApi) -> None:
    other = make.person(Role.EDITOR, make.opd("Dinas Lain"), full_name="Orang Lain")
    ui.login(person.username)
    ui2.login(other.username)
    first = re.search(r'telegram-code-value">(\w+)<', ui.post(
        "/admin/notifikasi/telegram/kode").get_data(as_text=True))
    second = re.search(r'telegram-code-value">(\w+)<', ui2.post(
        "/admin/notifikasi/telegram/kode").get_data(as_text=True))
    assert first and second and first.group(1) != second.group(1)
    with_bot.message({"id": 4242, "type": "private", "first_name": "Orang"},
                     f"/start {second.group(1)}")
    assert telegram_link.poll_updates(runtime) == 1
    with runtime.db.read() as s:
        chats = dict(s.execute(select(User.id, User.telegram_chat_id).where(
            User.id.in_([person.user_id, other.user_id]))).all())
    assert chats == {person.user_id: None, other.user_id: "4242"}


def test_ppid_utama_kinds_only_for_admins(ui: Any, ui2: Any, make: Any, person: Any) -> None:
    ui.login(person.username)
    page = ui.text(PAGE)
    assert 'name="pref-item_submitted"' in page
    assert 'name="pref-escalated_approval"' not in page
    assert 'name="pref-serta_merta_sent"' not in page
    ui2.login(make.admin().username)
    page = ui2.text(PAGE)
    assert selected(page, "pref-escalated_approval") == "email"
    assert selected(page, "pref-serta_merta_sent") == "email"
