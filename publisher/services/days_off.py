"""The Pemda's own days off (and days worked that would be off), kept in the ``day_off``
table and read with the national calendar by :class:`publisher.workdays.WorkCalendar`.
Adding or removing one is an audit event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import holidays
from holidays.constants import GOVERNMENT, PUBLIC
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Principal
from ..models import DayOff
from ..workdays import WEEKEND_NAMES, WorkCalendar
from . import text as text_policy
from .auditing import record
from .errors import Conflict, Forbidden, Invalid, NotFound

NAME_LIMIT = 200

#: What kind of day a listed row is.
PEMDA = "pemda"  # the Pemda's own day off
WORKING = "hari_kerja"  # a day the Pemda works although it would be off
NATIONAL = "libur_nasional"
CUTI_BERSAMA = "cuti_bersama"
KIND_LABELS = {
    PEMDA: "libur Pemda",
    WORKING: "hari kerja Pemda",
    NATIONAL: "libur nasional",
    CUTI_BERSAMA: "cuti bersama",
}


@dataclass(frozen=True)
class Day:
    """One listed day: when, what it is called, and which kind it is."""

    day: date
    name: str
    kind: str


def calendar(session: Session) -> WorkCalendar:
    """The Pemda's working-day calendar: national days plus the ``day_off`` rows."""
    rows = list(session.scalars(select(DayOff)))
    return WorkCalendar(
        extra_days_off={r.day: r.name for r in rows if not r.working},
        extra_working_days={r.day: r.name for r in rows if r.working},
    )


def _national(year: int) -> list[Day]:
    out: list[Day] = []
    for category, kind in ((PUBLIC, NATIONAL), (GOVERNMENT, CUTI_BERSAMA)):
        loaded = holidays.country_holidays("ID", years=year, categories=(category,),
                                           language="id")
        out.extend(Day(d, name, kind) for d, name in loaded.items())
    return out


def list_days(session: Session, year: int) -> list[Day]:
    """The Pemda's own rows of ``year`` and the year's national holidays and cuti bersama,
    by date (weekends are not listed)."""
    if not 1900 <= year <= 2100:
        raise Invalid(f"tahun {year} di luar 1900–2100", field="year")
    own = session.scalars(select(DayOff).where(
        DayOff.day >= date(year, 1, 1), DayOff.day <= date(year, 12, 31)))
    days = [Day(r.day, r.name, WORKING if r.working else PEMDA) for r in own]
    days.extend(_national(year))
    order = {PEMDA: 0, WORKING: 0, NATIONAL: 1, CUTI_BERSAMA: 2}
    return sorted(days, key=lambda d: (d.day, order[d.kind]))


def _check(principal: Principal | None) -> None:
    # The command line without --as acts as the system; a named user must be PPID Utama.
    if principal is not None and not principal.is_admin:
        raise Forbidden("hanya PPID Utama (admin) yang mengatur hari libur Pemda")


def add_day_off(session: Session, principal: Principal | None, day: date, name: str,
                working: bool = False) -> DayOff:
    """Add a Pemda day off, or (``working``) a day worked although it would be off."""
    _check(principal)
    clean = text_policy.line(name, "name")
    if not clean:
        raise Invalid("nama hari libur wajib diisi", field="name")
    if len(clean) > NAME_LIMIT:
        raise Invalid(f"nama hari libur paling banyak {NAME_LIMIT} karakter", field="name")
    existing = session.get(DayOff, day)
    if existing is not None:
        what = "hari kerja" if existing.working else "hari libur"
        raise Conflict(f"{day.isoformat()} sudah tercatat sebagai {what} Pemda: "
                       f"{existing.name}", field="date")
    if working and WorkCalendar().is_working_day(day):
        raise Invalid(f"{day.isoformat()} memang hari kerja (bukan akhir pekan, libur "
                      "nasional atau cuti bersama)", field="date")
    row = DayOff(day=day, name=clean, working=working)
    session.add(row)
    record(session, principal, "day_off.added", detail={
        "day": day.isoformat(), "name": clean, "working": working})
    return row


def remove_day_off(session: Session, principal: Principal | None, day: date) -> DayOff:
    """Remove a Pemda row (a day off or a working day); NotFound when there is none."""
    _check(principal)
    row = session.get(DayOff, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} bukan hari libur atau hari kerja Pemda yang "
                       "tercatat", field="date")
    session.delete(row)
    record(session, principal, "day_off.removed", detail={
        "day": day.isoformat(), "name": row.name, "working": row.working})
    return row


def day_name(day: date) -> str:
    """``Senin``…``Minggu``."""
    names = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", *WEEKEND_NAMES.values())
    return names[day.weekday()]
