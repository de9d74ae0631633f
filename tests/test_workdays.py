"""Working-day calendar: real dates of 2025/2026 from the ``holidays`` package, no mocks.

National holidays and cuti bersama 2025 as the installed ``holidays`` package gives them (they
agree with the SKB of the Minister of Religious Affairs, Minister of Manpower and Minister of
PAN-RB for 2025, plus Monday 18 August 2025 added later as an extra day off):
Idul Fitri 1446 H is Monday 31 March and Tuesday 1 April 2025; cuti bersama Idul Fitri is
2, 3, 4 and 7 April; Friday 28 March is cuti bersama Nyepi (Nyepi itself is Saturday 29 March).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from publisher.workdays import WorkCalendar


def test_idul_fitri_2025_days_off() -> None:
    cal = WorkCalendar()
    assert cal.day_off_name(date(2025, 3, 28)) == "Cuti Bersama Hari Suci Nyepi"
    assert cal.day_off_name(date(2025, 3, 29)) == "Hari Suci Nyepi"  # a Saturday too
    assert cal.day_off_name(date(2025, 3, 30)) == "Minggu"
    assert cal.day_off_name(date(2025, 3, 31)) == "Hari Raya Idul Fitri"
    assert cal.day_off_name(date(2025, 4, 1)) == "Hari kedua dari Hari Raya Idul Fitri"
    for day in (2, 3, 4, 7):
        assert cal.day_off_name(date(2025, 4, day)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert cal.day_off_name(date(2025, 4, 5)) == "Sabtu"
    assert cal.is_working_day(date(2025, 3, 27))  # Thursday before the holidays
    assert cal.is_working_day(date(2025, 4, 8))  # Tuesday, first day back
    assert cal.day_off_name(date(2025, 4, 8)) is None


def test_request_across_idul_fitri_2025() -> None:
    cal = WorkCalendar()
    # Received Thursday 27 March 2025. Off: Fri 28 Mar (cuti Nyepi), Sat 29, Sun 30,
    # Mon 31 Mar + Tue 1 Apr (Idul Fitri), Wed 2 - Fri 4 Apr (cuti), Sat 5, Sun 6,
    # Mon 7 Apr (cuti). Working days: Tue 8 (1), Wed 9 (2), Thu 10 (3), Fri 11 (4),
    # Mon 14 (5), Tue 15 (6), Wed 16 (7), Thu 17 (8), [Fri 18 Good Friday, weekend],
    # Mon 21 (9), Tue 22 April (10).
    due = cal.deadline(date(2025, 3, 27), 10)
    assert due == date(2025, 4, 22)
    # Extended by 7 working days from Tue 22 Apr: Wed 23 (1), Thu 24 (2), Fri 25 (3),
    # Mon 28 (4), Tue 29 (5), Wed 30 (6), [Thu 1 May Hari Buruh], Fri 2 May (7).
    assert cal.add_working_days(due, 7) == date(2025, 5, 2)


def test_christmas_and_new_year() -> None:
    cal = WorkCalendar()
    assert cal.day_off_name(date(2025, 12, 25)) == "Hari Raya Natal"
    assert cal.day_off_name(date(2025, 12, 26)) == "Cuti Bersama Hari Raya Natal"
    assert cal.day_off_name(date(2026, 1, 1)) == "Tahun Baru Masehi"
    assert cal.is_working_day(date(2025, 12, 24))  # no cuti bersama on 24 Dec 2025
    assert cal.is_working_day(date(2026, 1, 2))  # no cuti bersama on 2 Jan 2026
    # Received Monday 22 Dec 2025: Tue 23 (1), Wed 24 (2), [Thu 25, Fri 26, weekend],
    # Mon 29 (3), Tue 30 (4), Wed 31 (5), [Thu 1 Jan], Fri 2 Jan (6), Mon 5 (7), Tue 6 (8),
    # Wed 7 (9), Thu 8 January 2026 (10) - the period crosses the year boundary.
    assert cal.deadline(date(2025, 12, 22), 10) == date(2026, 1, 8)


def test_request_received_on_a_weekend() -> None:
    cal = WorkCalendar()
    saturday = date(2025, 6, 14)
    assert cal.day_off_name(saturday) == "Sabtu"
    assert cal.day_off_name(date(2025, 6, 15)) == "Minggu"
    # n=0: the next working day, Monday 16 June.
    assert cal.add_working_days(saturday, 0) == date(2025, 6, 16)
    # Mon 16 (1) ... Fri 20 (5), Mon 23 (6), Tue 24 (7), Wed 25 (8), Thu 26 (9),
    # [Fri 27 Jun Tahun Baru Islam, weekend], Mon 30 June (10).
    assert cal.deadline(saturday, 10) == date(2025, 6, 30)
    assert cal.deadline(saturday, 1) == date(2025, 6, 16)


def test_n_zero_on_a_working_day_is_the_same_day() -> None:
    cal = WorkCalendar()
    assert cal.add_working_days(date(2025, 3, 27), 0) == date(2025, 3, 27)
    # From a holiday run: Fri 28 Mar 2025 -> Tue 8 Apr.
    assert cal.add_working_days(date(2025, 3, 28), 0) == date(2025, 4, 8)


def test_negative_n_is_an_error() -> None:
    cal = WorkCalendar()
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 3, 27), -1)
    with pytest.raises(ValueError):
        cal.deadline(date(2025, 3, 27), -10)


def test_extra_pemda_day_off_pushes_the_deadline() -> None:
    national = WorkCalendar()
    hari_jadi = date(2025, 9, 10)  # a Wednesday
    pemda = WorkCalendar(extra_days_off={hari_jadi: "Hari Jadi Kabupaten"})
    assert national.is_working_day(hari_jadi)
    assert pemda.day_off_name(hari_jadi) == "Hari Jadi Kabupaten"
    # Received Mon 1 Sep 2025: Tue 2 (1), Wed 3 (2), Thu 4 (3), [Fri 5 Maulid Nabi, weekend],
    # Mon 8 (4), Tue 9 (5), Wed 10 (6), Thu 11 (7), Fri 12 (8), Mon 15 (9), Tue 16 (10).
    assert national.deadline(date(2025, 9, 1), 10) == date(2025, 9, 16)
    # With Wed 10 Sep off, the 10th working day is Wed 17 Sep.
    assert pemda.deadline(date(2025, 9, 1), 10) == date(2025, 9, 17)


def test_extra_working_day() -> None:
    saturday = date(2025, 9, 13)
    cal = WorkCalendar(
        extra_days_off={date(2025, 9, 10): "Hari Jadi Kabupaten"},
        extra_working_days={saturday: "Sabtu masuk kerja pengganti"},
    )
    assert cal.is_working_day(saturday)
    assert cal.day_off_name(saturday) is None
    assert not cal.is_working_day(date(2025, 9, 14))  # the Sunday stays off
    # The worked Saturday makes up for Hari Jadi: Tue 2 (1), Wed 3 (2), Thu 4 (3), Mon 8 (4),
    # Tue 9 (5), [Wed 10 Hari Jadi], Thu 11 (6), Fri 12 (7), Sat 13 (8), Mon 15 (9), Tue 16 (10):
    # back to the deadline without Hari Jadi.
    assert cal.deadline(date(2025, 9, 1), 10) == date(2025, 9, 16)
    assert cal.deadline(date(2025, 9, 1), 9) == date(2025, 9, 15)
    # An extra working day also overrides a national day off.
    cuti = date(2025, 12, 26)
    assert WorkCalendar(extra_working_days={cuti: "masuk"}).is_working_day(cuti)


def test_a_date_cannot_be_both_extra_off_and_extra_working() -> None:
    d = date(2025, 9, 10)
    with pytest.raises(ValueError):
        WorkCalendar(extra_days_off={d: "Hari Jadi"}, extra_working_days={d: "masuk"})


def test_working_days_between() -> None:
    cal = WorkCalendar()
    assert cal.working_days_between(date(2025, 3, 27), date(2025, 4, 22)) == 10
    # (Thu 27 Mar, Mon 7 Apr] holds only days off.
    assert cal.working_days_between(date(2025, 3, 27), date(2025, 4, 7)) == 0
    assert cal.working_days_between(date(2025, 4, 22), date(2025, 4, 22)) == 0
    assert cal.working_days_between(date(2025, 4, 22), date(2025, 3, 27)) == 0


def test_working_days_between_is_the_inverse_of_add_working_days() -> None:
    cal = WorkCalendar(extra_days_off={date(2025, 9, 10): "Hari Jadi Kabupaten"})
    starts = [
        date(2025, 3, 27),  # before Idul Fitri
        date(2025, 3, 29),  # a Saturday that is also Nyepi
        date(2025, 9, 1),
        date(2025, 12, 20),  # across the new year
    ]
    for start in starts:
        for n in range(1, 31):
            end = cal.add_working_days(start, n)
            assert cal.is_working_day(end)
            assert cal.working_days_between(start, end) == n
            # The day before the deadline is one working day short.
            assert cal.working_days_between(start, end - timedelta(days=1)) == n - 1


def test_years_are_cached_and_loaded_lazily() -> None:
    cal = WorkCalendar()
    assert cal._years == {}
    cal.is_working_day(date(2025, 12, 31))
    assert set(cal._years) == {2025}
    first = cal._years[2025]
    cal.deadline(date(2025, 12, 22), 10)
    assert set(cal._years) == {2025, 2026}
    assert cal._years[2025] is first
