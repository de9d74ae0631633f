"""The Daftar Informasi Publik (DIP, Perki 1/2021) per OPD and for the whole Pemda.

Which items are in the DIP of a semester: approved, non-exempt items whose **first**
publication (on any channel) falls in that semester, counted in the zone of the OPD (or of the
Pemda for the whole-Pemda register). So each item appears in exactly one semester, and a
register exported later shows the same rows. For each item the register lists every channel
it went out on up to the end of the semester (channel, URL, local time with its zone label).
A cancelled item or one reclassified as dikecualikan drops out: only information the body
still holds and publishes is listed.

Bentuk informasi: the item's own Cetak/Rekam/Online list; an item that lists none is at least
available Online, since it was published.

The whole register is two queries (rows, then their channels), whatever its size.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .models import Category, Channel, Item, ItemStatus, Opd, Publication, PublicationStatus
from .sanitize import printable
from .services.errors import Invalid, NotFound
from .timeutil import format_local, semester_bounds, to_local, utcnow

CATEGORY_LABELS: dict[str, str] = {
    Category.BERKALA: "Berkala",
    Category.SERTA_MERTA: "Serta Merta",
    Category.SETIAP_SAAT: "Setiap Saat",
    Category.DIKECUALIKAN: "Dikecualikan",
}
FORMAT_LABELS: dict[str, str] = {"cetak": "Cetak", "rekam": "Rekam", "online": "Online"}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
FORMATS = ("json", "csv", "xlsx")
YEAR_RANGE = (2000, 2100)

#: Export columns: (header, width in characters).
COLUMNS: tuple[tuple[str, int], ...] = (
    ("No", 6),
    ("Judul Informasi", 36),
    ("Ringkasan Isi Informasi", 48),
    ("Pejabat/Unit yang Menguasai Informasi", 28),
    ("Penanggung Jawab Pembuatan/Penerbitan Informasi", 28),
    ("Waktu dan Tempat Pembuatan Informasi", 26),
    ("Bentuk Informasi yang Tersedia (Cetak/Rekam/Online)", 20),
    ("Jangka Waktu Penyimpanan", 20),
    ("Kategori", 14),
    ("OPD", 28),
    ("Tautan", 40),
    ("Dipublikasikan di (saluran, URL, waktu)", 60),
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ChannelEntry:
    """One channel an item went out on."""

    name: str
    kind: str
    url: str
    published_at: datetime
    local: str  # "2026-11-27 16:00 WITA"

    def as_text(self) -> str:
        """``Situs OPD (site): https://… — 2026-11-27 16:00 WIB``."""
        where = f": {self.url}" if self.url else ""
        return f"{self.name} ({self.kind}){where} — {self.local}"


@dataclass(frozen=True)
class RegisterRow:
    """One line of the DIP."""

    number: int
    item_id: int
    opd_id: int
    opd_name: str
    opd_slug: str
    timezone: str
    title: str
    summary: str
    official_unit: str
    responsible: str
    made: str  # waktu dan tempat pembuatan
    formats: tuple[str, ...]  # Cetak/Rekam/Online labels
    retention: str
    category: str
    first_published_at: datetime
    url: str
    channels: tuple[ChannelEntry, ...]

    @property
    def category_label(self) -> str:
        """Berkala, Serta Merta or Setiap Saat."""
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def formats_text(self) -> str:
        """``Cetak, Online``."""
        return ", ".join(self.formats)

    def cells(self) -> list[Any]:
        """The row as export cells, in COLUMNS order (text a PDF or a spreadsheet can hold,
        whatever an older release stored)."""
        return [printable(v) if isinstance(v, str) else v for v in (
            self.number, self.title, self.summary or self.title, self.official_unit,
            self.responsible, self.made, self.formats_text, self.retention,
            self.category_label, self.opd_name, self.url,
            "\n".join(c.as_text() for c in self.channels),
        )]

    def as_dict(self) -> dict[str, Any]:
        """JSON form (times in UTC ISO 8601 plus the local text)."""
        return {
            "nomor": self.number, "item_id": self.item_id,
            "opd": {"id": self.opd_id, "name": self.opd_name, "slug": self.opd_slug},
            "judul": self.title, "ringkasan_isi_informasi": self.summary or self.title,
            "pejabat_unit_yang_menguasai": self.official_unit,
            "penanggung_jawab": self.responsible, "waktu_dan_tempat_pembuatan": self.made,
            "bentuk_informasi": list(self.formats), "jangka_waktu_penyimpanan": self.retention,
            "kategori": self.category, "kategori_label": self.category_label,
            "url": self.url,
            "pertama_dipublikasikan": self.first_published_at.isoformat(),
            "saluran": [
                {"name": c.name, "kind": c.kind, "url": c.url,
                 "published_at": c.published_at.isoformat(), "published_local": c.local}
                for c in self.channels
            ],
        }


@dataclass(frozen=True)
class Register:
    """The DIP of one scope (an OPD, an OPD and its descendants, or every OPD) and semester."""

    scope_name: str
    opd_slug: str | None
    year: int
    semester: int
    timezone: str
    start: datetime
    end: datetime
    rows: tuple[RegisterRow, ...]
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def title(self) -> str:
        """``DAFTAR INFORMASI PUBLIK TAHUN 2026 SEMESTER 2 DINAS KOMINFO``."""
        return (f"DAFTAR INFORMASI PUBLIK TAHUN {self.year} SEMESTER {self.semester} "
                f"{self.scope_name.upper()}")

    def filename(self, fmt: str) -> str:
        """``dip-dinas-kominfo-2026-s2.xlsx``."""
        return f"dip-{self.opd_slug or 'pemda'}-{self.year}-s{self.semester}.{fmt}"

    def as_dict(self) -> dict[str, Any]:
        """The whole register as JSON."""
        return {
            "title": self.title, "opd": self.opd_slug, "year": self.year,
            "semester": self.semester, "timezone": self.timezone,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "count": len(self.rows), "rows": [r.as_dict() for r in self.rows],
        }


# --- period ---------------------------------------------------------------------------------


def current_semester(tz_name: str, now: datetime | None = None) -> tuple[int, int]:
    """(year, semester) of ``now`` in the zone."""
    local = to_local(now or utcnow(), tz_name)
    return local.year, 1 if local.month <= 6 else 2


def parse_period(year: Any, semester: Any, tz_name: str, *,
                 year_field: str = "year") -> tuple[int, int]:
    """Year and semester from user input (missing: the current semester in ``tz_name``).

    ``year_field`` is the name the user typed the year under (``tahun`` on the site).
    """
    default_year, default_semester = current_semester(tz_name)
    y = _int(year, year_field, default_year)
    s = _int(semester, "semester", default_semester)
    if not YEAR_RANGE[0] <= y <= YEAR_RANGE[1]:
        raise Invalid(f"{year_field} {y} di luar rentang {YEAR_RANGE[0]}–{YEAR_RANGE[1]}",
                      field=year_field)
    if s not in (1, 2):
        raise Invalid("semester harus 1 (Januari–Juni) atau 2 (Juli–Desember)",
                      field="semester")
    return y, s


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} harus berupa bilangan bulat, bukan {value!r}", field=name) from None


# --- scope ----------------------------------------------------------------------------------


def descendant_ids(session: Session, opd_id: int) -> list[int]:
    """``opd_id`` and every OPD below it (kecamatan, desa, ...)."""
    children: dict[int | None, list[int]] = {}
    for oid, parent in session.execute(select(Opd.id, Opd.parent_id)):
        children.setdefault(parent, []).append(oid)
    found, stack = [], [opd_id]
    while stack:
        current = stack.pop()
        if current in found:  # a cycle in bad data must not loop forever
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def pemda_name(session: Session) -> str:
    """The Pemda's name: the single root OPD if there is one."""
    roots = session.scalars(select(Opd.name).where(Opd.parent_id.is_(None)).limit(2)).all()
    return roots[0] if len(roots) == 1 else "Seluruh OPD"


def get_opd_by_slug(session: Session, slug: str) -> Opd:
    """An OPD by slug, or NotFound naming it."""
    opd = session.scalars(select(Opd).where(Opd.slug == slug)).first()
    if opd is None:
        raise NotFound(f"OPD {slug!r} tidak ditemukan", field="opd")
    return opd


# --- query ----------------------------------------------------------------------------------


def _first_published(opd_ids: Sequence[int] | None, start: datetime, end: datetime) -> Any:
    """Subquery: item_id and first publication time of the register's items."""
    first_at = func.min(Publication.published_at)
    query = (
        select(Publication.item_id.label("item_id"), first_at.label("first_at"))
        .join(Item, Item.id == Publication.item_id)
        .where(
            Publication.status == PublicationStatus.PUBLISHED,
            Publication.published_at.is_not(None),
            Item.status == ItemStatus.APPROVED,
            Item.category != Category.DIKECUALIKAN,
            or_(Item.dik_entry_id.is_(None), Item.dik_redacted.is_(True)),
        )
        .group_by(Publication.item_id)
        .having(first_at >= start, first_at < end)
    )
    if opd_ids is not None:
        query = query.where(Publication.opd_id.in_(list(opd_ids)))
    return query.subquery("first_pub")


def build(
    session: Session,
    settings: Any,
    year: int,
    semester: int,
    *,
    opd: Opd | None = None,
    descendants: bool = False,
    within: frozenset[int] | None = None,
) -> Register:
    """The DIP of ``opd`` (with its descendants if asked) or of every OPD, for one semester.

    ``within`` limits the OPDs further (a user's visible OPDs).
    """
    if opd is None:
        opd_ids: list[int] | None = None
        tz_name = settings.timezone
        scope_name, slug = pemda_name(session), None
    else:
        opd_ids = descendant_ids(session, opd.id) if descendants else [opd.id]
        tz_name, scope_name, slug = opd.timezone, opd.name, opd.slug
    if within is not None:
        opd_ids = sorted(within if opd_ids is None else set(opd_ids) & within)
    start, end = semester_bounds(year, semester, tz_name)
    first = _first_published(opd_ids, start, end)

    channels: dict[int, list[ChannelEntry]] = {}
    site_urls: dict[int, str] = {}
    pub_rows = session.execute(
        select(Publication.item_id, Publication.url, Publication.published_at,
               Channel.name, Channel.kind, Opd.timezone)
        .join(first, first.c.item_id == Publication.item_id)
        .join(Channel, Channel.id == Publication.channel_id)
        .join(Opd, Opd.id == Publication.opd_id)
        .where(Publication.status == PublicationStatus.PUBLISHED,
               Publication.published_at.is_not(None), Publication.published_at < end)
        .order_by(Publication.item_id, Publication.published_at, Publication.id)
    )
    for item_id, url, published_at, name, kind, zone in pub_rows:
        assert published_at is not None  # filtered in the query
        channels.setdefault(item_id, []).append(
            ChannelEntry(name, kind, url or "", published_at, format_local(published_at, zone)))
        if kind == "site" and url:
            site_urls.setdefault(item_id, url)

    item_rows = session.execute(
        select(Item.id, Item.opd_id, Item.title, Item.summary, Item.official_unit,
               Item.responsible, Item.made_at, Item.made_place, Item.info_formats,
               Item.retention, Item.category, Item.created_at, Opd.name, Opd.slug,
               Opd.timezone, first.c.first_at)
        .join(first, first.c.item_id == Item.id)
        .join(Opd, Opd.id == Item.opd_id)
        .order_by(first.c.first_at, Item.id)
    )
    rows = []
    for number, r in enumerate(item_rows, start=1):
        entries = tuple(channels.get(r.id, ()))
        made_day = r.made_at or to_local(r.created_at, r.timezone).date()
        rows.append(RegisterRow(
            number=number, item_id=r.id, opd_id=r.opd_id, opd_name=r.name, opd_slug=r.slug,
            timezone=r.timezone, title=r.title, summary=r.summary or "",
            official_unit=r.official_unit or "", responsible=r.responsible or "",
            made=", ".join(p for p in (long_date(made_day), r.made_place or "") if p),
            formats=tuple(FORMAT_LABELS.get(f, f) for f in (r.info_formats or ["online"])),
            retention=r.retention or "", category=r.category, first_published_at=r.first_at,
            url=site_urls.get(r.id) or next((c.url for c in entries if c.url), ""),
            channels=entries,
        ))
    return Register(scope_name, slug, year, semester, tz_name, start, end, tuple(rows))


def long_date(day: date) -> str:
    """``27 November 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# --- exports --------------------------------------------------------------------------------


#: A spreadsheet cell starting with one of these may be run as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet opening the CSV will show, never evaluate (OWASP), and without
    characters no spreadsheet can hold (rows stored before the text policy)."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(register: Register, progress: Progress | None = None) -> bytes:
    """CSV with a UTF-8 BOM (so Excel reads the accents), header row first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _ in COLUMNS])
    total = len(register.rows)
    for i, row in enumerate(register.rows, start=1):
        writer.writerow([csv_safe(v) for v in row.cells()])
        if progress:
            progress(i, total)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(register: Register, progress: Progress | None = None) -> bytes:
    """An Excel workbook: title row, bold frozen header, wrapped text, column widths."""
    # openpyxl is loaded by the first export, not by every process that imports the register
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, NamedStyle
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    # Named styles: assigning one per cell is a cheap copy, where a Font/Alignment object
    # per cell is hashed and looked up each time (seconds for a few thousand rows).
    wrap = Alignment(wrap_text=True, vertical="top")
    for style in (
        NamedStyle("dip_title", font=Font(bold=True, size=13),
                   alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
        NamedStyle("dip_header", font=Font(bold=True), alignment=wrap),
        NamedStyle("dip_cell", alignment=wrap),
    ):
        wb.add_named_style(style)
    ws = wb.create_sheet(f"DIP {register.year} S{register.semester}")
    for index, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A3"
    ws.merged_cells.add(f"A1:{get_column_letter(len(COLUMNS))}1")

    def styled(values: Sequence[Any], style: str) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            if isinstance(value, str):  # openpyxl refuses control characters (old rows)
                value = printable(value)
            cell = WriteOnlyCell(ws, value)
            if isinstance(value, str):
                cell.data_type = "s"  # "=…" typed by a user is text, never a formula
            cell.style = style
            cells.append(cell)
        return cells

    ws.append(styled([register.title], "dip_title"))
    ws.append(styled([name for name, _ in COLUMNS], "dip_header"))
    total = len(register.rows)
    for i, row in enumerate(register.rows, start=1):
        ws.append(styled(row.cells(), "dip_cell"))
        if progress:
            progress(i, total)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_json(register: Register) -> bytes:
    """The register as UTF-8 JSON."""
    return json.dumps(register.as_dict(), ensure_ascii=False, indent=1).encode()


def render(register: Register, fmt: str, progress: Progress | None = None) -> bytes:
    """The register in ``fmt`` (json, csv or xlsx)."""
    if fmt == "csv":
        return to_csv(register, progress)
    if fmt == "xlsx":
        return to_xlsx(register, progress)
    if fmt == "json":
        return to_json(register)
    raise Invalid(f"format {fmt!r} tidak dikenal: pilih json, csv atau xlsx", field="format")


MIME_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export(
    runtime: Any,
    opd_slug: str | None,
    year: int,
    semester: int,
    fmt: str,
    path: str | Path,
    progress: Progress | None = None,
    *,
    descendants: bool = False,
) -> int:
    """Write the DIP of an OPD (or of every OPD when ``opd_slug`` is None) to ``path``.

    For the CLI. Returns the number of rows; raises Invalid or NotFound (with ``.field``).
    ``progress(done, total)`` is called as rows are written.
    """
    if fmt not in FORMATS:
        raise Invalid(f"format {fmt!r} tidak dikenal: pilih json, csv atau xlsx", field="format")
    year, semester = parse_period(year, semester, runtime.settings.timezone)
    with runtime.db.read() as session:
        opd = get_opd_by_slug(session, opd_slug) if opd_slug else None
        register = build(session, runtime.settings, year, semester, opd=opd,
                         descendants=descendants)
    data = render(register, fmt, progress)
    Path(path).write_bytes(data)
    return len(register.rows)
