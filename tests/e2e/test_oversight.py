"""The Pengawasan page in a real browser, on a desktop and on a 360 px phone: the PPID Utama
sees every OPD and desa, sorts by a column header, filters to the units with a problem and
downloads the CSV. The screenshots go to ``docs/screenshots/oversight*.png``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from publisher.models import Channel, ChannelStatus, Item, Publication, PublicationStatus
from publisher.services import items
from publisher.timeutil import utcnow

from .conftest import PHONE, Live, sign_in

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _set(live: Live, item_id: int, **values: Any) -> None:
    with live.runtime.db.write() as s:
        s.execute(update(Publication).where(Publication.item_id == item_id).values(**values))


def _world(live: Live) -> str:
    """A small Pemda: two dinas, a kecamatan with two desa; returns the admin's username."""
    make = live.make
    later = make.in_a_minute()  # the live worker must not send them before they are set
    kominfo = make.opd("Dinas Komunikasi dan Informatika", timezone="Asia/Makassar")
    dinkes = make.opd("Dinas Kesehatan")
    kecamatan = make.opd("Kecamatan Sei Rampah")
    firdaus = make.opd("Desa Firdaus", parent=kecamatan.id, timezone="Asia/Jayapura")
    make.opd("Desa Sei Rampah Kota", parent=kecamatan.id)
    plan = [(kominfo, [5, 4, 6, 4, 3, 5, 4, 5]), (dinkes, [0, 2, 1, 3, 0, 1, 2, 1]),
            (firdaus, [1, 0, 0, 2, 1, 0, 1, 0])]
    now = utcnow()
    for opd, weeks in plan:
        editor, approver = make.person("editor", opd), make.person("approver", opd)
        site = make.channel(opd, "site", f"Situs {opd.name.split()[-1]}")
        for back, count in enumerate(reversed(weeks)):
            for n in range(count):
                item = make.published_item(editor, approver, opd, [site.id], schedule=later,
                                           title=f"Informasi {opd.id}-{back}-{n}")
                when = now - timedelta(weeks=back, minutes=n) if back else now
                _set(live, item.id, status=PublicationStatus.PUBLISHED, published_at=when)
        if opd is dinkes:
            failed = make.published_item(editor, approver, opd, [site.id], schedule=later,
                                         title="Jadwal vaksinasi")
            _set(live, failed.id, status=PublicationStatus.FAILED, last_error="HTTP 400")
            waiting = make.item(editor, opd, [site.id], title="Pengumuman posyandu")
            with live.runtime.db.write() as s:
                items.submit_item(s, editor.principal, live.runtime.settings, waiting.id)
        if opd is firdaus:
            with live.runtime.db.write() as s:
                s.execute(update(Channel).where(Channel.id == site.id)
                          .values(status=ChannelStatus.NEEDS_REAUTH))
                s.execute(update(Item).where(Item.opd_id == opd.id)
                          .values(updated_at=now - timedelta(days=200)))
    return make.admin().username


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"


def _oversight(live: Live, context: Any, phone: bool) -> None:
    expect = _expect()
    username = _world(live)
    page = context.new_page()
    sign_in(page, live, username)
    page.get_by_role("link", name="Pengawasan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengawasan OPD dan desa")
    table = page.locator("#oversight")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table.locator("svg.spark")).to_have_count(5)
    kominfo = table.locator("tr", has_text="Dinas Komunikasi dan Informatika")
    expect(kominfo).to_contain_text("5/4")
    expect(kominfo).to_contain_text("memenuhi target")
    expect(kominfo).to_contain_text("WITA")
    expect(table.locator("tr", has_text="Desa Firdaus")).to_contain_text(
        "perlu disambungkan ulang")
    if phone:
        _fits(page)
        # the stacked table names each value
        expect(kominfo.locator('td[data-label="Minggu ini"]')).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"oversight{'-phone' if phone else ''}.png"),
                    full_page=True)
    if not phone:  # sort by a column header (the headers are hidden on a phone)
        page.get_by_role("link", name="Gagal/ditahan").click()
        expect(table.locator("tbody tr").first).to_contain_text("Dinas Kesehatan")
        expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Gagal/ditahan")
    page.get_by_label("Hanya yang bermasalah").check()
    page.get_by_role("button", name="Tampilkan").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    if phone:
        _fits(page)
    page.get_by_label("Nama memuat").fill("firdaus")
    page.get_by_role("button", name="Tampilkan").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh CSV").click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("OPD / desa,Induk,Zona,Minggu ini")
    assert len(lines) == 2 and lines[1].startswith("Desa Firdaus,Kecamatan Sei Rampah,WIT,")


def test_oversight_on_desktop(live: Live, desktop: Any) -> None:
    _oversight(live, desktop, phone=False)


def test_oversight_on_phone(live: Live, phone: Any) -> None:
    _oversight(live, phone, phone=True)


def test_operator_has_no_oversight(live: Live, desktop: Any) -> None:
    expect = _expect()
    opd = live.make.opd()
    live.make.person("editor", opd, username="operator")
    page = desktop.new_page()
    sign_in(page, live, "operator")
    expect(page.get_by_role("link", name="Pengawasan")).to_have_count(0)
    response = page.goto(live("/admin/pengawasan"))
    assert response is not None and response.status == 403
