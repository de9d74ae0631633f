"""``publisher dik …`` and ``publisher days-off …``: the DIK chain acted by named users,
refusals with exit code 2 and a message, deterministic documents, and working-day deadlines
across Idul Fitri 2025 with the Pemda's own days off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from publisher.models import AuditEvent, DayOff, DikEntry, DikStatus, Role
from publisher.runtime import Runtime

from ..dik_support import entry_data
from ..factories import Factory, Person
from .conftest import Cli


class Office:
    def __init__(self, make: Factory) -> None:
        self.opd = make.opd("Dinas Kesehatan", slug="dinkes")
        self.operator = make.person(Role.EDITOR, self.opd, username="rina",
                                    full_name="Rina Operator")
        self.ppid = make.person(Role.APPROVER, self.opd, username="sari",
                                full_name="dr. Sari PPID", nip="198502022010012002",
                                jabatan="Sekretaris Dinas")
        self.kepala = make.person(Role.APPROVER, self.opd, username="ahmad",
                                  full_name="dr. Ahmad Kepala", nip="197001011995031001",
                                  jabatan="Kepala Dinas Kesehatan")
        self.admin: Person = make.person(Role.ADMIN, username="ppidutama")


@pytest.fixture()
def office(make: Factory) -> Office:
    return Office(make)


def write_json(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return str(path)


def actions(runtime: Runtime) -> list[str]:
    with runtime.db.read() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def designate(publisher: Cli, office: Office) -> None:
    done = publisher("dik", "designate", "--as", office.admin.username, "--opd", "dinkes",
                     "--user", "ahmad", "--jabatan", "Kepala Dinas Kesehatan")
    assert done.exit_code == 0, done.output
    assert "dr. Ahmad Kepala" in done.output


def create(publisher: Cli, tmp_path: Path, **overrides: Any) -> int:
    path = write_json(tmp_path, "entry.json", entry_data(**overrides))
    done = publisher("dik", "create", "--as", "rina", "--opd", "dinkes", "--file", path)
    assert done.exit_code == 0, done.output
    return int(done.output.split("#")[1].split()[0])


def test_chain_through_the_cli(publisher: Cli, office: Office, runtime: Runtime,
                               tmp_path: Path) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path)
    submitted = publisher("dik", "submit", str(entry_id), "--as", "sari")
    assert submitted.exit_code == 0, submitted.output
    approved = publisher("dik", "approve", str(entry_id), "--as", "ahmad")
    assert approved.exit_code == 0, approved.output
    assert "BA-UK/DINKES" in approved.output
    with runtime.db.read() as s:
        entry = s.get(DikEntry, entry_id)
        assert entry is not None and entry.status == DikStatus.IN_FORCE
    listed = publisher("dik", "list", "--opd", "dinkes")
    assert listed.exit_code == 0, listed.output
    assert "Rekam medis pasien RSUD" in listed.output and "2031-12-01" in listed.output
    shown = publisher("dik", "show", str(entry_id), "--as", "rina")
    assert shown.exit_code == 0, shown.output
    assert "dr. Sari PPID" in shown.output and "dr. Ahmad Kepala" in shown.output
    assert {"dik.atasan_designated", "dik.drafted", "dik.submitted", "dik.approved"} <= set(
        actions(runtime))


def test_approving_what_one_submitted_is_refused_and_audited(
    publisher: Cli, office: Office, runtime: Runtime, tmp_path: Path
) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path)
    assert publisher("dik", "submit", str(entry_id), "--as", "sari").exit_code == 0
    refused = publisher("dik", "approve", str(entry_id), "--as", "sari")
    assert refused.exit_code == 2, refused.output
    assert "atasan PPID" in refused.output and "Traceback" not in refused.output
    # The designated atasan drafted this one himself: refused too.
    own = create(publisher, tmp_path)
    with runtime.db.write() as s:
        entry = s.get(DikEntry, own)
        assert entry is not None
        entry.created_by_id = office.kepala.user_id
        entry.versions[0].drafted_by_id = office.kepala.user_id
    assert publisher("dik", "submit", str(own), "--as", "sari").exit_code == 0
    self_approved = publisher("dik", "approve", str(own), "--as", "ahmad")
    assert self_approved.exit_code == 2, self_approved.output
    assert "sendiri" in self_approved.output
    assert actions(runtime).count("dik.approval_refused") == 2


def test_unknown_user_is_a_usage_error(publisher: Cli, office: Office) -> None:
    result = publisher("dik", "submit", "1", "--as", "siapa")
    assert result.exit_code == 2
    assert "--as" in result.output and "siapa" in result.output


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{\"title\": ", "bukan JSON yang valid"), ("[1, 2]", "objek JSON")],
)
def test_bad_json_file_names_it(publisher: Cli, office: Office, runtime: Runtime,
                                tmp_path: Path, content: str, needle: str) -> None:
    path = write_json(tmp_path, "rusak.json", content)
    result = publisher("dik", "create", "--as", "rina", "--opd", "dinkes", "--file", path)
    assert result.exit_code == 2, result.output
    assert "--file" in result.output and "rusak.json" in result.output
    assert needle in result.output
    with runtime.db.read() as s:
        assert s.scalars(select(DikEntry)).first() is None


def test_bad_field_in_json_names_the_field(publisher: Cli, office: Office,
                                           tmp_path: Path) -> None:
    path = write_json(tmp_path, "entry.json", entry_data(article="z"))
    result = publisher("dik", "create", "--as", "rina", "--opd", "dinkes", "--file", path)
    assert result.exit_code == 2
    assert "article" in result.output and "Pasal 17" in result.output


def test_missing_field_at_submit_names_the_field(publisher: Cli, office: Office,
                                                 tmp_path: Path) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path, harm="")
    result = publisher("dik", "submit", str(entry_id), "--as", "sari")
    assert result.exit_code == 2, result.output
    assert "harm" in result.output and "wajib diisi" in result.output


def test_operator_cannot_submit(publisher: Cli, office: Office, tmp_path: Path) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path)
    result = publisher("dik", "submit", str(entry_id), "--as", "rina")
    assert result.exit_code == 2
    assert "PPID Pelaksana" in result.output


def test_return_edit_and_resubmit(publisher: Cli, office: Office, tmp_path: Path) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path)
    assert publisher("dik", "submit", str(entry_id), "--as", "sari").exit_code == 0
    assert publisher("dik", "return", str(entry_id), "--as", "ahmad").exit_code == 2
    returned = publisher("dik", "return", str(entry_id), "--as", "ahmad", "--comment",
                         "Lengkapi dasar hukum")
    assert returned.exit_code == 0, returned.output
    path = write_json(tmp_path, "fix.json", {"legal_basis": "UU 14/2008 Pasal 17 huruf h"})
    edited = publisher("dik", "edit", str(entry_id), "--as", "rina", "--file", path)
    assert edited.exit_code == 0, edited.output
    assert publisher("dik", "submit", str(entry_id), "--as", "sari").exit_code == 0
    assert publisher("dik", "approve", str(entry_id), "--as", "ahmad").exit_code == 0
    retest = publisher("dik", "retest", str(entry_id), "--as", "rina")
    assert retest.exit_code == 0, retest.output
    assert "versi 2" in retest.output


def test_pdf_is_written_and_identical_twice(publisher: Cli, office: Office, runtime: Runtime,
                                            tmp_path: Path) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path)
    draft_pdf = publisher("dik", "pdf", str(entry_id), "--as", "rina", "--version", "1",
                          "-o", str(tmp_path / "draf.pdf"))
    assert draft_pdf.exit_code == 2 and "belum disahkan" in draft_pdf.output
    assert publisher("dik", "submit", str(entry_id), "--as", "sari").exit_code == 0
    assert publisher("dik", "approve", str(entry_id), "--as", "ahmad").exit_code == 0
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    for out in (first, second):
        done = publisher("dik", "pdf", str(entry_id), "--as", "rina", "-o", str(out))
        assert done.exit_code == 0, done.output
    assert first.read_bytes().startswith(b"%PDF")
    assert first.read_bytes() == second.read_bytes()
    penetapan = tmp_path / "penetapan.pdf"
    done = publisher("dik", "penetapan", "--as", "sari", "--opd", "dinkes", "-o",
                     str(penetapan))
    assert done.exit_code == 0, done.output
    assert penetapan.read_bytes().startswith(b"%PDF")
    assert actions(runtime).count("dik.pdf_generated") == 3


def test_expire_and_reviews(publisher: Cli, office: Office, tmp_path: Path) -> None:
    designate(publisher, office)
    entry_id = create(publisher, tmp_path, period_start="2020-01-01", period_end="2020-12-31",
                      review_date="2020-06-01", test_date="2020-01-01")
    assert publisher("dik", "submit", str(entry_id), "--as", "sari").exit_code == 0
    assert publisher("dik", "approve", str(entry_id), "--as", "ahmad").exit_code == 0
    reviews = publisher("dik", "reviews", "--days", "10")
    assert reviews.exit_code == 0, reviews.output
    assert f"#{entry_id}" in reviews.output and "lewat" in reviews.output
    ended = publisher("dik", "expire")
    assert ended.exit_code == 0, ended.output
    assert f"#{entry_id}" in ended.output and "direklasifikasi" in ended.output
    again = publisher("dik", "expire")
    assert "Tidak ada entri DIK yang berakhir" in again.output


def test_days_off_and_deadline_across_idul_fitri_2025(publisher: Cli, runtime: Runtime) -> None:
    plain = publisher("days-off", "deadline", "2025-03-27", "10")
    assert plain.exit_code == 0, plain.output
    assert plain.output.startswith("2025-04-22")
    added = publisher("days-off", "add", "2025-04-15", "Hari Jadi Kabupaten")
    assert added.exit_code == 0, added.output
    moved = publisher("days-off", "deadline", "2025-03-27", "10")
    assert moved.output.startswith("2025-04-23"), moved.output
    listed = publisher("days-off", "list", "--year", "2025")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert any("2025-04-15" in ln and "libur Pemda" in ln and "Hari Jadi" in ln for ln in lines)
    assert any("2025-03-31" in ln and "libur nasional" in ln for ln in lines)
    assert any("2025-04-02" in ln and "cuti bersama" in ln for ln in lines)
    twice = publisher("days-off", "add", "2025-04-15", "Lagi")
    assert twice.exit_code == 2 and "sudah tercatat" in twice.output
    removed = publisher("days-off", "remove", "2025-04-15")
    assert removed.exit_code == 0, removed.output
    assert publisher("days-off", "deadline", "2025-03-27", "10").output.startswith("2025-04-22")
    assert publisher("days-off", "remove", "2025-04-15").exit_code == 2
    with runtime.db.read() as s:
        assert s.scalars(select(DayOff)).first() is None
    assert {"day_off.added", "day_off.removed"} <= set(actions(runtime))


def test_working_day_and_admin_only(publisher: Cli, make: Factory) -> None:
    opd = make.opd("Dinas Uji", slug="uji")
    make.person(Role.EDITOR, opd, username="budi")
    make.person(Role.ADMIN, username="utama")
    refused = publisher("days-off", "add", "2025-04-15", "Libur", "--as", "budi")
    assert refused.exit_code == 2 and "PPID Utama" in refused.output
    weekday = publisher("days-off", "add", "2025-04-15", "Masuk", "--working", "--as", "utama")
    assert weekday.exit_code == 2 and "DATE" in weekday.output
    # Cuti bersama Monday 2025-04-07 worked instead: the deadline comes a day earlier.
    worked = publisher("days-off", "add", "2025-04-07", "Masuk pengganti", "--working",
                       "--as", "utama")
    assert worked.exit_code == 0, worked.output
    assert publisher("days-off", "deadline", "2025-03-27", "10").output.startswith(
        "2025-04-21")


@pytest.mark.parametrize(
    "args",
    [
        ["days-off", "deadline", "2025-02-30", "10"],
        ["days-off", "add", "besok", "Libur"],
        ["days-off", "remove", "2025/04/15"],
    ],
)
def test_bad_date_names_the_argument(publisher: Cli, args: list[str]) -> None:
    result = publisher(*args)
    assert result.exit_code == 2
    assert "DATE" in result.output and "bukan tanggal" in result.output
