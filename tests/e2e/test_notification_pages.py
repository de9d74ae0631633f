"""The notification pages in a real browser, on a desktop and on a 360 px phone: an approver
sets how and when they are told (Telegram, the daily digest at 16.00) and makes a Telegram
linking code; the PPID Utama changes an escalation rule; an approver follows the bell to the
item waiting for them. The screenshots go to ``docs/screenshots/notification*.png`` and
``docs/screenshots/escalation*.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from publisher.models import EscalationRule, NotificationPreference, Role, User
from publisher.services import items

from ..telegram_server import TOKEN, BotApi
from .conftest import PHONE, Live, sign_in

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BOT = "ppid_sukamaju_bot"


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"


def _shoot(page: Any, name: str, phone: bool) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}{'-phone' if phone else ''}.png"),
                    full_page=True)


@pytest.fixture()
def bot(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[BotApi]:
    """A loopback Telegram Bot API, configured as the service's bot."""
    with BotApi() as api:
        settings = live.runtime.settings
        monkeypatch.setattr(settings, "telegram_bot_token", TOKEN)
        monkeypatch.setattr(settings, "telegram_api_url", api.url)
        monkeypatch.setattr(settings, "telegram_bot_username", BOT)
        yield api


# -- Pengaturan notifikasi ---------------------------------------------------------------

def _settings(live: Live, context: Any, phone: bool) -> None:
    expect = _expect()
    opd = live.make.opd("Kecamatan Sukamaju", timezone="Asia/Makassar")
    person = live.make.person(Role.APPROVER, opd, full_name="Sari PPID")
    page = context.new_page()
    sign_in(page, live, person.username)
    page.goto(live("/admin/notifikasi/pengaturan"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengaturan notifikasi")
    expect(page.locator("#h-no-telegram")).to_be_visible()  # no chat linked yet
    if phone:
        _fits(page)

    kind = page.locator("#pref-item_submitted")
    expect(kind.locator(".pref-kind")).to_have_text("Informasi menunggu persetujuan Anda")
    page.get_by_label("Informasi menunggu persetujuan Anda: cara").select_option(
        label="Telegram")
    page.get_by_label("Informasi menunggu persetujuan Anda: waktu email/Telegram").select_option(
        label="Ringkasan")
    page.get_by_label("Ringkasan harian dikirim pukul").select_option("16")
    page.get_by_role("button", name="Simpan pengaturan").click()
    expect(page.locator(".flash.success")).to_have_text("Pengaturan notifikasi disimpan.")

    page.reload()
    expect(page.locator('select[name="pref-item_submitted"]')).to_have_value("telegram")
    expect(page.locator('select[name="timing-item_submitted"]')).to_have_value("digest")
    hour = page.get_by_label("Ringkasan harian dikirim pukul")
    expect(hour).to_have_value("16")
    expect(hour.locator("option:checked")).to_have_text("16.00 WITA")
    # the other kinds keep their defaults
    expect(page.locator('select[name="timing-item_returned"]')).to_have_value("immediate")
    expect(page.locator('select[name="pref-item_returned"]')).to_have_value("email")
    with live.runtime.db.read() as s:
        stored = {k: (d, t) for k, d, t in s.execute(
            select(NotificationPreference.kind, NotificationPreference.delivery,
                   NotificationPreference.timing)
            .where(NotificationPreference.user_id == person.user_id))}
        assert s.scalar(select(User.digest_hour).where(User.id == person.user_id)) == 16
    assert stored["item_submitted"] == ("telegram", "digest")

    page.get_by_role("button", name="Buat kode penautan").click()
    code = page.locator("#telegram-code-value")
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{8}$"))
    value = code.inner_text()
    link = page.locator("#telegram-deep-link")
    expect(link).to_have_text(f"t.me/{BOT}")
    expect(link).to_have_attribute("href", f"https://t.me/{BOT}?start={value}")
    expect(page.locator("#telegram-code")).to_contain_text(f"/start@{BOT} {value}")
    if phone:
        _fits(page)
    _shoot(page, "notification-settings", phone)


def test_notification_settings_on_desktop(live: Live, bot: BotApi, desktop: Any) -> None:
    _settings(live, desktop, phone=False)


def test_notification_settings_on_phone(live: Live, bot: BotApi, phone: Any) -> None:
    _settings(live, phone, phone=True)


# -- Aturan eskalasi ---------------------------------------------------------------------

def _escalation(live: Live, context: Any, phone: bool) -> None:
    expect = _expect()
    live.make.opd("Dinas Kesehatan")
    username = live.make.admin().username
    page = context.new_page()
    sign_in(page, live, username)
    page.get_by_role("link", name="Pengawasan").click()
    page.locator("#oversight-escalation").click()
    page.wait_for_url(live("/admin/pengawasan/eskalasi"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aturan eskalasi")
    form = page.locator("#escalation-rules")
    expect(form.locator("fieldset.escalation-rule")).to_have_count(3)
    if phone:
        _fits(page)

    held = page.locator("#rule-channel_held_hours")
    waiting = page.locator("#rule-approval_wait_hours")
    expect(held.get_by_label("Batas (jam)")).to_have_value("24")
    held.get_by_label("Batas (jam)").fill("12")
    waiting.get_by_label("Aktif").uncheck()
    page.get_by_role("button", name="Simpan aturan").click()
    expect(page.locator(".flash.success")).to_have_text("Aturan eskalasi disimpan.")

    page.reload()
    held = page.locator("#rule-channel_held_hours")
    waiting = page.locator("#rule-approval_wait_hours")
    expect(held.get_by_label("Batas (jam)")).to_have_value("12")
    expect(held.get_by_label("Aktif")).to_be_checked()
    expect(waiting.get_by_label("Aktif")).not_to_be_checked()
    expect(waiting.get_by_label("Batas (jam)")).to_have_value("48")

    # enable it again with a new value
    waiting.get_by_label("Aktif").check()
    waiting.get_by_label("Batas (jam)").fill("36")
    page.get_by_role("button", name="Simpan aturan").click()
    expect(page.locator(".flash.success")).to_have_text("Aturan eskalasi disimpan.")
    if phone:
        _fits(page)
    _shoot(page, "escalation", phone)
    page.reload()
    waiting = page.locator("#rule-approval_wait_hours")
    expect(waiting.get_by_label("Aktif")).to_be_checked()
    expect(waiting.get_by_label("Batas (jam)")).to_have_value("36")
    with live.runtime.db.read() as s:
        stored = {r.name: (r.threshold, r.enabled) for r in s.scalars(select(EscalationRule))}
    assert stored["channel_held_hours"] == (12, True)
    assert stored["approval_wait_hours"] == (36, True)


def test_escalation_rules_on_desktop(live: Live, desktop: Any) -> None:
    _escalation(live, desktop, phone=False)


def test_escalation_rules_on_phone(live: Live, phone: Any) -> None:
    _escalation(live, phone, phone=True)


# -- Notifikasi (the bell) ---------------------------------------------------------------

def _bell(live: Live, context: Any, phone: bool) -> None:
    expect = _expect()
    make = live.make
    opd = make.opd("Dinas Komunikasi dan Informatika", timezone="Asia/Makassar")
    editor = make.person(Role.EDITOR, opd, full_name="Budi Operator")
    approver = make.person(Role.APPROVER, opd, full_name="Sari PPID")
    site = make.channel(opd, "site", "Situs Kominfo")
    item = make.item(editor, opd, [site.id], schedule=make.in_a_minute(),
                     title="Pengumuman jadwal posyandu")
    with live.runtime.db.write() as s:
        items.submit_item(s, editor.principal, live.runtime.settings, item.id)

    page = context.new_page()
    sign_in(page, live, approver.username)
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Notifikasi (1 belum dibaca)")
    expect(bell.locator(".bell-count")).to_have_text("1")
    if phone:
        _fits(page)
    bell.click()
    page.wait_for_url(live("/admin/notifikasi"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifikasi")
    entries = page.locator("#notifications li.notif")
    expect(entries).to_have_count(1)
    entry = entries.first
    expect(entry).to_have_class(re.compile(r"\bunread\b"))
    expect(entry.locator(".notif-subject")).to_have_text(
        "Menunggu persetujuan: Pengumuman jadwal posyandu")
    expect(entry.locator(".notif-body")).to_contain_text("Budi Operator mengajukan")
    expect(bell).to_have_attribute("aria-current", "page")
    if phone:
        _fits(page)
    _shoot(page, "notifications", phone)

    entry.get_by_role("button", name="Buka").click()
    page.wait_for_url(re.compile(rf"/admin/informasi/{item.id}(#approval)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengumuman jadwal posyandu")
    expect(page.locator("#approval")).to_be_visible()
    if phone:
        _fits(page)
    # read now: the bell has no count and the list shows it read
    expect(page.locator("#bell .bell-count")).to_have_count(0)
    expect(page.locator("#bell")).to_have_attribute("aria-label", "Notifikasi")
    page.locator("#bell").click()
    expect(page.locator("#notifications li.notif.unread")).to_have_count(0)
    expect(page.get_by_role("button", name="Tandai semua sudah dibaca")).to_have_count(0)


def test_notifications_bell_on_desktop(live: Live, desktop: Any) -> None:
    _bell(live, desktop, phone=False)


def test_notifications_bell_on_phone(live: Live, phone: Any) -> None:
    _bell(live, phone, phone=True)
