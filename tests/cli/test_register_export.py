"""``publisher register export``: the DIP as CSV or XLSX, with clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from tests.factories import Factory

from .conftest import Cli


def published(make: Factory) -> str:
    opd = make.opd("Dinas Uji", slug="uji")
    site = make.channel(opd, "site")
    editor, approver = make.person("editor", opd), make.person("approver", opd)
    item = make.published_item(editor, approver, opd, [site.id],
                               title="Rencana Kerja Dinas Uji 2027", summary="Renja 2027")
    assert make.dispatcher().drain() >= 0
    return item.title


def test_export_csv_and_xlsx(publisher: Cli, make: Factory, tmp_path: Path) -> None:
    title = published(make)
    out = tmp_path / "dip.csv"
    done = publisher("register", "export", "uji", "--format", "csv", "--output", str(out))
    assert done.exit_code == 0, done.output
    assert "1 informasi" in done.output
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][1] == "Judul Informasi"
    assert rows[1][1] == title

    xlsx = tmp_path / "dip.xlsx"
    done = publisher("register", "export", "all", "--format", "xlsx", "-o", str(xlsx))
    assert done.exit_code == 0, done.output
    sheet = load_workbook(xlsx).active
    assert title in [cell.value for row in sheet.iter_rows() for cell in row]


def test_export_bad_input(publisher: Cli, make: Factory, tmp_path: Path) -> None:
    make.opd("Dinas Uji", slug="uji")
    unknown = publisher("register", "export", "tidak-ada", "-o", str(tmp_path / "x.csv"))
    assert unknown.exit_code == 2
    assert "tidak-ada" in unknown.output and "OPD" in unknown.output
    year = publisher("register", "export", "uji", "--year", "1900")
    assert year.exit_code == 2
    assert "--year" in year.output
    semester = publisher("register", "export", "uji", "--semester", "3")
    assert semester.exit_code == 2
    assert "--semester" in semester.output
    nowhere = publisher("register", "export", "uji", "-o", str(tmp_path / "tidak" / "x.xlsx"))
    assert nowhere.exit_code == 2
    assert "--output" in nowhere.output
    assert not list(tmp_path.glob("*.csv"))
