"""The evidence bundle for the Komisi Informasi's yearly Monev (monitoring dan evaluasi).

One ZIP per OPD (or for the whole Pemda) and year, built from the stored data:

* ``dip-<scope>-<year>-s1.xlsx`` / ``-s2.xlsx`` and ``.pdf``: the Daftar Informasi Publik of
  each semester (:mod:`publisher.register`, :mod:`publisher.register_pdf`);
* ``penetapan-dik-<opd>.pdf``: the penetapan DIK of each OPD in scope that has a designated
  atasan PPID (the list in force now; an OPD without one is named in the notes);
* ``berita-acara/<nomor>.pdf``: the berita acara uji konsekuensi of every DIK version
  approved in the year (approved or since superseded);
* ``log-publikasi-<year>.csv``: every publication of the year (published in it, or due in it
  and not published);
* ``cadence-<year>.svg``: published posts per ISO week per channel against 4 a week;
* ``serta-merta-<year>.csv``: serta-merta announcements, first publication and its delay
  after approval;
* ``MANIFEST.sha256`` (``sha256sum -c`` format) and, last, ``manifest.json`` with every
  other file's name, size and sha256, the scope, the year, counts and notes.

The archive is deterministic: members in name order (manifest last), fixed timestamps (the
end of the year in the scope's zone, or ``as_of``), DEFLATE, and no wall-clock time in any
member, so building it twice from the same data gives the same bytes. Publications are
streamed (``yield_per``) and written straight into the archive.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from . import register
from .dik_documents import berita_acara_pdf, penetapan_pdf
from .models import (
    Category,
    Channel,
    DikEntry,
    DikVersion,
    DikVersionStatus,
    Item,
    Opd,
    Publication,
    PublicationStatus,
)
from .services.dik import designation
from .services.dik_docs import berita_acara_of, penetapan_of
from .services.errors import Invalid
from .timeutil import format_local, semester_bounds, zone_label

__all__ = ["TARGET_PER_WEEK", "Scope", "build_bundle", "bundle_name", "count_steps",
           "scope_of"]

#: Posts per week per channel the Monev expects.
TARGET_PER_WEEK = 4
YEAR_RANGE = register.YEAR_RANGE
STREAM_CHUNK = 2000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Scope:
    """What the bundle covers: one OPD (and optionally those below it) or every OPD."""

    name: str
    slug: str  # "pemda" for the whole Pemda
    opd: Opd | None
    opd_ids: tuple[int, ...] | None  # None: every OPD
    timezone: str
    year: int
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    def where(self, column: Any) -> Any:
        """SQL condition limiting ``column`` (an opd_id) to the scope (true for every OPD)."""
        return column.in_(self.opd_ids) if self.opd_ids is not None else column.is_not(None)


def check_year(year: int) -> int:
    """The year, or Invalid naming ``year``."""
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise Invalid(f"tahun {year} di luar rentang {YEAR_RANGE[0]}–{YEAR_RANGE[1]}",
                      field="year")
    return year


def scope_of(session: Session, settings: Any, year: int, opd: Opd | None, *,
             descendants: bool = False) -> Scope:
    """The scope of a bundle, with the year's bounds in its zone."""
    check_year(year)
    if opd is None:
        tz, name, slug, ids = settings.timezone, register.pemda_name(session), "pemda", None
    else:
        ids = tuple(sorted(register.descendant_ids(session, opd.id) if descendants
                           else [opd.id]))
        tz, name, slug = opd.timezone, opd.name, opd.slug
    start, _ = semester_bounds(year, 1, tz)
    _, end = semester_bounds(year, 2, tz)
    return Scope(name, slug, opd, ids, tz, year, start, end)


def bundle_name(scope: Scope) -> str:
    """``monev-dinas-kominfo-2026.zip``."""
    return f"monev-{scope.slug}-{scope.year}.zip"


# --- the archive -----------------------------------------------------------------------------


@dataclass
class _Member:
    name: str
    size: int
    sha256: str


class _HashingWriter(io.RawIOBase):
    """Passes bytes on to a zip member while counting and hashing them."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.sha.update(chunk)
        self.size += len(chunk)
        self.target.write(chunk)
        return len(chunk)


class _Archive:
    """A deterministic ZIP being written, remembering each member's size and hash."""

    def __init__(self, stamp: tuple[int, int, int, int, int, int]) -> None:
        self.buffer = io.BytesIO()
        self.zip = zipfile.ZipFile(self.buffer, "w", zipfile.ZIP_DEFLATED)
        self.stamp = stamp
        self.members: list[_Member] = []

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # unix, whatever builds it
        info.external_attr = 0o644 << 16
        return info

    @contextmanager
    def open(self, name: str) -> Iterator[_HashingWriter]:
        with self.zip.open(self._info(name), "w", force_zip64=True) as target:
            writer = _HashingWriter(target)
            yield writer
        self.members.append(_Member(name, writer.size, writer.sha.hexdigest()))

    def add(self, name: str, data: bytes) -> None:
        with self.open(name) as out:
            out.write(data)

    def close(self) -> bytes:
        self.zip.close()
        return self.buffer.getvalue()


def _stamp(scope: Scope, as_of: datetime | None) -> tuple[datetime, tuple[int, ...]]:
    """The bundle's moment (aware UTC) and its local ZIP timestamp (even seconds)."""
    if as_of is None:
        moment = scope.end - timedelta(seconds=2)
    elif as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    else:
        moment = as_of.astimezone(UTC)
    local = moment.astimezone(ZoneInfo(scope.timezone))
    return moment, (max(local.year, 1980), local.month, local.day, local.hour, local.minute,
                    local.second - local.second % 2)


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def stable_xlsx(data: bytes, stamp: tuple[int, ...], moment: datetime) -> bytes:
    """An openpyxl workbook with its wall-clock times replaced: the created/modified
    properties by ``moment`` and every member's timestamp by ``stamp``."""
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            body = source.read(member)
            if member.filename == "docProps/core.xml":
                body = _CORE_TIMES.sub(lambda m: m.group(1) + iso + m.group(3), body)
            info = zipfile.ZipInfo(member.filename, date_time=stamp)  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, body)
    return out.getvalue()


# --- helpers ---------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _local(moment: datetime | None, tz: str) -> str:
    return format_local(moment, tz, "%Y-%m-%d %H:%M:%S") if moment else ""


class _CsvOut:
    """CSV rows encoded as UTF-8 (with a BOM, so Excel reads the accents) into a member."""

    def __init__(self, out: _HashingWriter) -> None:
        self.out = out
        self.text = io.StringIO()
        self.writer = csv.writer(self.text)
        out.write("\ufeff".encode())

    def rows(self, rows: Any) -> None:
        self.writer.writerows(rows)
        self.out.write(self.text.getvalue().encode("utf-8"))
        self.text.seek(0)
        self.text.truncate()


def safe_name(number: str) -> str:
    """A berita acara number as a file name: ``BA/003/DINKES/2026`` → ``BA-003-DINKES-2026``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", number).strip("-.")[:120]


def _duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{sign}{days} hari {text}" if days else f"{sign}{text}"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return escape(_XML_BAD.sub("", text))


# --- the contents ----------------------------------------------------------------------------


@dataclass
class _Counts:
    values: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _year_filter(scope: Scope) -> Any:
    published_in = and_(Publication.published_at >= scope.start,
                        Publication.published_at < scope.end)
    due_in = and_(Publication.published_at.is_(None), Publication.due_at >= scope.start,
                  Publication.due_at < scope.end)
    return and_(scope.where(Publication.opd_id), or_(published_in, due_in))


LOG_HEADER = ("publication_id", "item_id", "judul", "opd", "opd_slug", "kategori",
              "saluran_jenis", "saluran_nama", "status", "due_at_utc", "published_at_utc",
              "published_at_lokal", "url", "attempts")


def _write_log(session: Session, scope: Scope, out: _HashingWriter, counts: _Counts) -> None:
    csv_out = _CsvOut(out)
    csv_out.rows([LOG_HEADER])
    query = (
        select(Publication.id, Publication.item_id, Item.title, Opd.name, Opd.slug,
               Opd.timezone, Item.category, Channel.kind, Channel.name, Publication.status,
               Publication.due_at, Publication.published_at, Publication.url,
               Publication.attempts)
        .join(Item, Item.id == Publication.item_id)
        .join(Channel, Channel.id == Publication.channel_id)
        .join(Opd, Opd.id == Publication.opd_id)
        .where(_year_filter(scope))
        .order_by(Publication.due_at, Publication.id)
    )
    total = published = 0
    safe = register.csv_safe
    for batch in session.execute(query, execution_options={"yield_per": STREAM_CHUNK}
                                 ).partitions():
        rows = []
        for (pub_id, item_id, title, opd_name, slug, tz, category, kind, channel, status,
             due_at, published_at, url, attempts) in batch:
            total += 1
            published += status == PublicationStatus.PUBLISHED
            rows.append((pub_id, item_id, safe(title), safe(opd_name), slug,
                         register.CATEGORY_LABELS.get(category, category), kind,
                         safe(channel), status, _iso(due_at), _iso(published_at),
                         _local(published_at, tz), safe(url or ""), attempts))
        csv_out.rows(rows)
    counts.values["publications"] = total
    counts.values["publications_published"] = published


def _weeks(year: int) -> list[tuple[int, int]]:
    """The ISO (year, week) pairs that touch the calendar year, in order."""
    day = date(year, 1, 1)
    day -= timedelta(days=day.weekday())
    weeks = []
    while day <= date(year, 12, 31):
        iso = day.isocalendar()
        weeks.append((iso.year, iso.week))
        day += timedelta(days=7)
    return weeks


def _cadence_svg(session: Session, scope: Scope, counts: _Counts) -> bytes:
    weeks = _weeks(scope.year)
    index = {week: i for i, week in enumerate(weeks)}
    channels = session.execute(
        select(Channel.id, Channel.name, Channel.kind, Opd.name)
        .join(Opd, Opd.id == Channel.opd_id).where(scope.where(Channel.opd_id))
        .order_by(Opd.name, Channel.name, Channel.id)).all()
    per_channel: dict[int, list[int]] = {c[0]: [0] * len(weeks) for c in channels}
    zones: dict[str, ZoneInfo] = {}
    query = (
        select(Publication.channel_id, Publication.published_at, Opd.timezone)
        .join(Opd, Opd.id == Publication.opd_id)
        .where(scope.where(Publication.opd_id),
               Publication.status == PublicationStatus.PUBLISHED,
               Publication.published_at >= scope.start, Publication.published_at < scope.end)
    )
    posts = 0
    for batch in session.execute(query, execution_options={"yield_per": STREAM_CHUNK}
                                 ).partitions():
        for channel_id, published_at, tz in batch:
            assert published_at is not None  # filtered in the query
            zone = zones.get(tz) or zones.setdefault(tz, ZoneInfo(tz))
            iso = published_at.astimezone(zone).isocalendar()
            slot = index.get((iso.year, iso.week))
            series = per_channel.get(channel_id)
            if slot is not None and series is not None:
                series[slot] += 1
                posts += 1
    counts.values["channels"] = len(channels)
    counts.values["cadence_posts"] = posts
    return cadence_chart(
        f"Publikasi per minggu per saluran - {scope.name} - Tahun {scope.year}",
        [f"W{week:02d}" for _, week in weeks],
        [(f"{opd_name} - {name} ({kind})", per_channel[cid])
         for cid, name, kind, opd_name in channels],
        TARGET_PER_WEEK,
    ).encode()


def cadence_chart(title: str, weeks: list[str], series: list[tuple[str, list[int]]],
                  target: int) -> str:
    """Small multiples: for each channel a bar per week and a dashed line at ``target``."""
    width, left, right, panel_h, plot_h, top = 980, 40, 10, 92, 52, 56
    slot = (width - left - right) / max(1, len(weeks))
    height = top + panel_h * max(1, len(series)) + 10
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>{_xml(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="22" font-size="16" font-weight="bold" fill="#1b1f24">'
        f"{_xml(title)}</text>",
        f'<text x="{left}" y="42" font-size="12" fill="#4a5560">Batang hijau: minggu dengan '
        f"sedikitnya {target} publikasi; jingga: kurang. Garis merah putus-putus: target "
        f"{target} per minggu.</text>",
    ]
    if not series:
        parts.append(f'<text x="{left}" y="{top + 30}" font-size="13" fill="#4a5560">'
                     "Tidak ada saluran.</text>")
    for n, (label, values) in enumerate(series):
        y0 = top + n * panel_h
        base = y0 + 18 + plot_h
        peak = max([target, *values])
        met = sum(1 for v in values if v >= target)

        def y(value: float, base: float = base, peak: int = peak) -> float:
            return base - plot_h * value / peak

        parts.append(f'<g><text x="{left}" y="{y0 + 12}" font-size="12" fill="#1b1f24">'
                     f"{_xml(label)}: {sum(values)} publikasi, {met} dari {len(values)} "
                     f"minggu memenuhi target</text>")
        parts.append(f'<text x="{left - 4}" y="{y(peak) + 4:.1f}" text-anchor="end" '
                     f'font-size="10" fill="#4a5560">{peak}</text>')
        parts.append(f'<text x="{left - 4}" y="{base:.1f}" text-anchor="end" '
                     f'font-size="10" fill="#4a5560">0</text>')
        parts.append(f'<line x1="{left}" y1="{base:.1f}" x2="{width - right}" '
                     f'y2="{base:.1f}" stroke="#4a5560" stroke-width="1"/>')
        for i, value in enumerate(values):
            if not value:
                continue
            colour = "#1a6b35" if value >= target else "#c07000"
            parts.append(
                f'<rect x="{left + i * slot + 1:.1f}" y="{y(value):.1f}" '
                f'width="{slot - 2:.1f}" height="{base - y(value):.1f}" fill="{colour}">'
                f"<title>{weeks[i]}: {value}</title></rect>")
        parts.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{width - right}" '
                     f'y2="{y(target):.1f}" stroke="#a4161a" stroke-width="1.5" '
                     'stroke-dasharray="5 3"/>')
        for i in range(0, len(weeks), 4):
            parts.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{base + 12:.1f}" '
                         f'text-anchor="middle" font-size="9" fill="#4a5560">{weeks[i]}'
                         "</text>")
        parts.append("</g>")
    parts.append("</svg>\n")
    return "".join(parts)


SERTA_MERTA_HEADER = ("item_id", "judul", "opd", "opd_slug", "status_item", "disetujui_utc",
                      "disetujui_lokal", "pertama_dipublikasikan_utc",
                      "pertama_dipublikasikan_lokal", "selang_detik", "selang",
                      "jumlah_saluran")


def _write_serta_merta(session: Session, scope: Scope, out: _HashingWriter,
                       counts: _Counts) -> None:
    first_at = func.min(Publication.published_at)
    first = (
        select(Publication.item_id.label("item_id"), first_at.label("first_at"),
               func.count(Publication.id).label("channels"))
        .where(scope.where(Publication.opd_id),
               Publication.status == PublicationStatus.PUBLISHED,
               Publication.published_at.is_not(None))
        .group_by(Publication.item_id)
        .having(first_at >= scope.start, first_at < scope.end)
        .subquery("first_pub")
    )
    query = (
        select(Item.id, Item.title, Opd.name, Opd.slug, Opd.timezone, Item.status,
               Item.approved_at, first.c.first_at, first.c.channels)
        .join(first, first.c.item_id == Item.id)
        .join(Opd, Opd.id == Item.opd_id)
        .where(Item.category == Category.SERTA_MERTA)
        .order_by(first.c.first_at, Item.id)
    )
    csv_out = _CsvOut(out)
    csv_out.rows([SERTA_MERTA_HEADER])
    total = 0
    safe = register.csv_safe
    for batch in session.execute(query, execution_options={"yield_per": STREAM_CHUNK}
                                 ).partitions():
        rows = []
        for item_id, title, opd_name, slug, tz, status, approved_at, first_pub, n in batch:
            total += 1
            delay = (first_pub - approved_at).total_seconds() if approved_at else None
            rows.append((item_id, safe(title), safe(opd_name), slug, status,
                         _iso(approved_at), _local(approved_at, tz), _iso(first_pub),
                         _local(first_pub, tz), "" if delay is None else int(delay),
                         "" if delay is None else _duration(delay), n))
        csv_out.rows(rows)
    counts.values["serta_merta"] = total


def _berita_acara_plan(session: Session, scope: Scope) -> list[tuple[str, int]]:
    """(file name, version id) of every version approved in the year, names unique."""
    rows = session.execute(
        select(DikVersion.id, DikVersion.number, DikVersion.version, DikVersion.entry_id)
        .join(DikEntry, DikEntry.id == DikVersion.entry_id)
        .where(scope.where(DikEntry.opd_id),
               DikVersion.status.in_([DikVersionStatus.APPROVED, DikVersionStatus.SUPERSEDED]),
               DikVersion.approved_at >= scope.start, DikVersion.approved_at < scope.end)
        .order_by(DikVersion.approved_at, DikVersion.id)).all()
    plan, used = [], set()
    for version_id, number, version, entry_id in rows:
        stem = safe_name(number or "") or f"dik-{entry_id}"
        name = f"berita-acara/{stem}.pdf"
        if name in used:
            name = f"berita-acara/{stem}-v{version}.pdf"
        if name in used:
            name = f"berita-acara/{stem}-{version_id}.pdf"
        used.add(name)
        plan.append((name, version_id))
    return plan


def _scope_opds(session: Session, scope: Scope) -> list[Opd]:
    query = select(Opd).order_by(Opd.slug)
    if scope.opd_ids is not None:
        query = query.where(Opd.id.in_(scope.opd_ids))
    return list(session.scalars(query))


def count_steps(session: Session, settings: Any, year: int, opd: Opd | None, *,
                descendants: bool = False) -> int:
    """How many times :func:`build_bundle` calls ``progress(1)`` (for a progress bar)."""
    scope = scope_of(session, settings, year, opd, descendants=descendants)
    return (4 + 3 + len(_scope_opds(session, scope)) + len(_berita_acara_plan(session, scope))
            + 2)


def build_bundle(
    session: Session,
    settings: Any,
    year: int,
    opd: Opd | None,
    progress: Progress | None = None,
    *,
    as_of: datetime | None = None,
    descendants: bool = False,
) -> bytes:
    """The Monev ZIP of ``opd`` (or every OPD) for ``year``; see the module docstring."""
    from .register_pdf import register_pdf  # fpdf2: loaded when a bundle is made

    scope = scope_of(session, settings, year, opd, descendants=descendants)
    moment, stamp = _stamp(scope, as_of)
    tick: Progress = progress or (lambda _n: None)
    base_url = str(getattr(settings, "public_base_url", "") or "")
    counts = _Counts()
    producers: dict[str, Callable[[_HashingWriter], object]] = {}

    registers: dict[int, register.Register] = {}

    def dip_of(semester: int) -> register.Register:
        """The semester's register, built once for its PDF and its XLSX."""
        if semester not in registers:
            registers.clear()  # one semester in memory at a time
            registers[semester] = register.build(session, settings, year, semester, opd=opd,
                                                 descendants=descendants)
            counts.values[f"dip_s{semester}"] = len(registers[semester].rows)
        return registers[semester]

    for semester in (1, 2):
        stem = f"dip-{scope.slug}-{year}-s{semester}"
        producers[f"{stem}.pdf"] = lambda out, s=semester: out.write(  # type: ignore[misc]
            register_pdf(dip_of(s), moment))
        producers[f"{stem}.xlsx"] = lambda out, s=semester: out.write(  # type: ignore[misc]
            stable_xlsx(register.to_xlsx(dip_of(s)), stamp, moment))

    for opd_row in _scope_opds(session, scope):
        name = f"penetapan-dik-{opd_row.slug}.pdf"
        if designation(session, opd_row.id) is None:
            counts.notes.append(f"{name} tidak dibuat: {opd_row.name} belum menetapkan atasan "
                                "PPID")
            tick(1)
            continue

        def penetapan(out: _HashingWriter, opd_row: Opd = opd_row) -> None:
            out.write(penetapan_pdf(penetapan_of(session, opd_row, base_url)))
            counts.values["penetapan"] = counts.values.get("penetapan", 0) + 1

        producers[name] = penetapan

    plan = _berita_acara_plan(session, scope)
    for name, version_id in plan:
        def berita(out: _HashingWriter, version_id: int = version_id) -> None:
            version = session.get_one(DikVersion, version_id)
            out.write(berita_acara_pdf(berita_acara_of(session, version.entry, version,
                                                       base_url)))

        producers[name] = berita
    counts.values["berita_acara"] = len(plan)
    counts.values.setdefault("penetapan", 0)

    producers[f"log-publikasi-{year}.csv"] = lambda out: _write_log(session, scope, out, counts)
    producers[f"cadence-{year}.svg"] = lambda out: out.write(
        _cadence_svg(session, scope, counts))
    producers[f"serta-merta-{year}.csv"] = lambda out: _write_serta_merta(
        session, scope, out, counts)

    archive = _Archive(stamp)  # type: ignore[arg-type]
    for name in sorted(producers):
        with archive.open(name) as out:
            producers[name](out)
        tick(1)

    checksums = "".join(f"{m.sha256}  {m.name}\n" for m in archive.members).encode()
    archive.add("MANIFEST.sha256", checksums)
    tick(1)
    counts.notes.append("penetapan-dik-*.pdf memuat DIK yang berlaku saat bundel dibuat.")
    manifest = {
        "bundle": "monev-keterbukaan-informasi-publik",
        "scope": {
            "type": "pemda" if scope.opd is None else "opd", "name": scope.name,
            "slug": scope.slug, "timezone": scope.timezone,
            "timezone_label": zone_label(scope.timezone),
            "opd_ids": list(scope.opd_ids) if scope.opd_ids is not None else None,
        },
        "year": year,
        "period": {"start": _iso(scope.start), "end": _iso(scope.end)},
        "as_of": _iso(moment),
        "target_posts_per_week": TARGET_PER_WEEK,
        "generated_from": dict(sorted(counts.values.items())),
        "files": [{"name": m.name, "size": m.size, "sha256": m.sha256}
                  for m in archive.members],
        "notes": counts.notes,
    }
    archive.add("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1,
                                            sort_keys=False).encode() + b"\n")
    tick(1)
    return archive.close()



def record_generated(session: Session, principal: Any, opd: Opd | None, year: int,
                     data: bytes) -> None:
    """The audit event of a bundle handed out (who, which scope and year, its sha256)."""
    from .services.auditing import record

    record(session, principal, "monev.bundle_generated", opd=opd, detail={
        "year": year, "scope": opd.slug if opd is not None else "pemda",
        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
