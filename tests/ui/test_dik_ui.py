"""The DIK pages of the admin UI: list, entry form with the uji konsekuensi table, the
signature chain and the berita acara download."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from publisher.models import AuditEvent, DikEntry, DikStatus

from ..dik_support import Office, entry_data
from .conftest import UiClient


def _form(**overrides: Any) -> dict[str, Any]:
    data = entry_data(**overrides)
    data["members"] = "\n".join(data["members"])
    return data


def _as(app: Any, username: str) -> UiClient:
    """A browser of its own, signed in as ``username``."""
    ui = UiClient(app.test_client())
    ui.login(username)
    return ui


def test_draft_submit_approve_and_download_through_the_pages(office: Office,
                                                             app: Any) -> None:
    operator = _as(app, office.operator.username)
    page = operator.text("/admin/dik/baru")
    assert 'id="uji-table"' in page and "Konsekuensi (bahaya) bila dibuka" in page
    created = operator.post("/admin/dik/baru", {"opd": office.opd.id, **_form()})
    assert created.status_code == 302, created.get_data(as_text=True)[:500]
    with office.runtime.db.read() as s:
        entry_id = s.scalars(select(DikEntry.id)).one()
    detail = operator.text(f"/admin/dik/{entry_id}")
    assert "Rekam medis pasien RSUD" in detail and "Tanda tangani dan ajukan" not in detail
    ppid = _as(app, office.ppid.username)
    assert "Tanda tangani dan ajukan" in ppid.text(f"/admin/dik/{entry_id}")
    ppid.post(f"/admin/dik/{entry_id}/ajukan")
    # the PPID Pelaksana has no approve button, and a forged approval is refused and audited
    assert "Sahkan (atasan PPID)" not in ppid.text(f"/admin/dik/{entry_id}")
    ppid.post(f"/admin/dik/{entry_id}/sahkan")
    kepala = _as(app, office.kepala.username)
    assert "Sahkan (atasan PPID)" in kepala.text(f"/admin/dik/{entry_id}")
    kepala.post(f"/admin/dik/{entry_id}/sahkan")
    with office.runtime.db.read() as s:
        assert s.get_one(DikEntry, entry_id).status == DikStatus.IN_FORCE
        assert s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "dik.approval_refused")).all() == ["dik.approval_refused"]
    pdf = kepala.get(f"/admin/dik/{entry_id}/berita-acara.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    listing = kepala.text("/admin/dik")
    assert "Rekam medis pasien RSUD" in listing and "berlaku" in listing


def test_missing_field_is_a_form_error_and_nothing_is_stored(office: Office,
                                                              app: Any) -> None:
    operator = _as(app, office.operator.username)
    response = operator.post("/admin/dik/baru", {"opd": office.opd.id, **_form(article="z")})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-article" name="article" required aria-invalid="true"' in html
    assert "Rekam medis pasien RSUD" in html  # what was typed is kept
    with office.runtime.db.read() as s:
        assert s.scalars(select(DikEntry.id)).all() == []


def test_other_opd_cannot_see_an_entry(office: Office, app: Any, make: Any) -> None:
    from publisher.models import Role

    operator = _as(app, office.operator.username)
    operator.post("/admin/dik/baru", {"opd": office.opd.id, **_form()})
    with office.runtime.db.read() as s:
        entry_id = s.scalars(select(DikEntry.id)).one()
    stranger = make.person(Role.APPROVER, office.other_opd)
    other = _as(app, stranger.username)
    assert other.get(f"/admin/dik/{entry_id}").status_code == 404
    assert "Rekam medis" not in other.text("/admin/dik")


def test_review_due_shows_on_the_dashboard_working_days_ahead(office: Office, app: Any) -> None:
    from datetime import timedelta

    from publisher.services import dik
    from publisher.timeutil import utcnow

    from ..dik_support import in_force

    soon = utcnow().date() + timedelta(days=12)
    entry_id = in_force(office, review_date=soon.isoformat())
    kepala = _as(app, office.kepala.username)
    page = kepala.text("/admin/")
    assert 'id="dik-reviews"' in page and "Rekam medis pasien RSUD" in page
    with office.runtime.db.read() as s:
        today = utcnow().date()
        # ten working days reach at least 14 calendar days (two weekends are off)
        ahead = dik.reviews_due(s, office.kepala.principal, today=today, working_days=10)
        week = dik.reviews_due(s, office.kepala.principal, today=today, within_days=7)
        assert [r.entry.id for r in ahead] == [entry_id] and week == []
        assert ahead[0].days_left == 12


def test_item_is_linked_and_reclassified_from_its_page(office: Office, app: Any) -> None:
    from datetime import timedelta

    from publisher.models import Item
    from publisher.services import dik
    from publisher.timeutil import utcnow

    from ..dik_support import in_force

    make = office.make
    item = make.item(office.operator, office.opd, [], title="Data pasien bulanan")
    entry_id = in_force(office, period_end=(utcnow().date() + timedelta(days=5)).isoformat())
    operator = _as(app, office.operator.username)
    page = operator.text(f"/admin/informasi/{item.id}")
    assert 'id="f-dik-entry"' in page
    operator.post(f"/admin/informasi/{item.id}/dik", {"entry_id": entry_id})
    with office.runtime.db.read() as s:
        assert s.get_one(Item, item.id).category == "dikecualikan"
    ppid = _as(app, office.ppid.username)
    ppid.post(f"/admin/informasi/{item.id}/reklasifikasi", {"category": "berkala"})
    assert "tetap dikecualikan" in ppid.text(f"/admin/informasi/{item.id}")  # still in force
    with office.runtime.db.write() as s:
        dik.expire_due(s, utcnow() + timedelta(days=10))
    ppid.post(f"/admin/informasi/{item.id}/reklasifikasi", {"category": "berkala"})
    with office.runtime.db.read() as s:
        reopened = s.get_one(Item, item.id)
        assert reopened.category == "berkala" and reopened.dik_entry_id is None


def test_monev_button_gives_the_bundle_and_is_audited(office: Office, app: Any) -> None:
    import io
    import json
    import zipfile

    from ..dik_support import in_force

    in_force(office)
    kepala = _as(app, office.kepala.username)
    assert 'id="monev-bundle"' in kepala.text(f"/admin/register?opd={office.opd.id}")
    from publisher.timeutil import utcnow

    year = utcnow().year
    response = kepala.get(f"/admin/monev.zip?opd={office.opd.id}&year={year}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("manifest.json"))
    assert any(name.startswith("berita-acara/") for name in archive.namelist())
    import hashlib

    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
    assert kepala.get(f"/admin/monev.zip?opd=all&year={year}").status_code == 403
    assert kepala.get(f"/admin/monev.zip?opd={office.opd.id}&year=99999").status_code == 422
    with office.runtime.db.read() as s:
        events = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "monev.bundle_generated")).all()
        assert len(events) == 1 and events[0].detail["year"] == year


def test_admin_keeps_the_pemdas_days_off(office: Office, app: Any) -> None:
    from publisher.models import DayOff

    admin = _as(app, office.make.admin().username)
    page = admin.text("/admin/hari-libur?tahun=2025")
    assert "Hari Raya Idul Fitri" in page and "cuti bersama" in page
    admin.post("/admin/hari-libur", {"day": "2025-04-15", "name": "Hari Jadi Kabupaten"})
    assert "Hari Jadi Kabupaten" in admin.text("/admin/hari-libur?tahun=2025")
    bad = admin.post("/admin/hari-libur", {"day": "15-04-2025", "name": "X"})
    assert bad.status_code == 302
    with office.runtime.db.read() as s:
        assert [d.name for d in s.scalars(select(DayOff))] == [
            "Hari Jadi Kabupaten"]
        assert s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "day_off.added")).all() == ["day_off.added"]
    operator = _as(app, office.operator.username)
    assert 'id="add-day-off"' not in operator.text("/admin/hari-libur?tahun=2025")
    operator.post("/admin/hari-libur/2025-04-15/hapus")
    admin.post("/admin/hari-libur/2025-04-15/hapus")
    with office.runtime.db.read() as s:
        assert s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "day_off.removed")).all() == ["day_off.removed"]
