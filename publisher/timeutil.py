"""Time helpers: store UTC, show and accept local time in the OPD's zone with its label."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .config import ZONE_LABELS, validate_timezone


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def zone_label(tz_name: str) -> str:
    """WIB, WITA or WIT for an Indonesian zone name."""
    return ZONE_LABELS.get(tz_name, tz_name)


def to_local(moment: datetime, tz_name: str) -> datetime:
    """Convert an aware UTC datetime to the OPD's zone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every stored time must be timezone-aware")
    return moment.astimezone(ZoneInfo(tz_name))


def format_local(moment: datetime | None, tz_name: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``2026-11-27 16:00 WIB`` — a UTC time as people in the OPD read it."""
    if moment is None:
        return ""
    return f"{to_local(moment, tz_name).strftime(fmt)} {zone_label(tz_name)}"


def parse_local(value: str | datetime, tz_name: str) -> datetime:
    """Read an ISO time; without an offset it is taken as local time in ``tz_name``.

    Returns an aware UTC datetime. Raises ValueError with a readable message.
    """
    validate_timezone(tz_name)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a time: use ISO 8601, e.g. 2026-12-01T08:00"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz_name))
    return moment.astimezone(UTC)


def semester_bounds(year: int, semester: int, tz_name: str) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of a semester in the OPD's zone."""
    if semester not in (1, 2):
        raise ValueError("semester must be 1 (January–June) or 2 (July–December)")
    zone = ZoneInfo(tz_name)
    start = datetime(year, 1 if semester == 1 else 7, 1, tzinfo=zone)
    if semester == 1:
        end = datetime(year, 7, 1, tzinfo=zone)
    else:
        end = datetime(year + 1, 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
