"""The public DIK pages, the berita acara and penetapan PDFs built from stored versions, and
the verification page a berita acara's QR code opens."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from publisher.models import AuditEvent, DikEntry
from publisher.register import long_date
from publisher.services import dik, dik_docs
from publisher.services.errors import Conflict
from publisher.timeutil import to_local, utcnow

from .dik_support import Office, draft, in_force, step

BASE = "http://127.0.0.1:5000"


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _version(office: Office, entry_id: int) -> Any:
    with office.runtime.db.read() as s:
        entry = s.get_one(DikEntry, entry_id)
        version = dik.version_of(entry, entry.approved_version)
        s.expunge_all()
        return version


def test_berita_acara_pdf_reads_back_and_is_byte_stable(office: Office, client: Any) -> None:
    entry_id = in_force(office)
    with office.runtime.db.write() as s:
        first = dik_docs.berita_acara(s, office.kepala.principal, BASE, entry_id)
    with office.runtime.db.write() as s:
        second = dik_docs.berita_acara(s, office.operator.principal, BASE, entry_id)
    assert first.data == second.data and first.data.startswith(b"%PDF")
    text = _text(first.data)
    version = _version(office, entry_id)
    for expected in ("dr. Sari PPID", "198502022010012002", "dr. Ahmad Kepala",
                     "197001011995031001", "Kepala Dinas Kesehatan", "Pasal 17 huruf h",
                     "1 Desember 2031", version.number, "Rekam medis pasien RSUD"):
        assert expected in text, expected
    approved_day = to_local(version.approved_at, "Asia/Jakarta").date()
    assert long_date(approved_day) in text and "WIB" in text
    # the public download is the same document
    public = client.get(f"/dik/{entry_id}/v1/berita-acara.pdf")
    assert public.status_code == 200 and public.mimetype == "application/pdf"
    assert public.data == first.data
    with office.runtime.db.read() as s:
        generated = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "dik.pdf_generated")).all()
        assert len(generated) == 2
        assert generated[0].detail["content_hash"] == version.content_hash


def test_no_document_for_a_draft(office: Office, client: Any) -> None:
    entry_id = draft(office)
    with pytest.raises(Conflict), office.runtime.db.write() as s:
        dik_docs.berita_acara(s, office.kepala.principal, BASE, entry_id, 1)
    assert client.get(f"/dik/{entry_id}/v1/berita-acara.pdf").status_code == 404
    page = client.get(f"/o/{office.opd.slug}/dik").get_data(as_text=True)
    assert "Rekam medis pasien RSUD" not in page


def test_public_list_shows_that_it_is_closed_and_why_not_what(office: Office,
                                                              client: Any) -> None:
    in_force(office)
    page = client.get(f"/o/{office.opd.slug}/dik")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Rekam medis pasien RSUD" in html and "Pasal 17 huruf h" in html
    assert "sampai dengan 1 Desember 2031" in html
    assert "Membuka rahasia pribadi" not in html  # the test's reasoning is in the berita acara
    assert "periksa keaslian" in html
    pemda = client.get("/dik").get_data(as_text=True)
    assert "Rekam medis pasien RSUD" in pemda and office.opd.name in pemda
    penetapan = client.get(f"/o/{office.opd.slug}/dik/penetapan.pdf")
    assert penetapan.status_code == 200
    assert "Rekam medis pasien RSUD" in _text(penetapan.data)
    assert client.get(f"/o/{office.opd.slug}/dik/penetapan.pdf").data == penetapan.data


def test_verification_page_answers_in_force_replaced_and_ended(office: Office,
                                                               client: Any) -> None:
    entry_id = in_force(office, period_end=(utcnow() + timedelta(days=30)).date().isoformat())
    first = _version(office, entry_id)
    url = f"/dik/v/{first.content_hash[:16]}"
    pdf = client.get(f"/dik/{entry_id}/v1/berita-acara.pdf").data
    page = client.get(url).get_data(as_text=True)
    assert "Berlaku" in page and first.content_hash in page
    assert hashlib.sha256(pdf).hexdigest() in page
    assert f"{BASE}{url}" in _text(pdf)  # the QR's short link is printed on the document
    step(office, office.operator, dik.retest, entry_id, {"harm": "Diperbarui."})
    step(office, office.ppid, dik.submit, entry_id)
    step(office, office.kepala, dik.approve, entry_id)
    page = client.get(url).get_data(as_text=True)
    assert "Diganti" in page and "versi 2" in page
    second = _version(office, entry_id)
    with office.runtime.db.write() as s:
        dik.expire_due(s, utcnow() + timedelta(days=60))
    ended = client.get(f"/dik/v/{second.content_hash[:16]}").get_data(as_text=True)
    assert "Jangka waktu berakhir" in ended
    listing = client.get(f"/o/{office.opd.slug}/dik").get_data(as_text=True)
    assert "Dibuka kembali atau berakhir" in listing
    assert client.get("/dik/v/0123456789abcdef").status_code == 404
    assert client.get("/dik/v/not-a-hash").status_code == 404


def test_published_item_linked_behind_the_services_leaves_the_site_and_the_dip(
        office: Office, client: Any) -> None:
    from sqlalchemy import update

    from publisher.models import Item

    make = office.make
    site = make.channel(office.opd, "site")
    item = make.published_item(office.operator, office.ppid, office.opd, [site.id],
                               title="Daftar pasien rawat inap")
    make.dispatcher().drain()
    assert "Daftar pasien rawat inap" in client.get(f"/o/{office.opd.slug}/").get_data(
        as_text=True)
    entry_id = in_force(office)
    with office.runtime.db.write() as s:  # only the link, the category stays berkala
        s.execute(update(Item).where(Item.id == item.id).values(dik_entry_id=entry_id))
    assert "Daftar pasien rawat inap" not in client.get(f"/o/{office.opd.slug}/").get_data(
        as_text=True)
    assert "Daftar pasien rawat inap" not in client.get(
        f"/o/{office.opd.slug}/dip").get_data(as_text=True)


def test_a_failing_pdf_leaves_nothing_half_written(office: Office,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: the PDF library fails after the audit event was added to the
    transaction; the whole step rolls back (no event, the entry as it was)."""
    entry_id = in_force(office)
    with office.runtime.db.read() as s:
        before = audit_count(s)
    real_record = dik_docs.record

    def record_then_fail(*args: Any, **kwargs: Any) -> None:
        real_record(*args, **kwargs)
        raise OSError("disk full while writing the PDF")

    monkeypatch.setattr(dik_docs, "record", record_then_fail)
    with pytest.raises(OSError), office.runtime.db.write() as s:
        dik_docs.berita_acara(s, office.kepala.principal, BASE, entry_id)
    with office.runtime.db.read() as s:
        assert audit_count(s) == before
        assert s.get_one(DikEntry, entry_id).status == "berlaku"
        assert s.scalars(select(AuditEvent).where(
            AuditEvent.action == "dik.pdf_generated")).all() == []


def audit_count(session: Any) -> int:
    from publisher import audit

    return audit.count(session)


def test_a_signed_text_changed_in_the_database_is_not_shown_as_genuine(
    office: Office, client: Any,
) -> None:
    """An approved version's text edited behind the software: the verification page no
    longer says "Berlaku" and does not serve the altered document."""
    from sqlalchemy import update

    from publisher.models import DikVersion

    entry_id = in_force(office)
    version = _version(office, entry_id)
    url = f"/dik/v/{version.content_hash[:16]}"
    assert "Berlaku" in client.get(url).get_data(as_text=True)
    with office.runtime.db.write() as s:  # outside the services: no audit, no new hash
        s.execute(update(DikVersion).where(DikVersion.id == version.id)
                  .values(weighing="Pertimbangan yang diganti diam-diam."))
    page = client.get(url)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert "Tidak sah" in text and "Berlaku" not in text and "diganti diam-diam" not in text
    pdf = client.get(f"/dik/{entry_id}/v{version.version}/berita-acara.pdf")
    assert pdf.status_code == 409 and not pdf.data.startswith(b"%PDF")
