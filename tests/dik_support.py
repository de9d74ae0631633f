"""A Dinas with an operator, a PPID Pelaksana and a designated atasan PPID, and short ways to
take DIK entries through their chain (shared by the DIK tests of every layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from publisher.models import AuditEvent, DikEntry, Role
from publisher.runtime import Runtime
from publisher.services import dik

from .factories import Factory, Person


def entry_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Rekam medis pasien RSUD",
        "description": "Catatan pemeriksaan, diagnosis dan pengobatan pasien.",
        "documents": "Berkas rekam medis, hasil laboratorium",
        "article": "h",
        "legal_basis": "UU 14/2008 Pasal 17 huruf h; UU 17/2023 tentang Kesehatan Pasal 177",
        "holder_unit": "Bidang Pelayanan Kesehatan",
        "period_start": "2026-12-01",
        "period_end": "2031-12-01",
        "review_date": "2027-12-01",
        "harm": "Membuka rahasia pribadi pasien dan melanggar hak atas privasi.",
        "public_interest": "Publik berkepentingan atas mutu layanan, bukan data perorangan.",
        "weighing": "Kerugian bila dibuka lebih besar daripada manfaatnya.",
        "conclusion": "ditutup",
        "members": ["dr. Sari, PPID Pelaksana", "Budi, Tim Pertimbangan"],
        "place": "Sei Rampah",
        "test_date": "2026-12-02",
    }
    data.update(overrides)
    return data


@dataclass
class Office:
    runtime: Runtime
    make: Factory
    opd: Any
    operator: Person
    ppid: Person
    kepala: Person
    other_opd: Any


@pytest.fixture()
def office(make: Factory, runtime: Runtime) -> Office:
    opd = make.opd("Dinas Kesehatan")
    operator = make.person(Role.EDITOR, opd, full_name="Rina Operator")
    ppid = make.person(Role.APPROVER, opd, full_name="dr. Sari PPID",
                       nip="198502022010012002", jabatan="Sekretaris Dinas")
    kepala = make.person(Role.APPROVER, opd, full_name="dr. Ahmad Kepala",
                         nip="197001011995031001", jabatan="Kepala Dinas Kesehatan")
    admin = make.admin()
    with runtime.db.write() as s:
        dik.designate(s, admin.principal, opd.id, kepala.user_id, "Kepala Dinas Kesehatan")
    return Office(runtime, make, opd, operator, ppid, kepala, make.opd("Dinas Pendidikan"))


def draft(office: Office, **overrides: Any) -> int:
    with office.runtime.db.write() as s:
        return dik.create_entry(s, office.operator.principal, office.opd.id,
                                entry_data(**overrides)).id


def step(office: Office, who: Person, action: Any, *args: Any) -> DikEntry:
    with office.runtime.db.write() as s:
        entry = action(s, who.principal, *args)
        s.flush()
        s.expunge_all()
        return entry


def in_force(office: Office, **overrides: Any) -> int:
    entry_id = draft(office, **overrides)
    step(office, office.ppid, dik.submit, entry_id)
    step(office, office.kepala, dik.approve, entry_id)
    return entry_id


def actions(runtime: Runtime) -> list[str]:
    """The audit log's actions in order, without the row fingerprints (``audit.row``)."""
    with runtime.db.read() as s:
        return list(s.scalars(select(AuditEvent.action).where(AuditEvent.action != "audit.row")
                              .order_by(AuditEvent.seq)))
