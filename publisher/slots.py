"""Weekly posting schedules: the next free slot of a channel (e.g. Mon–Fri 08:00 and 12:00)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .services.errors import Invalid

_MAX_DAYS = 60


def parse_schedule(raw: Any) -> list[dict[str, Any]]:
    """Validate ``[{"days": [0-6], "times": ["HH:MM"]}]`` (Monday=0); raise Invalid naming it."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise Invalid("jadwal harus berupa daftar aturan", field="schedule")
    rules = []
    for i, rule in enumerate(raw):
        if not isinstance(rule, dict):
            raise Invalid("setiap aturan jadwal berisi days dan times", field=f"schedule[{i}]")
        days = rule.get("days")
        times = rule.get("times")
        if not isinstance(days, list) or not days or any(
            not isinstance(d, int) or not 0 <= d <= 6 for d in days
        ):
            raise Invalid("days: angka 0 (Senin) sampai 6 (Minggu)", field=f"schedule[{i}].days")
        if not isinstance(times, list) or not times:
            raise Invalid("times: daftar jam HH:MM", field=f"schedule[{i}].times")
        parsed = []
        for t in times:
            try:
                parsed.append(time.fromisoformat(str(t)).strftime("%H:%M"))
            except ValueError:
                raise Invalid(f"{t!r} bukan jam HH:MM", field=f"schedule[{i}].times") from None
        rules.append({"days": sorted(set(days)), "times": sorted(set(parsed))})
    return rules


def slot_times(schedule: list[dict[str, Any]], tz_name: str, after: datetime) -> Any:
    """Yield every slot (aware UTC) strictly after ``after``, in order, for up to 60 days."""
    zone = ZoneInfo(tz_name)
    local_after = after.astimezone(zone)
    for offset in range(_MAX_DAYS):
        day = (local_after + timedelta(days=offset)).date()
        todays = sorted(
            {t for rule in schedule if day.weekday() in rule["days"] for t in rule["times"]}
        )
        for t in todays:
            moment = datetime.combine(day, time.fromisoformat(t), tzinfo=zone).astimezone(UTC)
            if moment > after:
                yield moment


def next_free_slot(
    schedule: list[dict[str, Any]], tz_name: str, after: datetime, taken: Collection[datetime]
) -> datetime:
    """The first slot after ``after`` not already taken by another publication."""
    if not schedule:
        raise Invalid(
            "saluran ini belum punya jadwal posting mingguan; pilih waktu lain",
            field="schedule.mode",
        )
    taken_set = {t.replace(microsecond=0) for t in taken}
    for slot in slot_times(schedule, tz_name, after):
        if slot not in taken_set:
            return slot
    raise Invalid("tidak ada slot kosong dalam 60 hari ke depan", field="schedule.mode")
