"""The Daftar Informasi yang Dikecualikan: entries, their uji konsekuensi versions and the
signature chain — drafted by an operator or the PPID Pelaksana, submitted by the PPID
Pelaksana, approved (pengesahan) or returned by the designated atasan PPID (Kepala OPD; for the
Pemda itself the Sekda). Nobody approves what they drafted or submitted; an approved version is
never edited, a re-test is a new version. Every step is an audit event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..access import Principal
from ..db import Database
from ..models import (
    EXEMPTION_ARTICLES,
    Category,
    Designation,
    DikConclusion,
    DikEntry,
    DikStatus,
    DikVersion,
    DikVersionStatus,
    Item,
    ItemStatus,
    Opd,
    Role,
    User,
)
from ..timeutil import to_local, utcnow
from ..web.ids import is_id
from . import text as text_policy
from .auditing import record
from .errors import Conflict, Forbidden, Invalid, NotFound
from .items import block_publications, get_item, get_opd, parse_date

ATASAN_PPID = "atasan_ppid"
#: Fields of a version a person writes (the rest is the signature chain).
VERSION_FIELDS = (
    "title", "description", "documents", "article", "legal_basis", "holder_unit",
    "period_start", "period_end", "until_event", "review_date", "harm", "public_interest",
    "weighing", "conclusion", "members", "place", "test_date",
)
_DATE_FIELDS = ("period_start", "period_end", "review_date", "test_date")
_TEXT_LIMITS = {
    "title": 300, "holder_unit": 300, "until_event": 300, "place": 200, "description": 5000,
    "documents": 5000, "legal_basis": 2000, "harm": 10000, "public_interest": 10000,
    "weighing": 10000,
}
#: Version fields of one line (the others may hold several).
_SINGLE_LINE = frozenset({"title", "holder_unit", "until_event", "place"})
_LABELS = {
    "title": "informasi yang dikecualikan", "article": "huruf Pasal 17",
    "legal_basis": "dasar hukum", "holder_unit": "unit penguasa informasi",
    "harm": "konsekuensi bila dibuka", "public_interest": "kepentingan publik bila dibuka",
    "weighing": "pertimbangan", "period_start": "awal jangka waktu",
    "test_date": "tanggal uji konsekuensi", "place": "tempat uji konsekuensi",
}
#: What submitting needs besides the period (end date or event).
_REQUIRED = ("title", "article", "legal_basis", "holder_unit", "harm", "public_interest",
             "weighing", "period_start", "test_date", "place")
MEMBERS_MAX = 20


# --- lookups --------------------------------------------------------------------------------


def get_entry(session: Session, principal: Principal, entry_id: int) -> DikEntry:
    """An entry of an OPD the user may read; NotFound otherwise (never Forbidden)."""
    entry = session.get(DikEntry, entry_id) if is_id(entry_id) else None
    if entry is None or not principal.can_read(entry.opd_id):
        raise NotFound(f"entri DIK #{entry_id} tidak ditemukan", field="entry_id")
    return entry


def version_of(entry: DikEntry, number: int | None = None) -> DikVersion:
    """The entry's version ``number`` (default: the newest)."""
    wanted = entry.latest_version if number is None else number
    for version in entry.versions:
        if version.version == wanted:
            return version
    raise NotFound(f"versi {wanted} entri DIK #{entry.id} tidak ada", field="version")


def approved_of(entry: DikEntry) -> DikVersion | None:
    """The version in force, if any."""
    return version_of(entry, entry.approved_version) if entry.approved_version else None


#: How an entry joins the version in force (in queries that list entries with it).
APPROVED_JOIN = (DikVersion.entry_id == DikEntry.id) & (
    DikVersion.version == DikEntry.approved_version)


def with_approved_version() -> Select[DikEntry, DikVersion]:
    """Entries that have a version in force, each with that version."""
    return select(DikEntry, DikVersion).join(DikVersion, APPROVED_JOIN)


def list_entries(session: Session, principal: Principal, opd_id: int | None = None,
                 status: str | None = None) -> list[DikEntry]:
    """Entries the user may read, newest first."""
    query = select(DikEntry).where(principal.scope(DikEntry.opd_id))
    if opd_id is not None:
        query = query.where(DikEntry.opd_id == opd_id)
    if status is not None:
        if status not in set(DikStatus):
            raise Invalid(f"status {status!r} tidak dikenal: "
                          + ", ".join(s.value for s in DikStatus), field="status")
        query = query.where(DikEntry.status == status)
    return list(session.scalars(query.order_by(DikEntry.id.desc())))


def is_pemda(session: Session, opd: Opd) -> bool:
    """Whether the OPD is the Pemda itself (the single root OPD)."""
    if opd.parent_id is not None:
        return False
    roots = session.scalar(select(func.count()).select_from(Opd).where(Opd.parent_id.is_(None)))
    return roots == 1 and bool(session.scalar(
        select(func.count()).select_from(Opd).where(Opd.parent_id == opd.id)))


def atasan_title(session: Session, opd: Opd) -> str:
    """How the documents name the approving office."""
    return "Sekretaris Daerah (atasan PPID Utama)" if is_pemda(session, opd) else (
        "Atasan PPID (Kepala OPD)")


def designations(session: Session, opd_ids: list[int]) -> dict[int, Designation]:
    """The atasan PPID of each of these OPDs that has one (one query)."""
    rows = session.scalars(select(Designation).where(
        Designation.opd_id.in_(opd_ids), Designation.office == ATASAN_PPID))
    return {row.opd_id: row for row in rows}


def designation(session: Session, opd_id: int) -> Designation | None:
    """Who is the OPD's atasan PPID."""
    return session.scalars(select(Designation).where(
        Designation.opd_id == opd_id, Designation.office == ATASAN_PPID)).first()


# --- validation -----------------------------------------------------------------------------


def clean_fields(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    """Normalise version fields; Invalid naming the field for anything malformed."""
    unknown = sorted(set(data) - set(VERSION_FIELDS))
    if unknown:
        raise Invalid(f"kolom {unknown[0]!r} tidak dikenal", field=unknown[0])
    out: dict[str, Any] = {}
    for name, limit in _TEXT_LIMITS.items():
        if name in data or (not partial and name == "title"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise Invalid(f"{_LABELS.get(name, name)} harus berupa teks", field=name)
            text = (text_policy.line(value, name) if name in _SINGLE_LINE
                    else text_policy.text(value, name).strip())
            if len(text) > limit:
                raise Invalid(f"{_LABELS.get(name, name)} paling banyak {limit} karakter",
                              field=name)
            out[name] = text
    if not partial and not out.get("title"):
        raise Invalid("informasi yang dikecualikan (judul) wajib diisi", field="title")
    if "article" in data:
        article = str(data.get("article") or "").strip().lower()
        if article not in EXEMPTION_ARTICLES:
            raise Invalid("huruf Pasal 17 UU 14/2008 wajib dipilih (a–j)", field="article")
        out["article"] = article
    elif not partial:
        raise Invalid("huruf Pasal 17 UU 14/2008 wajib dipilih (a–j)", field="article")
    if "conclusion" in data:
        conclusion = data.get("conclusion") or DikConclusion.CLOSED
        if conclusion not in set(DikConclusion):
            raise Invalid("kesimpulan harus ditutup, dibuka atau dibuka_sebagian",
                          field="conclusion")
        out["conclusion"] = conclusion
    for name in _DATE_FIELDS:
        if name in data:
            out[name] = parse_date(data.get(name), name)
    if "members" in data:
        members = data.get("members") or []
        if isinstance(members, str):
            members = [m for m in members.splitlines()]
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise Invalid("anggota uji konsekuensi harus daftar nama", field="members")
        cleaned = [m for m in (text_policy.line(m, "members") for m in members) if m]
        if len(cleaned) > MEMBERS_MAX or any(len(m) > 300 for m in cleaned):
            raise Invalid(f"paling banyak {MEMBERS_MAX} anggota, masing-masing 300 karakter",
                          field="members")
        out["members"] = cleaned
    return out


def check_complete(version: DikVersion) -> None:
    """What a version needs before the PPID Pelaksana signs it; Invalid naming the field."""
    for name in _REQUIRED:
        if not getattr(version, name):
            raise Invalid(f"{_LABELS[name]} wajib diisi", field=name)
    if version.period_end is None and not version.until_event:
        raise Invalid("jangka waktu wajib diisi: tanggal berakhir atau peristiwa yang "
                      "mengakhirinya", field="period_end")
    if version.period_end is not None and version.period_start is not None and (
            version.period_end < version.period_start):
        raise Invalid("tanggal berakhir sebelum awal jangka waktu", field="period_end")
    if version.review_date is not None and version.period_start is not None and (
            version.review_date < version.period_start):
        raise Invalid("tanggal peninjauan sebelum awal jangka waktu", field="review_date")


def version_hash(version: DikVersion) -> str:
    """SHA-256 of a version's content and signatures (what the berita acara shows)."""
    doc = {name: _jsonable(getattr(version, name)) for name in VERSION_FIELDS}
    doc.update(entry_id=version.entry_id, version=version.version, number=version.number,
               submitter=version.submitter, approver=version.approver,
               submitted_at=_jsonable(version.submitted_at),
               approved_at=_jsonable(version.approved_at))
    data = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _signer(principal: Principal) -> dict[str, Any]:
    return {"user_id": principal.user_id, "name": principal.full_name, "nip": principal.nip,
            "jabatan": principal.jabatan}


def _detail(version: DikVersion, **extra: Any) -> dict[str, Any]:
    return {"dik_entry_id": version.entry_id, "version": version.version,
            "title": version.title, "article": version.article, **extra}


# --- designations ---------------------------------------------------------------------------


def designate(session: Session, principal: Principal, opd_ref: int | str, user_id: int,
              jabatan: str, name: str | None = None, nip: str | None = None) -> Designation:
    """Name the OPD's atasan PPID (admin only): who approves its DIK entries."""
    from .admin import validate_person

    if not principal.is_admin:
        raise Forbidden("hanya PPID Utama (admin) yang menetapkan atasan PPID")
    opd = get_opd(session, principal, opd_ref)
    user = session.get(User, user_id) if is_id(user_id) else None
    if user is None or not user.is_active:
        raise Invalid(f"pengguna #{user_id} tidak ada atau tidak aktif", field="user_id")
    if not Principal.of(user).has_role(opd.id, Role.APPROVER):
        # Anyone else could never sign: a member of another OPD cannot see its DIK, and an
        # operator (editor) drafts entries rather than approving them.
        raise Invalid(f"{user.full_name or user.username} bukan penyetuju (PPID Pelaksana atau "
                      f"pimpinan) di {opd.name}: tetapkan pengguna yang berperan penyetuju di "
                      "OPD ini, atau beri perannya dulu", field="user_id")
    full_name, clean_nip, clean_jabatan, _ = validate_person(
        name if name is not None else (user.full_name or user.username),
        nip if nip is not None else user.nip, jabatan, "")
    if not full_name:
        raise Invalid("nama atasan PPID wajib diisi", field="name")
    if not clean_nip:
        raise Invalid("NIP atasan PPID wajib diisi", field="nip")
    if not clean_jabatan:
        raise Invalid("jabatan atasan PPID wajib diisi (mis. Kepala Dinas Kesehatan)",
                      field="jabatan")
    row = designation(session, opd.id)
    before = None if row is None else {"user_id": row.user_id, "name": row.name}
    if row is None:
        row = Designation(opd_id=opd.id, office=ATASAN_PPID, user_id=user.id, name=full_name,
                          nip=clean_nip, jabatan=clean_jabatan)
        session.add(row)
    else:
        row.user_id, row.name, row.nip, row.jabatan = user.id, full_name, clean_nip, clean_jabatan
    record(session, principal, "dik.atasan_designated", opd=opd, detail={
        "office": ATASAN_PPID, "user_id": user.id, "name": full_name, "nip": clean_nip,
        "jabatan_atasan": clean_jabatan, "before": before})
    return row


# --- the chain ------------------------------------------------------------------------------


def create_entry(session: Session, principal: Principal, opd_ref: int | str,
                 data: dict[str, Any]) -> DikEntry:
    """Draft a new entry (version 1) in an OPD the user drafts in."""
    opd = get_opd(session, principal, opd_ref)
    if not principal.has_role(opd.id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang menyusun DIK di OPD ini")
    fields = clean_fields(data, partial=False)
    fields.setdefault("conclusion", DikConclusion.CLOSED)
    entry = DikEntry(opd_id=opd.id, opd=opd, status=DikStatus.DRAFT, latest_version=1,
                     created_by_id=principal.user_id)
    session.add(entry)
    session.flush()
    version = DikVersion(entry_id=entry.id, version=1, status=DikVersionStatus.DRAFT,
                         drafted_by_id=principal.user_id, **fields)
    entry.versions.append(version)
    session.flush()
    record(session, principal, "dik.drafted", opd=opd, detail=_detail(version))
    return entry


def update_draft(session: Session, principal: Principal, entry_id: int,
                 data: dict[str, Any]) -> DikEntry:
    """Change the newest version while it is a draft or returned; a signed or approved
    version is never edited (a re-test makes a new one)."""
    entry = get_entry(session, principal, entry_id)
    if not principal.has_role(entry.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang mengubah DIK di OPD ini")
    version = version_of(entry)
    if version.status not in (DikVersionStatus.DRAFT, DikVersionStatus.RETURNED):
        raise Conflict(f"versi {version.version} berstatus {version.status}: versi yang sudah "
                       "diajukan atau disahkan tidak dapat diubah; lakukan uji ulang",
                       field="status")
    fields = clean_fields(data, partial=True)
    for name, value in fields.items():
        setattr(version, name, value)
    version.drafted_by_id = principal.user_id  # the last author cannot approve it either
    if version.status == DikVersionStatus.RETURNED:
        version.status = DikVersionStatus.DRAFT
        _set_pending_status(entry, DikStatus.DRAFT)
    record(session, principal, "dik.edited", opd=entry.opd,
           detail=_detail(version, fields=sorted(fields)))
    return entry


def submit(session: Session, principal: Principal, entry_id: int) -> DikEntry:
    """The PPID Pelaksana signs the newest version and sends it for pengesahan."""
    entry = get_entry(session, principal, entry_id)
    if not principal.has_role(entry.opd_id, Role.APPROVER):
        raise Forbidden("hanya PPID Pelaksana OPD ini yang mengajukan uji konsekuensi")
    version = version_of(entry)
    if version.status not in (DikVersionStatus.DRAFT, DikVersionStatus.RETURNED):
        raise Conflict(f"versi {version.version} berstatus {version.status}, tidak dapat "
                       "diajukan", field="status")
    check_complete(version)
    version.status = DikVersionStatus.SUBMITTED
    version.submitted_by_id = principal.user_id
    version.submitted_at = utcnow()
    version.submitter = _signer(principal)
    version.return_comment = ""
    _set_pending_status(entry, DikStatus.SUBMITTED)
    record(session, principal, "dik.submitted", opd=entry.opd, detail=_detail(version))
    office = designation(session, entry.opd_id)
    if office is not None and office.user_id != principal.user_id:
        from ..notify.outbox import notify

        notify(session, "dik_submitted", [office.user_id],
               event_key=f"dik-{entry.id}-v{version.version}-{version.submitted_at:%Y%m%d%H%M%S%f}",
               context={"actor": principal.full_name, "title": version.title,
                        "opd": entry.opd.name},
               link=f"/admin/dik/{entry.id}", opd_id=entry.opd_id)
    return entry


class ApprovalRefused(Forbidden):
    """An approval that breaks the separation of duties; the caller audits the attempt."""

    def __init__(self, message: str, entry: DikEntry, version: int) -> None:
        super().__init__(message, field="approver")
        self.entry_id = entry.id
        self.opd_id = entry.opd_id
        self.version = version


class HiddenApprovalRefused(NotFound):
    """An approval of another OPD's entry: answered as not found (never reveal it), and
    audited like a refused approval."""

    def __init__(self, entry: DikEntry) -> None:
        super().__init__(f"entri DIK #{entry.id} tidak ditemukan", field="entry_id")
        self.entry_id = entry.id
        self.opd_id = entry.opd_id
        self.version = entry.latest_version


def _entry_to_sign(session: Session, principal: Principal, entry_id: int) -> DikEntry:
    """The entry an approval or return names; another OPD's is refused (and audited)."""
    entry = session.get(DikEntry, entry_id) if is_id(entry_id) else None
    if entry is not None and not principal.can_read(entry.opd_id):
        raise HiddenApprovalRefused(entry)
    return get_entry(session, principal, entry_id)


def _check_approver(session: Session, principal: Principal, entry: DikEntry,
                    version: DikVersion, doing: str) -> Designation:
    office = designation(session, entry.opd_id)
    if office is None:
        raise ApprovalRefused(f"OPD ini belum menetapkan atasan PPID yang {doing} DIK; "
                              "minta PPID Utama menetapkannya", entry, version.version)
    if office.user_id != principal.user_id:
        raise ApprovalRefused(f"hanya {office.name} ({office.jabatan}), atasan PPID yang "
                              f"ditetapkan, yang {doing} DIK OPD ini", entry, version.version)
    if principal.user_id in (version.drafted_by_id, version.submitted_by_id) or (
            entry.created_by_id == principal.user_id and version.version == 1):
        raise ApprovalRefused("Anda tidak boleh mengesahkan uji konsekuensi yang Anda susun "
                              "atau ajukan sendiri", entry, version.version)
    return office


def approve(session: Session, principal: Principal, entry_id: int) -> DikEntry:
    """Pengesahan by the designated atasan PPID: the version takes effect, with a number."""
    entry = _entry_to_sign(session, principal, entry_id)
    version = version_of(entry)
    if version.status != DikVersionStatus.SUBMITTED:
        raise Conflict(f"versi {version.version} berstatus {version.status}, bukan menunggu "
                       "pengesahan", field="status")
    office = _check_approver(session, principal, entry, version, "mengesahkan")
    now = utcnow()
    previous = approved_of(entry)
    if previous is not None:
        previous.status = DikVersionStatus.SUPERSEDED
    version.status = DikVersionStatus.APPROVED
    version.approved_by_id = principal.user_id
    version.approved_at = now
    version.approver = {"user_id": principal.user_id, "name": office.name, "nip": office.nip,
                        "jabatan": office.jabatan, "title": atasan_title(session, entry.opd)}
    version.number = _next_number(session, entry, now)
    version.content_hash = version_hash(version)
    entry.approved_version = version.version
    entry.conclusion = version.conclusion
    entry.status = (DikStatus.OPENED if version.conclusion == DikConclusion.OPEN
                    else DikStatus.IN_FORCE)
    entry.ended_at = None
    record(session, principal, "dik.approved", opd=entry.opd, detail=_detail(
        version, number=version.number, conclusion=version.conclusion,
        content_hash=version.content_hash, status=entry.status,
        superseded=previous.version if previous else None))
    return entry


def _next_number(session: Session, entry: DikEntry, now: datetime) -> str:
    """``003/BA-UK/DINKES/2026``: the OPD's berita acara of the year, counted."""
    year = to_local(now, entry.opd.timezone).year
    done = session.scalar(
        select(func.count()).select_from(DikVersion).join(DikEntry).where(
            DikEntry.opd_id == entry.opd_id, DikVersion.number.like(f"%/{year}"))) or 0
    return f"{done + 1:03d}/BA-UK/{entry.opd.slug.upper()}/{year}"


def return_version(session: Session, principal: Principal, entry_id: int,
                   comment: str) -> DikEntry:
    """The atasan PPID sends the version back with a comment."""
    entry = _entry_to_sign(session, principal, entry_id)
    version = version_of(entry)
    if version.status != DikVersionStatus.SUBMITTED:
        raise Conflict(f"versi {version.version} berstatus {version.status}, bukan menunggu "
                       "pengesahan", field="status")
    comment = text_policy.text(comment, "comment").strip()
    if not comment:
        raise Invalid("tuliskan alasan pengembalian", field="comment")
    _check_approver(session, principal, entry, version, "mengembalikan")
    version.status = DikVersionStatus.RETURNED
    version.return_comment = comment.strip()
    _set_pending_status(entry, DikStatus.RETURNED)
    record(session, principal, "dik.returned", opd=entry.opd,
           detail=_detail(version, comment=version.return_comment))
    return entry


def retest(session: Session, principal: Principal, entry_id: int,
           data: dict[str, Any]) -> DikEntry:
    """A new uji konsekuensi of an approved entry: a new draft version copied from the one in
    force (which stays in force until the new one is approved)."""
    entry = get_entry(session, principal, entry_id)
    if not principal.has_role(entry.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang menguji ulang DIK di OPD ini")
    base = approved_of(entry)
    if base is None:
        raise Conflict("entri belum pernah disahkan: ubah drafnya", field="status")
    if entry.latest_version != entry.approved_version:
        raise Conflict(f"versi {entry.latest_version} sedang disusun atau diajukan",
                       field="status")
    fields = {name: getattr(base, name) for name in VERSION_FIELDS}
    fields["members"] = list(base.members or [])
    fields.update(clean_fields(data, partial=True))
    version = DikVersion(entry_id=entry.id, version=base.version + 1,
                         status=DikVersionStatus.DRAFT, drafted_by_id=principal.user_id,
                         **fields)
    entry.versions.append(version)
    entry.latest_version = version.version
    session.flush()
    record(session, principal, "dik.retested", opd=entry.opd,
           detail=_detail(version, based_on=base.version))
    return entry


def _set_pending_status(entry: DikEntry, status: DikStatus) -> None:
    # An entry in force (or opened, or ended) keeps that status while a re-test is drafted.
    if entry.approved_version is None:
        entry.status = status


# --- items ----------------------------------------------------------------------------------


def link_item(session: Session, principal: Principal, item_id: int, entry_id: int,
              redacted: bool = False) -> Item:
    """Point an item at the entry that exempts it (it becomes dikecualikan and nothing of it
    goes out), or mark it as the blacked-out version of an entry concluded "dibuka
    sebagian" (it then needs its own approval)."""
    item = get_item(session, principal, item_id)
    entry = get_entry(session, principal, entry_id)
    if not principal.has_role(item.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang mengubah informasi di OPD ini")
    if entry.opd_id != item.opd_id:
        raise Invalid("entri DIK milik OPD lain", field="entry_id")
    if item.status == ItemStatus.CANCELLED:
        raise Conflict("informasi ini sudah dibatalkan", field="status")
    if redacted:
        if entry.status != DikStatus.IN_FORCE or entry.conclusion != DikConclusion.PARTIAL:
            raise Conflict("versi hitam (dibuka sebagian) hanya untuk entri yang berlaku "
                           "dengan kesimpulan dibuka sebagian", field="entry_id")
        if item.category == Category.DIKECUALIKAN:
            raise Invalid("versi hitam adalah informasi terbuka: pilih kategori berkala, "
                          "serta-merta atau setiap saat", field="category")
        if item.status == ItemStatus.APPROVED:
            raise Conflict("tautkan versi hitam sebelum disetujui: ia butuh persetujuannya "
                           "sendiri", field="status")
    version = approved_of(entry) or version_of(entry)
    item.dik_entry_id = entry.id
    item.dik_redacted = redacted
    if not redacted:
        item.category = Category.DIKECUALIKAN
        item.exemption_article = version.article
        item.exemption_basis = version.legal_basis or f"Pasal 17 huruf {version.article}"
        item.exemption_until = version.period_end
        item.targets = []
    _rehash(session, item, principal)
    record(session, principal, "item.dik_linked", item=item, detail={
        "dik_entry_id": entry.id, "redacted": redacted, "entry_status": entry.status})
    if not redacted:
        block_publications(session, item, principal)
    return item


def unlink_item(session: Session, principal: Principal, item_id: int,
                category: str) -> Item:
    """Reclassify an item whose entry ended or was opened (or never took effect): a person
    decides its new category; nothing is published by itself."""
    item = get_item(session, principal, item_id)
    if not principal.has_role(item.opd_id, Role.APPROVER):
        raise Forbidden("hanya PPID Pelaksana yang mereklasifikasi informasi dikecualikan")
    entry = item.dik_entry
    if entry is None:
        raise Conflict("informasi ini tidak tertaut ke entri DIK", field="entry_id")
    if not item.dik_redacted and entry.status in (DikStatus.SUBMITTED, DikStatus.IN_FORCE):
        raise Conflict(f"entri DIK #{entry.id} {entry.status}: informasi tetap dikecualikan "
                       "sampai entri berakhir atau dibuka", field="entry_id")
    if category not in set(Category):
        raise Invalid(f"kategori {category!r} tidak dikenal", field="category")
    before = item.dik_entry_id
    item.dik_entry_id = None
    item.dik_redacted = False
    if category != Category.DIKECUALIKAN:
        item.category = category
        item.exemption_article = None
        item.exemption_basis = ""
        item.exemption_until = None
    if item.status == ItemStatus.APPROVED:
        item.status = ItemStatus.RETURNED  # reopened information needs a fresh approval
        item.review_comment = "Direklasifikasi dari DIK: ajukan ulang untuk persetujuan"
    _rehash(session, item, principal)
    record(session, principal, "item.reclassified", item=item, detail={
        "dik_entry_id": before, "entry_status": entry.status, "category": item.category,
        "status": item.status})
    return item


def _rehash(session: Session, item: Item, principal: Principal) -> None:
    from .items import content_hash, record_version

    new_hash = content_hash(item)
    if new_hash != item.content_hash:
        item.version += 1
        record_version(session, item, principal)


# --- expiry and review ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expired:
    """An entry the daily job ended, and the items a person must now reclassify."""

    entry_id: int
    opd_id: int
    title: str
    items: tuple[int, ...]


def expire_due(session: Session, now: datetime | None = None) -> list[Expired]:
    """End every entry in force whose period ended (in the OPD's own zone); never publishes
    or changes an item (their reclassification is a person's decision)."""
    from .. import audit

    moment = now or utcnow()
    ended: list[Expired] = []
    rows = session.execute(
        with_approved_version().where(
            DikEntry.status == DikStatus.IN_FORCE, DikVersion.period_end.is_not(None))
        .with_for_update(of=DikEntry)).all()
    for entry, version in rows:
        today = to_local(moment, entry.opd.timezone).date()
        if version.period_end is None or version.period_end >= today:
            continue
        entry.status = DikStatus.ENDED
        entry.ended_at = moment
        items = tuple(session.scalars(select(Item.id).where(Item.dik_entry_id == entry.id,
                                                             Item.dik_redacted.is_(False))))
        record(session, None, "dik.expired", opd=entry.opd,
               actor=audit.Actor.system("dik-expiry"), detail=_detail(
                   version, period_end=version.period_end.isoformat(),
                   items_to_reclassify=list(items)))
        ended.append(Expired(entry.id, entry.opd_id, version.title, items))
    return ended


@dataclass(frozen=True)
class ReviewDue:
    """An entry whose yearly review (peninjauan) is near or past."""

    entry: DikEntry
    version: DikVersion
    days_left: int


def reviews_due(session: Session, principal: Principal, within_days: int | None = None,
                today: date | None = None, working_days: int = 10) -> list[ReviewDue]:
    """Entries in force whose review date has passed or falls within ``within_days``
    calendar days, or by default within ``working_days`` working days (the Pemda's
    calendar: weekends, national holidays, cuti bersama and its own days off)."""
    day = today or utcnow().date()
    if within_days is None:
        from .days_off import calendar

        within_days = (calendar(session).add_working_days(day, working_days) - day).days
    rows = session.execute(
        with_approved_version().where(
            principal.scope(DikEntry.opd_id), DikEntry.status == DikStatus.IN_FORCE,
            DikVersion.review_date.is_not(None),
            DikVersion.review_date <= day + timedelta(days=within_days))
        .order_by(DikVersion.review_date)).all()
    return [ReviewDue(e, v, (v.review_date - day).days) for e, v in rows
            if v.review_date is not None]


def run_guarded(db: Database, principal: Principal, action: Callable[..., Any], *args: Any,
                present: Callable[[Any], Any] = lambda result: result) -> Any:
    """Run a chain step in its own write transaction and return ``present(result)`` (called
    inside it); an approval refused for the separation of duties is audited
    (``dik.approval_refused``) in a transaction of its own, then re-raised for the caller."""
    try:
        with db.write() as session:
            result = action(session, principal, *args)
            session.flush()
            return present(result)
    except (ApprovalRefused, HiddenApprovalRefused) as exc:
        with db.write() as session:
            if isinstance(exc, HiddenApprovalRefused):
                # An entry of an OPD the user cannot see: the attempt goes into the log of
                # the user's own OPD, never into the other's (anyone signed in could
                # otherwise write there at will), and names no more than the entry's id.
                own = sorted(principal.visible_opds() or ())
                opd = session.get(Opd, own[0]) if own else None
                detail = {"dik_entry_id": exc.entry_id, "other_opd": True}
            else:
                opd = session.get(Opd, exc.opd_id)
                detail = {"dik_entry_id": exc.entry_id, "version": exc.version}
            record(session, principal, "dik.approval_refused", opd=opd, result="refused",
                   error=exc.message, detail=detail)
        raise
