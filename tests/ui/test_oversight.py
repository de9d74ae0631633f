"""Pengawasan (/admin/pengawasan): every OPD and desa in one table for the PPID Utama and
auditors, with its CSV export; counts, sort, filters, access and odd query arguments."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from publisher.models import Channel, ChannelStatus, Item, Publication, PublicationStatus
from publisher.services import items
from publisher.timeutil import utcnow
from publisher.ui.oversight import csv_header

HUGE = str(10**30)


def _publish(runtime: Any, item_id: int, **values: Any) -> None:
    values.setdefault("status", PublicationStatus.PUBLISHED)
    if values["status"] == PublicationStatus.PUBLISHED:
        values.setdefault("published_at", utcnow())
    with runtime.db.write() as s:
        s.execute(update(Publication).where(Publication.item_id == item_id).values(**values))


@pytest.fixture()
def world(make: Any, runtime: Any) -> dict[str, Any]:
    """Kominfo meets the target; Dinkes has a failed publication and a submitted item; a
    kecamatan with a desa whose channel needs re-auth and a stale berkala item."""
    kominfo = make.opd("Dinas Kominfo", timezone="Asia/Makassar")
    dinkes = make.opd("Dinas Kesehatan")
    kecamatan = make.opd("Kecamatan Sei Rampah")
    desa = make.opd("Desa Firdaus", parent=kecamatan.id, timezone="Asia/Jayapura")
    ed_k, ap_k = make.person("editor", kominfo), make.person("approver", kominfo)
    ed_d, ap_d = make.person("editor", dinkes), make.person("approver", dinkes)
    ed_s, ap_s = make.person("editor", desa), make.person("approver", desa)
    site_k = make.channel(kominfo, "site", "Situs Kominfo")
    hook_k = make.channel(kominfo, "webhook", "Portal Pemda",
                          config={"url": "http://127.0.0.1:9/hook"})
    site_d = make.channel(dinkes, "site", "Situs Dinkes")
    site_s = make.channel(desa, "site", "Situs Desa")
    for n in range(5):  # five posts this week; the first also went to a second channel
        channels = [site_k.id, hook_k.id] if n == 0 else [site_k.id]
        item = make.published_item(ed_k, ap_k, kominfo, channels, title=f"Kominfo {n}")
        _publish(runtime, item.id)
    old = make.published_item(ed_k, ap_k, kominfo, [site_k.id], title="Kominfo lama")
    _publish(runtime, old.id, published_at=utcnow() - timedelta(weeks=3))
    failed = make.published_item(ed_d, ap_d, dinkes, [site_d.id], title="Dinkes gagal")
    _publish(runtime, failed.id, status=PublicationStatus.FAILED, last_error="HTTP 400")
    waiting = make.item(ed_d, dinkes, [site_d.id], title="Dinkes menunggu")
    with runtime.db.write() as s:
        items.submit_item(s, ed_d.principal, runtime.settings, waiting.id)
    stale = make.published_item(ed_s, ap_s, desa, [site_s.id], title="Desa berkala")
    _publish(runtime, stale.id, published_at=utcnow() - timedelta(days=200))
    with runtime.db.write() as s:
        s.execute(update(Item).where(Item.id == stale.id)
                  .values(updated_at=utcnow() - timedelta(days=200)))
        s.execute(update(Channel).where(Channel.id == site_s.id)
                  .values(status=ChannelStatus.NEEDS_REAUTH))
    return {"kominfo": kominfo, "dinkes": dinkes, "kecamatan": kecamatan, "desa": desa,
            "editor": ed_k, "approver": ap_k}


def _csv(ui: Any, query: str = "") -> list[dict[str, str]]:
    response = ui.get(f"/admin/pengawasan.csv{query}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == csv_header()
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _names(page: str) -> list[str]:
    return re.findall(r'<tr id="opd-\d+"[^>]*>\s*<td[^>]*><a [^>]*><strong>([^<]+)</strong>', page)


def test_counts_and_flags(ui: Any, make: Any, world: dict[str, Any]) -> None:
    ui.login(make.admin().username)
    page = ui.text("/admin/pengawasan")
    assert 'class="spark"' in page and "<script" not in page.split("</head>", 1)[1]
    assert "Pengawasan" in page
    rows = {r["OPD / desa"]: r for r in _csv(ui)}
    assert set(rows) == {"Dinas Kominfo", "Dinas Kesehatan", "Kecamatan Sei Rampah",
                         "Desa Firdaus"}
    kominfo = rows["Dinas Kominfo"]
    assert kominfo["Minggu ini"] == "5"  # five items, though six publications
    assert kominfo["Memenuhi target"] == "ya"
    assert kominfo["Minggu ke-8"] == "5"
    assert sum(int(kominfo[f"Minggu ke-{i}"]) for i in range(1, 9)) == 6  # + 3 weeks ago
    assert kominfo["Per saluran (8 minggu)"] == "Situs Kominfo: 6; Portal Pemda: 1"
    assert kominfo["Masalah"] == "" and kominfo["Gagal/ditahan"] == "0"
    assert kominfo["Zona"] == "WITA" and kominfo["Terbit terakhir"].endswith(" WITA")
    dinkes = rows["Dinas Kesehatan"]
    assert dinkes["Minggu ini"] == "0" and dinkes["Memenuhi target"] == "tidak"
    assert dinkes["Gagal/ditahan"] == "1" and dinkes["Menunggu persetujuan"] == "1"
    assert dinkes["Tertua menunggu (jam)"] == "0"
    assert "publikasi gagal/ditahan" in dinkes["Masalah"]
    assert dinkes["Terbit terakhir"] == ""
    desa = rows["Desa Firdaus"]
    assert desa["Induk"] == "Kecamatan Sei Rampah"
    assert desa["Berkala usang"] == "1"
    assert desa["Saluran perlu perhatian"] == "Situs Desa: perlu disambungkan ulang"
    assert desa["Terbit terakhir"].endswith(" WIT")
    assert "berkala belum diperbarui 6 bulan" in desa["Masalah"]
    assert "saluran perlu perhatian" in desa["Masalah"]
    # the HTML table shows the same
    assert f'id="opd-{world["dinkes"].id}" class="has-problem"' in page
    assert f'id="opd-{world["kominfo"].id}" class=""' in page
    assert "5/4" in page and "memenuhi target" in page


def test_expiring_credential_and_old_approval(ui: Any, make: Any, runtime: Any,
                                              world: dict[str, Any]) -> None:
    with runtime.db.write() as s:
        channel = s.scalars(select(Channel).where(Channel.name == "Portal Pemda")).one()
        channel.credential_expires_at = utcnow() + timedelta(days=5)
        s.execute(update(Item).where(Item.title == "Dinkes menunggu")
                  .values(submitted_at=utcnow() - timedelta(days=4, hours=1)))
    ui.login(make.admin().username)
    rows = {r["OPD / desa"]: r for r in _csv(ui)}
    assert rows["Dinas Kominfo"]["Saluran perlu perhatian"].startswith(
        "Portal Pemda: izin akses berakhir ")
    assert rows["Dinas Kominfo"]["Saluran perlu perhatian"].endswith(" WITA")
    assert rows["Dinas Kesehatan"]["Tertua menunggu (jam)"] == str(4 * 24 + 1)
    assert "persetujuan tertunda > 3 hari" in rows["Dinas Kesehatan"]["Masalah"]
    page = ui.text("/admin/pengawasan?urut=tertua&arah=desc")
    assert "tertua 4 hari" in page


def test_sort_and_filter(ui: Any, make: Any, world: dict[str, Any]) -> None:
    ui.login(make.admin().username)
    assert _names(ui.text("/admin/pengawasan")) == [
        "Desa Firdaus", "Dinas Kesehatan", "Dinas Kominfo", "Kecamatan Sei Rampah"]
    assert _names(ui.text("/admin/pengawasan?urut=nama&arah=desc")) == [
        "Kecamatan Sei Rampah", "Dinas Kominfo", "Dinas Kesehatan", "Desa Firdaus"]
    assert _names(ui.text("/admin/pengawasan?urut=minggu&arah=desc"))[0] == "Dinas Kominfo"
    assert _names(ui.text("/admin/pengawasan?urut=gagal&arah=desc"))[0] == "Dinas Kesehatan"
    assert _names(ui.text("/admin/pengawasan?urut=masalah&arah=desc"))[0] == "Desa Firdaus"
    assert _names(ui.text("/admin/pengawasan?q=dinas")) == ["Dinas Kesehatan", "Dinas Kominfo"]
    assert _names(ui.text("/admin/pengawasan?q=KOMINFO")) == ["Dinas Kominfo"]
    assert _names(ui.text("/admin/pengawasan?masalah=1")) == ["Desa Firdaus", "Dinas Kesehatan"]
    under = world["kecamatan"].id
    assert _names(ui.text(f"/admin/pengawasan?induk={under}")) == [
        "Desa Firdaus", "Kecamatan Sei Rampah"]
    assert _names(ui.text(f"/admin/pengawasan?induk={world['kominfo'].id}")) == ["Dinas Kominfo"]
    # header links flip the direction of the current sort and keep the filters
    page = ui.text("/admin/pengawasan?q=dinas&urut=gagal&arah=desc")
    assert 'href="/admin/pengawasan?urut=gagal&amp;arah=asc&amp;q=dinas"' in page
    assert 'aria-sort="descending"' in page
    assert 'href="/admin/pengawasan.csv?urut=gagal&amp;arah=desc&amp;q=dinas"' in page
    # the CSV honours the same sort and filters
    assert [r["OPD / desa"] for r in _csv(ui, "?masalah=1&urut=nama&arah=desc")] == [
        "Dinas Kesehatan", "Desa Firdaus"]
    assert [r["OPD / desa"] for r in _csv(ui, f"?induk={under}")] == [
        "Desa Firdaus", "Kecamatan Sei Rampah"]


def test_csv_has_a_row_per_opd(ui: Any, make: Any, world: dict[str, Any]) -> None:
    make.opd("=HYPERLINK(\"x\")")  # a name a spreadsheet would run as a formula
    auditor = make.person("auditor")
    ui.login(auditor.username)
    rows = _csv(ui)
    assert len(rows) == 5
    assert "'=HYPERLINK(\"x\")" in {r["OPD / desa"] for r in rows}
    response = ui.get("/admin/pengawasan.csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data().startswith(b"\xef\xbb\xbf")


def test_nav_and_access(ui: Any, ui2: Any, make: Any, world: dict[str, Any]) -> None:
    ui.login(world["editor"].username)
    assert "/admin/pengawasan" not in ui.text("/admin/")
    assert ui.get("/admin/pengawasan").status_code == 403
    assert ui.get("/admin/pengawasan.csv").status_code == 403
    ui2.login(world["approver"].username)
    assert ui2.get("/admin/pengawasan").status_code == 403
    assert ui2.get("/admin/pengawasan.csv").status_code == 403
    anonymous = ui2.client.application.test_client()
    response = anonymous.get("/admin/pengawasan")
    assert response.status_code in (302, 401)
    auditor = make.person("auditor")
    third = type(ui)(ui2.client.application.test_client())
    third.login(auditor.username)
    page = third.text("/admin/")
    assert 'href="/admin/pengawasan"' in page
    assert 'aria-current="page">Pengawasan' in third.text("/admin/pengawasan")


@pytest.mark.parametrize("query", [
    "?urut=drop%20table", "?urut=nama;DROP TABLE opd", "?arah=x", "?arah=desc&urut=x",
    f"?induk={HUGE}", f"?induk={2**63}", "?induk=-1", "?induk=abc", f"?masalah={HUGE}",
    "?q=" + "x" * 5000, "?q=%25_%27", "?q=%00", f"?urut={HUGE}&arah={HUGE}&page={HUGE}",
])
def test_odd_arguments(ui: Any, make: Any, world: dict[str, Any], query: str) -> None:
    ui.login(make.admin().username)
    assert ui.get(f"/admin/pengawasan{query}").status_code == 200
    assert ui.get(f"/admin/pengawasan.csv{query}").status_code == 200


def test_empty_pemda(ui: Any, make: Any) -> None:
    ui.login(make.admin().username)
    assert "Tidak ada data." in ui.text("/admin/pengawasan")
    assert _csv(ui) == []
