"""The admin UI in a real browser: compose, schedule, approve, publish, fail and retry,
switch language, and a phone-sized screen."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from publisher.timeutil import to_local, utcnow

from ..loopback_http import LoopbackServer, send
from .conftest import Live, sign_in

pytestmark = pytest.mark.e2e


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _reload_until(page: Any, locator: str, text: str, seconds: float = 15) -> None:
    """Reload until ``locator`` contains ``text`` (the worker runs in the background)."""
    deadline = utcnow() + timedelta(seconds=seconds)
    while True:
        if text in (page.locator(locator).inner_text() or ""):
            return
        if utcnow() > deadline:
            raise AssertionError(f"{text!r} never appeared in {locator}")
        page.wait_for_timeout(300)
        page.reload()


def test_compose_schedule_approve_publish_and_register(live: Live, desktop: Any) -> None:
    expect = _expect()
    make = live.make
    opd = make.opd("Dinas Kominfo", timezone="Asia/Makassar")
    make.person("approver", opd, username="ppid1", full_name="Siti Drafter")
    make.person("approver", opd, username="ppid2", full_name="Budi Penyetuju")
    make.channel(opd, "site", "Situs Kominfo")

    page = desktop.new_page()
    sign_in(page, live, "ppid1")
    page.get_by_role("link", name="Tulis").click()
    page.get_by_label("Judul").fill("Jadwal Posyandu Desember")
    page.get_by_label("Isi", exact=True).fill("Posyandu **Desa Firdaus** dibuka pukul 08.00.")
    page.get_by_label("Ringkasan isi informasi").fill("Jadwal posyandu bulan Desember")
    page.get_by_label("Situs Kominfo").check()
    preview = page.locator("#previews")
    expect(preview.locator("strong", has_text="Desa Firdaus")).to_be_visible()
    expect(preview).to_contain_text("Jadwal Posyandu Desember")

    when = to_local(utcnow() + timedelta(days=1), "Asia/Makassar").replace(
        hour=9, minute=0, second=0, microsecond=0)
    page.get_by_label("Pada waktu tertentu").check()
    expect(page.locator("#tz-label")).to_have_text("WITA")
    page.get_by_label("Waktu (zona OPD)").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Simpan & ajukan").click()
    expect(page.locator(".flash.success")).to_contain_text("diajukan untuk persetujuan")
    item_url = page.url

    # the drafter may not approve their own item
    expect(page.locator("#own-draft")).to_be_visible()
    expect(page.get_by_role("button", name="Setujui")).to_have_count(0)

    other = desktop.new_page()
    desktop.clear_cookies()
    sign_in(other, live, "ppid2")
    other.get_by_role("link", name="Persetujuan").click()
    other.get_by_role("link", name="Jadwal Posyandu Desember").click()
    other.get_by_label("Catatan (wajib bila dikembalikan)").fill("Sudah sesuai")
    other.get_by_role("button", name="Setujui").click()
    expect(other.locator(".flash.success")).to_contain_text("Disetujui")
    expect(other.locator("#h-pubs + div")).to_contain_text(when.strftime("%d-%m-%Y 09:00 WITA"))

    # the calendar shows it on its day
    other.get_by_role("link", name="Kalender").click()
    other.get_by_label("Tanggal").fill(when.strftime("%Y-%m-%d"))
    other.get_by_role("button", name="Tampilkan").click()
    expect(other.locator("#calendar")).to_contain_text("Jadwal Posyandu Desember")
    other.locator("#calendar").get_by_role("link", name=re.compile("Jadwal Posyandu")).click()

    # publish now instead: the worker sends it to the site channel
    other.get_by_label("Jadwal ulang").select_option("now")
    other.get_by_role("button", name="Simpan jadwal").click()
    _reload_until(other, "#h-pubs + div", "terbit")
    live_link = other.locator("#h-pubs + div").get_by_role("link", name="Lihat posting")
    href = live_link.get_attribute("href")
    assert href and href.startswith(live.url + "/o/dinas-kominfo/i/")
    live_link.click()
    expect(other.locator("body")).to_contain_text("Jadwal Posyandu Desember")
    expect(other.locator("body")).to_contain_text("Desa Firdaus")

    other.goto(item_url)
    expect(other.locator("#h-timeline + ol")).to_contain_text("publication.published")
    other.get_by_role("link", name="Register (DIP)").click()
    expect(other.locator("#register")).to_contain_text("Jadwal Posyandu Desember")
    expect(other.locator("#register")).to_contain_text("Situs Kominfo")
    with other.expect_download() as download:
        other.get_by_role("link", name="Unduh CSV").click()
    assert download.value.suggested_filename.startswith("dip-dinas-kominfo-")
    other.get_by_role("link", name="Halaman DIP publik").click()
    expect(other.locator("body")).to_contain_text("Jadwal Posyandu Desember")


def test_failed_publication_is_explained_and_retried(live: Live, desktop: Any) -> None:
    expect = _expect()
    make = live.make
    answers = [400]

    def receiver(h: Any) -> None:
        status = answers.pop(0) if answers else 200
        send(h, status, b'{"message": "kategori wajib diisi"}' if status >= 400 else b"{}",
             "application/json")

    with LoopbackServer() as server:
        server.route("/hook", receiver)
        opd = make.opd("Kecamatan Sei Rampah", approval_required=False)
        make.person("editor", opd, username="operator")
        make.channel(opd, "webhook", "CMS Kecamatan", config={"url": server.url("/hook")})
        page = desktop.new_page()
        sign_in(page, live, "operator")
        page.get_by_role("link", name="Tulis").click()
        page.get_by_label("Judul").fill("Pengumuman lelang")
        page.get_by_label("Isi", exact=True).fill("Lelang dibuka.")
        page.get_by_label("CMS Kecamatan").check()
        page.get_by_role("button", name="Simpan & ajukan").click()
        expect(page.locator(".flash.success")).to_contain_text("disetujui")

        page.get_by_role("link", name="Antrean").click()
        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Saring").click()
        _reload_until(page, "#queue", "Pengumuman lelang")
        row = page.locator("#queue tbody tr", has_text="Pengumuman lelang")
        expect(row).to_contain_text("gagal")
        expect(row.locator(".explain")).to_contain_text("Platform menolak kiriman ini")
        expect(row.locator(".explain")).to_contain_text("HTTP 400")
        row.get_by_role("button", name="Kirim ulang").click()
        expect(page.locator(".flash.success")).to_contain_text("dikirim ulang")
        page.goto(live("/admin/antrean"))
        _reload_until(page, "#queue tbody tr", "terbit")
        assert len(server.requests) >= 2


def test_switch_language(live: Live, desktop: Any) -> None:
    expect = _expect()
    opd = live.make.opd()
    live.make.person("editor", opd, username="operator")
    page = desktop.new_page()
    sign_in(page, live, "operator")
    expect(page.get_by_role("heading", level=1)).to_have_text("Beranda")
    expect(page.locator("#no-worker")).to_have_count(0)  # the fixture's worker beats
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Compose")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live, "operator")  # the choice is stored on the user
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Beranda")


def test_phone_viewport(live: Live, phone: Any) -> None:
    expect = _expect()
    make = live.make
    opd = make.opd("Desa Firdaus")
    editor = make.person("editor", opd, username="operator")
    approver = make.person("approver", opd, username="ppid")
    site = make.channel(opd, "site", "Situs Desa")
    make.published_item(editor, approver, opd, [site.id], title="Musyawarah desa")
    page = phone.new_page()
    sign_in(page, live, "operator")
    for path in ("/admin/", "/admin/tulis", "/admin/kalender", "/admin/antrean",
                 "/admin/register"):
        page.goto(live(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} scrolls sideways on a phone ({width}px)"
    page.goto(live("/admin/antrean"))
    _reload_until(page, "#queue", "terbit")
    expect(page.get_by_role("link", name="Musyawarah desa")).to_be_visible()
    page.get_by_role("link", name="Tulis").click()
    expect(page.get_by_label("Judul")).to_be_visible()
    page.get_by_label("Judul").fill("Info dari ponsel")
    page.get_by_label("Situs Desa").check()
    expect(page.locator("#previews")).to_contain_text("Info dari ponsel")
    # dikecualikan: the exemption fields appear and submitting is disabled
    expect(page.locator("#exemption")).to_be_hidden()
    page.get_by_label("Informasi Dikecualikan").check()
    expect(page.get_by_label("Pasal 17 UU 14/2008 huruf")).to_be_visible()
    expect(page.get_by_role("button", name="Simpan & ajukan")).to_be_disabled()
    page.get_by_label("Informasi Berkala").check()
    expect(page.get_by_role("button", name="Simpan & ajukan")).to_be_enabled()
