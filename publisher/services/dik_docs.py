"""The documents a PPID signs, built from the stored versions: the berita acara uji
konsekuensi of an approved version and the penetapan DIK of an OPD. The same version always
gives the same bytes; generating one is an audit event; a draft has no document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Principal
from ..dik_documents import (
    BeritaAcara,
    Penetapan,
    PenetapanRow,
    Signatory,
    berita_acara_pdf,
    penetapan_pdf,
)
from ..models import DikEntry, DikStatus, DikVersion, DikVersionStatus, Opd
from ..register import long_date, pemda_name
from ..timeutil import to_local, utcnow, zone_label
from .auditing import record
from .dik import designation, get_entry, version_of, with_approved_version
from .errors import Conflict, NotFound
from .items import get_opd

#: How long the public short link's hash prefix is (64 bits: unguessable enough, short).
SHORT_HASH = 16


@dataclass(frozen=True)
class Document:
    """A generated PDF and the name to save it under."""

    filename: str
    data: bytes


def signed_text(moment: datetime | None, tz_name: str) -> str:
    """``2 Desember 2026 10.15 WIB``."""
    if moment is None:
        return ""
    local = to_local(moment, tz_name)
    return f"{long_date(local.date())} {local:%H.%M} {zone_label(tz_name)}"


def period_text(version: DikVersion) -> str:
    """The exemption period as the documents state it."""
    start = f"sejak {long_date(version.period_start)} " if version.period_start else ""
    if version.period_end is not None:
        return f"{start}sampai dengan {long_date(version.period_end)}"
    return f"{start}sampai {version.until_event}".strip()


def verify_path(version: DikVersion) -> str:
    """The public page that tells whether this document is genuine and in force."""
    return f"/dik/v/{version.content_hash[:SHORT_HASH]}"


def version_state(entry: DikEntry, version: DikVersion) -> str:
    """What the public page says about this version now."""
    if version.status == DikVersionStatus.SUPERSEDED:
        return "diganti"  # a later test replaced it
    if entry.status == DikStatus.ENDED:
        return "berakhir"
    if entry.status == DikStatus.OPENED:
        return "dibuka"
    return "berlaku"


def berita_acara_of(session: Session, entry: DikEntry, version: DikVersion,
                    base_url: str) -> BeritaAcara:
    """The berita acara data of an approved (or superseded) version."""
    if version.status not in (DikVersionStatus.APPROVED, DikVersionStatus.SUPERSEDED) or (
            version.approved_at is None):
        raise Conflict(f"versi {version.version} belum disahkan: berita acara dibuat dari "
                       "versi yang disahkan", field="version")
    opd = entry.opd
    tz = opd.timezone
    submitter, approver = version.submitter or {}, version.approver or {}
    return BeritaAcara(
        number=version.number, pemda_name=pemda_name(session), opd_name=opd.name,
        opd_address=opd.address, title=version.title, description=version.description,
        documents=version.documents, article_letter=version.article,
        legal_basis=version.legal_basis, holder_unit=version.holder_unit, harm=version.harm,
        public_interest=version.public_interest, weighing=version.weighing,
        conclusion=version.conclusion, period=period_text(version),
        review_date=version.review_date, members=tuple(version.members or ()),
        place=version.place, test_date=version.test_date or to_local(
            version.approved_at, tz).date(),
        version=version.version,
        signatories=(
            Signatory("PPID Pelaksana", str(submitter.get("name", "")),
                      str(submitter.get("nip", "")), str(submitter.get("jabatan", "")),
                      signed_text(version.submitted_at, tz)),
            Signatory(str(approver.get("title") or "Atasan PPID"), str(approver.get("name", "")),
                      str(approver.get("nip", "")), str(approver.get("jabatan", "")),
                      signed_text(version.approved_at, tz)),
        ),
        verify_url=base_url.rstrip("/") + verify_path(version),
        approved_at=version.approved_at,
    )


def berita_acara(session: Session, principal: Principal, base_url: str, entry_id: int,
                 number: int | None = None) -> Document:
    """The berita acara PDF of an entry's version (default: the one in force)."""
    entry = get_entry(session, principal, entry_id)
    version = version_of(entry, number if number is not None else entry.approved_version)
    data = berita_acara_pdf(berita_acara_of(session, entry, version, base_url))
    record(session, principal, "dik.pdf_generated", opd=entry.opd, detail={
        "dik_entry_id": entry.id, "version": version.version, "document": "berita_acara",
        "number": version.number, "content_hash": version.content_hash})
    return Document(f"berita-acara-dik-{entry.id}-v{version.version}.pdf", data)


def in_force(session: Session, opd_id: int) -> list[tuple[DikEntry, DikVersion]]:
    """An OPD's entries in force with their approved versions, oldest first."""
    rows = session.execute(
        with_approved_version().where(
            DikEntry.opd_id == opd_id, DikEntry.status == DikStatus.IN_FORCE)
        .order_by(DikEntry.id)).all()
    return [(e, v) for e, v in rows]


def penetapan_of(session: Session, opd: Opd, base_url: str) -> Penetapan:
    """The penetapan DIK data of an OPD: every entry in force, signed by its atasan PPID.
    Dated by the newest approval, so it only changes when the list does."""
    rows = in_force(session, opd.id)
    office = designation(session, opd.id)
    if office is None:
        raise Conflict("OPD ini belum menetapkan atasan PPID yang menandatangani penetapan",
                       field="opd")
    approved = [v.approved_at for _, v in rows if v.approved_at is not None]
    as_of = max(approved) if approved else opd.created_at
    decided: date = to_local(as_of, opd.timezone).date()
    year = decided.year
    return Penetapan(
        number=f"PEN-DIK/{opd.slug.upper()}/{year}/{len(rows):03d}",
        pemda_name=pemda_name(session), opd_name=opd.name, opd_address=opd.address,
        place=rows[-1][1].place if rows else "", decided_on=decided,
        rows=tuple(PenetapanRow(
            number=i, title=v.title, article_letter=v.article, legal_basis=v.legal_basis,
            holder_unit=v.holder_unit, period=period_text(v), berita_acara_number=v.number)
            for i, (_, v) in enumerate(rows, start=1)),
        signatory=Signatory("Atasan PPID", office.name, office.nip, office.jabatan,
                            signed_text(as_of, opd.timezone)),
        verify_url=f"{base_url.rstrip('/')}/o/{opd.slug}/dik",
        as_of=as_of,
    )


def penetapan(session: Session, principal: Principal, base_url: str,
              opd_ref: int | str) -> Document:
    """The penetapan DIK PDF of an OPD."""
    opd = get_opd(session, principal, opd_ref)
    data = penetapan_pdf(penetapan_of(session, opd, base_url))
    record(session, principal, "dik.pdf_generated", opd=opd, detail={
        "document": "penetapan", "entries": len(in_force(session, opd.id))})
    return Document(f"penetapan-dik-{opd.slug}-{utcnow():%Y%m%d}.pdf", data)


def by_short_hash(session: Session, prefix: str) -> tuple[DikEntry, DikVersion]:
    """The approved version a public short link names (NotFound for anything else)."""
    if len(prefix) != SHORT_HASH or any(c not in "0123456789abcdef" for c in prefix):
        raise NotFound("dokumen tidak dikenal", field="hash")
    version = session.scalars(select(DikVersion).where(
        DikVersion.content_hash.like(f"{prefix}%"),
        DikVersion.status.in_([DikVersionStatus.APPROVED, DikVersionStatus.SUPERSEDED]))).first()
    if version is None:
        raise NotFound("dokumen tidak dikenal", field="hash")
    return version.entry, version

