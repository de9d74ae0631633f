"""The Monev bundle: a deterministic ZIP whose manifest vouches for every file, with the DIP,
DIK documents, publication log, cadence chart and serta-merta list of an OPD's year."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from publisher import monev
from publisher.models import Opd, Role
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

from .cli.conftest import Cli
from .dik_support import Office, in_force


@pytest.fixture()
def publisher(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "instance")


def world(office: Office) -> tuple[str, str]:
    """The office with a site channel, two published items (one serta merta), and an
    approved DIK entry."""
    make = office.make
    opd = office.opd
    site = make.channel(opd, "site", "Situs Dinkes")
    first = make.published_item(office.operator, office.ppid, opd, [site.id],
                                title="Jadwal Posyandu Desember", summary="Jadwal posyandu")
    urgent = make.published_item(office.operator, office.ppid, opd, [site.id],
                                 title="Peringatan Dini Banjir", category="serta_merta")
    make.dispatcher().drain()
    in_force(office)
    return first.title, urgent.title


def build(runtime: Runtime, opd_id: int | None, year: int) -> bytes:
    with runtime.db.read() as s:
        opd = s.get(Opd, opd_id) if opd_id else None
        ticks: list[int] = []
        data = monev.build_bundle(s, runtime.settings, year, opd, ticks.append)
        assert sum(ticks) == monev.count_steps(s, runtime.settings, year, opd)
    return data


def test_bundle_contents_and_manifest(office: Office, runtime: Runtime) -> None:
    titles = world(office)
    year = utcnow().astimezone(UTC).year
    data = build(runtime, office.opd.id, year)
    bundle = zipfile.ZipFile(io.BytesIO(data))
    names = bundle.namelist()
    slug = office.opd.slug
    assert names[-2:] == ["MANIFEST.sha256", "manifest.json"]
    assert names[:-2] == sorted(names[:-2])
    for expected in (f"dip-{slug}-{year}-s1.xlsx", f"dip-{slug}-{year}-s2.xlsx",
                     f"dip-{slug}-{year}-s1.pdf", f"dip-{slug}-{year}-s2.pdf",
                     f"penetapan-dik-{slug}.pdf", f"log-publikasi-{year}.csv",
                     f"cadence-{year}.svg", f"serta-merta-{year}.csv"):
        assert expected in names
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in bundle.infolist())
    assert {i.date_time for i in bundle.infolist()} == {(year, 12, 31, 23, 59, 58)}

    manifest = json.loads(bundle.read("manifest.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    for name, entry in listed.items():
        body = bundle.read(name)
        assert entry["size"] == len(body)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
    sums = bundle.read("MANIFEST.sha256").decode().splitlines()
    assert len(sums) == len(names) - 2
    for line in sums:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(bundle.read(name)).hexdigest() == digest
    assert manifest["scope"]["slug"] == slug and manifest["year"] == year
    counts = manifest["generated_from"]
    assert counts["publications_published"] == 2 and counts["berita_acara"] == 1
    assert counts["serta_merta"] == 1 and counts["penetapan"] == 1

    log = list(csv.DictReader(io.StringIO(bundle.read(f"log-publikasi-{year}.csv")
                                          .decode("utf-8-sig"))))
    assert sorted(r["judul"] for r in log) == sorted(titles)
    for row in log:
        assert row["status"] == "published" and row["saluran_jenis"] == "site"
        assert row["published_at_utc"].endswith("Z") and row["published_at_lokal"].endswith("WIB")
        assert row["url"].startswith("http") and row["saluran_nama"] == "Situs Dinkes"

    ba = [n for n in names if n.startswith("berita-acara/")]
    assert len(ba) == 1 and "/" not in ba[0].removeprefix("berita-acara/")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(bundle.read(ba[0]))).pages)
    assert "BERITA ACARA UJI KONSEKUENSI" in text

    svg = ElementTree.fromstring(bundle.read(f"cadence-{year}.svg"))
    assert svg.tag.endswith("svg")
    assert any("Situs Dinkes" in (t.text or "") for t in svg.iter("{http://www.w3.org/2000/svg}text"))

    serta = list(csv.DictReader(io.StringIO(bundle.read(f"serta-merta-{year}.csv")
                                            .decode("utf-8-sig"))))
    assert [r["judul"] for r in serta] == ["Peringatan Dini Banjir"]
    assert int(serta[0]["selang_detik"]) >= 0

    semester = 1 if utcnow().month <= 6 else 2
    sheet = load_workbook(io.BytesIO(bundle.read(f"dip-{slug}-{year}-s{semester}.xlsx"))).active
    assert sheet is not None
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert "Jadwal Posyandu Desember" in cells
    dip_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        bundle.read(f"dip-{slug}-{year}-s{semester}.pdf"))).pages)
    assert f"Tahun {year} Semester {semester}".upper() in dip_text
    assert "Jadwal Posyandu Desember" in dip_text

    assert build(runtime, office.opd.id, year) == data  # byte-identical


def test_whole_pemda_notes_opds_without_atasan(office: Office, runtime: Runtime) -> None:
    world(office)
    year = utcnow().year
    bundle = zipfile.ZipFile(io.BytesIO(build(runtime, None, year)))
    names = bundle.namelist()
    assert f"dip-pemda-{year}-s2.xlsx" in names
    assert f"penetapan-dik-{office.opd.slug}.pdf" in names
    other = office.other_opd.slug
    assert f"penetapan-dik-{other}.pdf" not in names
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["scope"]["type"] == "pemda"
    assert any(other in note for note in manifest["notes"])
    # an empty year still gives a complete, valid bundle
    empty = zipfile.ZipFile(io.BytesIO(build(runtime, None, year - 3)))
    assert json.loads(empty.read("manifest.json"))["generated_from"]["publications"] == 0
    ElementTree.fromstring(empty.read(f"cadence-{year - 3}.svg"))


def test_cadence_chart_is_deterministic_svg() -> None:
    svg = monev.cadence_chart("Uji <&>", ["W01", "W02"], [("A & B", [5, 1]), ("C", [0, 0])], 4)
    root = ElementTree.fromstring(svg)
    rects = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find(
        "{http://www.w3.org/2000/svg}title") is not None]
    assert [r.get("fill") for r in rects] == ["#1a6b35", "#c07000"]
    assert svg == monev.cadence_chart("Uji <&>", ["W01", "W02"],
                                      [("A & B", [5, 1]), ("C", [0, 0])], 4)
    assert monev.safe_name("BA-UK/003/DINKES/2026") == "BA-UK-003-DINKES-2026"


def test_cli_writes_bundle_and_rejects_bad_input(publisher: Cli, office: Office,
                                                 tmp_path: Path) -> None:
    world(office)
    year = utcnow().year
    out = tmp_path / "bundle.zip"
    done = publisher("monev", "--year", str(year), "--opd", office.opd.slug, "-o", str(out))
    assert done.exit_code == 0, done.output
    assert str(out) in done.output
    with zipfile.ZipFile(out) as bundle:
        assert bundle.namelist()[-1] == "manifest.json"
        assert bundle.testzip() is None

    unknown = publisher("monev", "--year", str(year), "--opd", "tidak-ada",
                        "-o", str(tmp_path / "x.zip"))
    assert unknown.exit_code == 2
    assert "tidak-ada" in unknown.output
    bad_year = publisher("monev", "--year", "1900", "-o", str(tmp_path / "y.zip"))
    assert bad_year.exit_code == 2
    assert "--year" in bad_year.output
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "y.zip").exists()


def test_opd_without_atasan_and_time_of_bundle(make: object, runtime: Runtime) -> None:
    from .factories import Factory

    assert isinstance(make, Factory)
    opd = make.opd("Kecamatan Uji")
    make.person(Role.EDITOR, opd)
    as_of = datetime(2026, 7, 1, 3, 0, 1, tzinfo=UTC)
    with runtime.db.read() as s:
        row = s.get_one(Opd, opd.id)
        data = monev.build_bundle(s, runtime.settings, 2026, row, as_of=as_of)
    bundle = zipfile.ZipFile(io.BytesIO(data))
    assert not [n for n in bundle.namelist() if n.startswith("penetapan")]
    assert {i.date_time for i in bundle.infolist()} == {(2026, 7, 1, 10, 0, 0)}  # WIB
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["as_of"] == "2026-07-01T03:00:01Z"
    assert any("atasan PPID" in n for n in manifest["notes"])
