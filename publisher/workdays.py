"""Working days (hari kerja) of an Indonesian local-government office.

UU 14/2008 and its implementing rules count deadlines in working days: a public-information
request is answered "paling lambat 10 (sepuluh) hari kerja sejak diterimanya permintaan", which
may be extended once by 7 working days; reviews of the Daftar Informasi yang Dikecualikan are
scheduled the same way. A day off for ASN of a Pemda office is:

- a Saturday or Sunday (the 5-day working week);
- a national holiday (hari libur nasional) or a collective leave day (cuti bersama) from the
  SKB of the Minister of Religious Affairs, Minister of Manpower and Minister of PAN-RB, as
  published by the ``holidays`` package: national holidays are its ``PUBLIC`` category and cuti
  bersama its ``GOVERNMENT`` category;
- an extra day off the Pemda sets itself (e.g. Hari Jadi Kabupaten).

A Pemda may also make a day that would be off a working day (rare: a Saturday worked in place
of a cuti bersama); such a day is a working day whatever else it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays
from holidays.constants import GOVERNMENT, PUBLIC

__all__ = ["WEEKEND_NAMES", "WorkCalendar"]

#: Names of the weekend days (``date.weekday()`` 5 and 6) in Indonesian.
WEEKEND_NAMES: Mapping[int, str] = {5: "Sabtu", 6: "Minggu"}

_COUNTRY = "ID"
_CATEGORIES = (PUBLIC, GOVERNMENT)
_LANGUAGE = "id"


@lru_cache(maxsize=32)
def national_days_off(year: int) -> Mapping[date, str]:
    """National holidays and cuti bersama of ``year``, loaded once per process (they do not
    change while it runs; every calendar a request builds shares them)."""
    loaded = holidays.country_holidays(
        _COUNTRY, years=year, categories=_CATEGORIES, language=_LANGUAGE, expand=False)
    return MappingProxyType(dict(loaded.items()))


class WorkCalendar:
    """The working-day calendar of one Pemda: weekends, national holidays, cuti bersama, and
    the Pemda's own extra days off and extra working days.

    National holidays are loaded lazily, one year at a time, and cached per year.
    """

    def __init__(
        self,
        extra_days_off: Mapping[date, str] | None = None,
        extra_working_days: Mapping[date, str] | None = None,
    ) -> None:
        """Build a calendar.

        :param extra_days_off: the Pemda's own days off, date → name.
        :param extra_working_days: days that are working days although they would be off
            (weekend or national), date → reason.
        :raises ValueError: when a date is both an extra day off and an extra working day.
        """
        self._extra_off: dict[date, str] = dict(extra_days_off or {})
        self._extra_working: dict[date, str] = dict(extra_working_days or {})
        both = sorted(self._extra_off.keys() & self._extra_working.keys())
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"dates both extra days off and extra working days: {listed}")
        self._years: dict[int, Mapping[date, str]] = {}

    def _national(self, year: int) -> Mapping[date, str]:
        """National holidays and cuti bersama of ``year`` (loaded once, then cached)."""
        cached = self._years.get(year)
        if cached is None:
            cached = national_days_off(year)
            self._years[year] = cached
        return cached

    def day_off_name(self, d: date) -> str | None:
        """Why ``d`` is a day off, or ``None`` when it is a working day.

        The Pemda's own day off comes first, then the national holiday or cuti bersama (named
        in Indonesian as the ``holidays`` package gives it; several on one day are joined with
        ``"; "``), then "Sabtu"/"Minggu".
        """
        if d in self._extra_working:
            return None
        extra = self._extra_off.get(d)
        if extra is not None:
            return extra
        national = self._national(d.year).get(d)
        if national is not None:
            return national
        return WEEKEND_NAMES.get(d.weekday())

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day of the Pemda office."""
        return self.day_off_name(d) is None

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts).

        ``n == 0`` gives ``start`` when it is a working day, else the next working day.

        :raises ValueError: when ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = start
        if n == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
            return day
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in ``(start, end]``; 0 when ``end <= start``.

        For ``n >= 1``, ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def deadline(self, start: date, n: int) -> date:
        """The last day of a "paling lambat ``n`` hari kerja" period starting on ``start``.

        ``start`` is the day of receipt (of a request, an objection, a DIK to review); it does
        not count, so a request received on day D with ``n = 10`` is due on the 10th working day
        after D. Same as :meth:`add_working_days`.
        """
        return self.add_working_days(start, n)
