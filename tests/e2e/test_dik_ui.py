"""The DIK pages in a real browser, on a desktop and on a 360 px phone: the operator drafts an
entry with its uji konsekuensi, the PPID Pelaksana signs and submits, the atasan PPID approves,
and the public DIK and the verification page a berita acara's QR code opens. The screenshots go
to ``docs/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from publisher.runtime import Runtime

from ..dik_support import Office, entry_data
from ..factories import Factory
from .conftest import PHONE, Live, sign_in

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TITLE = entry_data()["title"]
#: The entry form's labels (exact text) for each field of ``entry_data()``.
TEXT_LABELS = {
    "title": "Informasi (jenis informasi yang dikecualikan)",
    "description": "Uraian",
    "documents": "Dokumen atau jenis dokumen yang dicakup",
    "legal_basis": "Dasar hukum (pasal dan undang-undang)",
    "holder_unit": "Unit yang menguasai informasi",
    "period_start": "Jangka waktu: sejak",
    "period_end": "sampai dengan (tanggal)",
    "review_date": "Tanggal peninjauan kembali",
    "members": "Anggota uji (PPID Pelaksana, Tim Pertimbangan; satu per baris)",
    "place": "Tempat",
    "test_date": "Tanggal uji konsekuensi",
}
#: The uji konsekuensi itself, inside ``#uji-table``.
UJI_LABELS = {
    "harm": "Konsekuensi (bahaya) bila dibuka",
    "public_interest": "Kepentingan publik bila dibuka",
    "weighing": "Pertimbangan",
}


# The ``office`` fixture (tests/dik_support.py) builds its OPD and people with ``make`` and
# ``runtime``: here they are the live server's, so the browser sees them.
@pytest.fixture()
def runtime(live: Live) -> Runtime:
    return live.runtime


@pytest.fixture()
def make(live: Live) -> Factory:
    return live.make


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _fits(page: Any, phone: bool) -> None:
    """On a phone the page must not scroll sideways."""
    if not phone:
        return
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"


def _as(page: Any, context: Any, live: Live, username: str) -> None:
    context.clear_cookies()
    sign_in(page, live, username)


def _walk(live: Live, office: Office, context: Any, suffix: str) -> None:
    """The whole chain, with a screenshot (and on a phone, a width check) of every page."""
    expect = _expect()
    phone = suffix == "-phone"
    data = entry_data()
    page = context.new_page()

    # 1. the operator fills the entry form
    sign_in(page, live, office.operator.username)
    page.goto(live("/admin/dik"))
    page.get_by_role("link", name="Entri DIK baru").click()
    expect(page.locator("#uji-table")).to_be_visible()
    page.get_by_label("OPD", exact=True).select_option(label="Dinas Kesehatan")
    page.get_by_label("Pasal 17 UU 14/2008 huruf").select_option(data["article"])
    for name, label in TEXT_LABELS.items():
        value = data[name]
        page.get_by_label(label, exact=True).fill(
            "\n".join(value) if isinstance(value, list) else value)
    table = page.locator("#uji-table")
    for name, label in UJI_LABELS.items():
        table.get_by_label(label, exact=True).fill(data[name])
    table.get_by_label("Kesimpulan", exact=True).select_option(data["conclusion"])
    _fits(page, phone)
    _shot(page, f"dik-form{suffix}")
    page.get_by_role("button", name="Simpan draf").click()
    expect(page.locator(".flash.success")).to_contain_text("Draf DIK disimpan")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("#dik-status")).to_have_text("draf")
    expect(page.locator("#versi-1 table.uji")).to_contain_text(
        "dr. Sari, PPID Pelaksana, Budi, Tim Pertimbangan")  # one member per line
    expect(page.locator("#chain").get_by_role(
        "button", name="Tanda tangani dan ajukan (PPID Pelaksana)")).to_have_count(0)
    _fits(page, phone)
    detail = page.url

    # 2. the PPID Pelaksana signs and submits; the atasan PPID approves
    _as(page, context, live, office.ppid.username)
    page.goto(detail)
    page.locator("#chain").get_by_role(
        "button", name="Tanda tangani dan ajukan (PPID Pelaksana)").click()
    expect(page.locator(".flash.success")).to_contain_text("diajukan untuk pengesahan")
    expect(page.locator("#dik-status")).to_have_text("menunggu pengesahan")
    expect(page.get_by_role("button", name="Sahkan (atasan PPID)")).to_have_count(0)

    _as(page, context, live, office.kepala.username)
    page.goto(detail)
    chain = page.locator("#chain")
    expect(chain).to_contain_text("dr. Ahmad Kepala")
    approve = chain.get_by_role("button", name="Sahkan (atasan PPID)")
    expect(approve).to_be_visible()
    expect(chain.get_by_label("Catatan pengembalian")).to_be_visible()
    _fits(page, phone)
    _shot(page, f"dik-approval{suffix}")
    approve.click()
    expect(page.locator(".flash.success")).to_contain_text("disahkan dan berlaku")
    expect(page.locator("#dik-status")).to_have_text("berlaku")
    expect(page.locator("#versi-1")).to_contain_text("Kepala Dinas Kesehatan")
    _fits(page, phone)

    # the list, as the admin (who also sees the form naming an OPD's atasan PPID)
    _as(page, context, live, office.make.admin().username)
    page.goto(live("/admin/dik"))
    row = page.locator("#dik-entries tbody tr", has_text=TITLE)
    expect(row).to_contain_text("Dinas Kesehatan")
    expect(row.locator(".badge.dik-berlaku")).to_have_text("berlaku")
    expect(page.locator("#atasan")).to_contain_text("dr. Ahmad Kepala")
    expect(page.locator("#designate")).to_be_visible()
    _fits(page, phone)
    _shot(page, f"dik-list{suffix}")

    # 3. the public DIK of the OPD and the verification page
    context.clear_cookies()
    page.goto(live(f"/o/{office.opd.slug}/dik"))
    row = page.locator("table.dip-table tbody tr", has_text=TITLE)
    expect(row).to_contain_text("Pasal 17 huruf h")
    expect(row).to_contain_text(data["holder_unit"])
    _fits(page, phone)
    if phone:  # each entry a card: nothing to swipe sideways inside the table either
        width = page.locator("table.dip-table").evaluate("t => t.scrollWidth")
        assert width <= PHONE["width"], f"the DIK table is {width}px wide on a phone"
    _shot(page, f"dik-public{suffix}")
    row.get_by_role("link", name="periksa keaslian").click()
    page.wait_for_url("**/dik/v/*")
    expect(page.locator(".verdict")).to_have_text("Berlaku")
    expect(page.locator("dl.facts")).to_contain_text(TITLE)
    expect(page.locator("dl.facts")).to_contain_text("dr. Ahmad Kepala")
    _fits(page, phone)
    _shot(page, f"dik-verify{suffix}")

    # the Pemda-wide DIK lists it with its OPD
    page.goto(live("/dik"))
    row = page.locator("table.dip-table tbody tr", has_text=TITLE)
    expect(row.get_by_role("link", name="Dinas Kesehatan")).to_be_visible()
    _fits(page, phone)


def test_dik_chain_on_desktop(live: Live, office: Office, desktop: Any) -> None:
    _walk(live, office, desktop, "")


def test_dik_chain_on_phone(live: Live, office: Office, phone: Any) -> None:
    _walk(live, office, phone, "-phone")
