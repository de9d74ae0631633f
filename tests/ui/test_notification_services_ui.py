"""Layanan notifikasi (/admin/notifikasi/layanan): the admin sees whether email and Telegram
are set up and working, in words: settings without secrets, the waiting queue and the latest
error, and a check on demand against a real loopback SMTP server and Bot API (working, server
down, wrong token, the bot's @username not matching). Others are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from publisher.models import AuditEvent, Delivery, Notification, NotificationStatus, Role
from publisher.notify.telegram import TOKEN_HINT
from publisher.timeutil import utcnow

from ..telegram_server import TOKEN, BotApi
from ..test_notify_delivery import Handler, free_port

PAGE = "/admin/notifikasi/layanan"
PASSWORD = "rahasia-smtp-jangan-bocor"


@pytest.fixture()
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def _mail(runtime: Any, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for name, value in (("smtp_host", "127.0.0.1"), ("smtp_port", port),
                        ("smtp_security", "none"), ("smtp_from", "ppid@example.id"),
                        ("smtp_timeout", 5), ("smtp_password", PASSWORD)):
        monkeypatch.setattr(runtime.settings, name, value)


def _telegram(runtime: Any, monkeypatch: pytest.MonkeyPatch, bot: BotApi, token: str = TOKEN,
              username: str = "ppid_sukamaju_bot") -> None:
    monkeypatch.setattr(runtime.settings, "telegram_bot_token", token)
    monkeypatch.setattr(runtime.settings, "telegram_api_url", bot.url)
    monkeypatch.setattr(runtime.settings, "telegram_bot_username", username)
    monkeypatch.setattr(runtime.settings, "telegram_timeout", 5)


def _check(ui: Any, delivery: str) -> str:
    response = ui.post(f"{PAGE}/{delivery}/periksa")
    assert response.status_code == 302
    return str(ui.text(PAGE))


def test_only_admins(ui: Any, make: Any) -> None:
    editor = make.person(Role.APPROVER, make.opd("Dinas Kominfo"))
    ui.login(editor.username)
    assert ui.get(PAGE).status_code == 403
    assert ui.post(f"{PAGE}/email/periksa").status_code == 403
    assert 'id="notification-services"' not in ui.text("/admin/notifikasi")


def test_nothing_configured_says_what_to_fill_in(ui: Any, make: Any) -> None:
    ui.login(make.admin().username)
    assert 'id="notification-services"' in ui.text("/admin/notifikasi")
    page = ui.text(PAGE)
    assert 'id="state-email">belum diatur' in page and 'id="state-telegram">belum diatur' in page
    assert "Belum diatur: isi PUBLISHER_SMTP_HOST" in page
    page = _check(ui, "telegram")
    assert "Belum diatur: isi PUBLISHER_TELEGRAM_BOT_TOKEN (not configured)." in page


def test_smtp_check_works_then_names_the_server_down(
        ui: Any, make: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch,
        smtp_port: int) -> None:
    admin = make.admin()
    _mail(runtime, monkeypatch, smtp_port)
    ui.login(admin.username)
    page = _check(ui, "email")
    assert f"Pemeriksaan berhasil: Tersambung ke 127.0.0.1:{smtp_port} (none)." in page
    assert 'id="state-email">berfungsi' in page
    assert PASSWORD not in page and "••••••" in page

    with runtime.db.write() as s:
        s.add(Notification(user_id=admin.user_id, kind="item_submitted", delivery=Delivery.EMAIL,
                           dedupe_key="waits", subject="S", body_text="b",
                           status=NotificationStatus.RETRYING, due_at=utcnow(),
                           last_error="Server SMTP 127.0.0.1:1 tidak dapat dihubungi: "
                                      "ConnectionRefusedError"))
    closed = free_port()
    monkeypatch.setattr(runtime.settings, "smtp_port", closed)
    page = _check(ui, "email")
    assert f"Pemeriksaan gagal: Server SMTP 127.0.0.1:{closed} tidak dapat dihubungi" in page
    assert 'id="state-email">bermasalah' in page
    assert 'id="retrying-email">1<' in page
    assert "Kesalahan terakhir:" in page and "ConnectionRefusedError" in page
    with runtime.db.read() as s:  # the waiting message is still there
        assert s.scalar(select(Notification.status).where(
            Notification.dedupe_key == "waits")) == NotificationStatus.RETRYING
        details = list(s.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "notification_service.checked")))
        results = list(s.scalars(select(AuditEvent.result).where(
            AuditEvent.action == "notification_service.checked")))
    assert results == ["ok", "failed"]
    assert PASSWORD not in str(details)


def test_telegram_check_good_wrong_token_and_wrong_username(
        ui: Any, make: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch,
        bot: BotApi) -> None:
    ui.login(make.admin().username)
    _telegram(runtime, monkeypatch, bot)
    page = _check(ui, "telegram")
    assert "Pemeriksaan berhasil: Bot @ppid_sukamaju_bot menjawab." in page
    assert TOKEN not in page

    _telegram(runtime, monkeypatch, bot, username="bot_lain_kab")
    page = _check(ui, "telegram")
    assert "PUBLISHER_TELEGRAM_BOT_USERNAME berisi @bot_lain_kab" in page
    assert 'id="state-telegram">bermasalah' in page

    wrong = "987654321:AAHwrongTokenForLoopbackOnly_zyxwvuts"
    bot.refuse_token(wrong)
    _telegram(runtime, monkeypatch, bot, token=wrong)
    page = _check(ui, "telegram")
    assert f"Pemeriksaan gagal: {TOKEN_HINT}" in page
    assert wrong not in page
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "notification_service.checked")) == 3
