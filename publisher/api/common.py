"""What every API area shares: the request hooks, paging, references and times."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..access import Principal
from ..app import db_session, get_runtime
from ..config import ConfigError, validate_timezone
from ..models import Opd
from ..runtime import Runtime
from ..services import items as item_service
from ..services.errors import Invalid, NotFound
from ..timeutil import format_local
from . import idempotency, problems
from .auth import authenticate, current_principal


def _before() -> Response | None:
    return authenticate() or idempotency.begin()


def install(blp: Blueprint) -> None:
    """Bearer auth, Idempotency-Key and problem+json on every view of ``blp`` (once: the
    blueprint object is shared by every app this process creates)."""
    if getattr(blp, "_publisher_api_installed", False):
        return
    blp._publisher_api_installed = True
    blp.before_request(_before)
    blp.after_request(idempotency.finish)
    blp.teardown_request(idempotency.abandon)
    problems.install_on_blueprint(blp)


def runtime() -> Runtime:
    """The app's Runtime."""
    return get_runtime()


def session() -> Session:
    """The request's session (a write transaction for POST/PATCH/PUT/DELETE)."""
    return db_session()


def principal() -> Principal:
    """The authenticated user."""
    return current_principal()


# --- references in request bodies and query strings -----------------------------------------


class OpdRef(ma.fields.Field):
    """An OPD by id (integer) or slug (text)."""

    default_error_messages = {"invalid": "harus id (angka) atau slug OPD (teks)"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return int(text) if text.isdigit() else text
        raise self.make_error("invalid")


@contextmanager
def referenced() -> Iterator[None]:
    """Inside: an unknown or invisible thing named in the request body is invalid input (422
    naming the field), not a missing resource (the URL itself exists)."""
    try:
        yield
    except NotFound as exc:
        raise Invalid(exc.message, field=exc.field) from None


def opd_ref(sess: Session, who: Principal, ref: int | str, field: str = "opd") -> Opd:
    """An OPD the user may read, named in the request (422 naming ``field`` otherwise)."""
    try:
        return item_service.get_opd(sess, who, ref)
    except NotFound as exc:
        raise Invalid(exc.message, field=field) from None


def opd_filter(sess: Session, who: Principal, args: dict[str, Any]) -> int | None:
    """The id of the OPD a list is filtered on (``opd``: id or slug), or None for no filter."""
    ref = args.get("opd")
    if ref in (None, ""):
        return None
    return opd_ref(sess, who, int(ref) if str(ref).isdigit() else ref).id


# --- paging ---------------------------------------------------------------------------------


class PageArgs(ma.Schema):
    """Paging of list endpoints."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=25, validate=ma.validate.Range(min=1, max=200))


def paged(
    sess: Session, query: Select[Any], args: dict[str, Any]
) -> tuple[Sequence[Any], dict[str, int]]:
    """One page of ``query``'s rows and the paging block of the response."""
    total = sess.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page, per_page = args["page"], args["per_page"]
    rows = sess.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, {"page": page, "per_page": per_page, "total": int(total)}


# --- times ----------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (``2026-11-27T09:00:00Z``)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def put_time(out: dict[str, Any], name: str, moment: datetime | None, tz_name: str) -> None:
    """``out[name]`` in UTC and ``out[name + "_local"]`` as read in the OPD (``… WIB``)."""
    out[name] = iso(moment)
    out[f"{name}_local"] = format_local(moment, tz_name) if moment is not None else None


def parse_time_arg(value: str, tz_name: str, field: str, *, end: bool = False) -> datetime:
    """A time filter: ISO date or time; without an offset it is local time in ``tz_name``.

    A bare date means the start of that day (or, with ``end``, the start of the next one).
    """
    text = value.strip()
    try:
        validate_timezone(tz_name)
    except ConfigError as exc:
        raise Invalid(str(exc), field="timezone") from None
    zone = ZoneInfo(tz_name)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time.min, tzinfo=zone)
            if end:
                start = datetime.combine(date.fromordinal(day.toordinal() + 1), time.min,
                                         tzinfo=zone)
            return start.astimezone(UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{value!r} bukan tanggal/waktu ISO 8601 (mis. 2026-12-01 atau "
                      "2026-12-01T08:00)", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


class TimeRangeArgs(ma.Schema):
    """``from``/``to`` filters (ISO; local time of ``timezone`` or the OPD without an offset)."""

    date_from = ma.fields.String(data_key="from")
    date_to = ma.fields.String(data_key="to")
    timezone = ma.fields.String()


def time_range(args: dict[str, Any], tz_name: str) -> tuple[datetime | None, datetime | None]:
    """The (start, end) of a TimeRangeArgs filter, in UTC."""
    tz_name = args.get("timezone") or tz_name
    start = parse_time_arg(args["date_from"], tz_name, "from") if args.get("date_from") else None
    stop = parse_time_arg(args["date_to"], tz_name, "to", end=True) if args.get("date_to") else None
    if start and stop and stop <= start:
        raise Invalid("'to' harus setelah 'from'", field="to")
    return start, stop


def opd_zone(sess: Session, opd_id: int | None) -> str:
    """The OPD's timezone (the service default when there is none)."""
    if opd_id is not None:
        zone = sess.scalar(select(Opd.timezone).where(Opd.id == opd_id))
        if zone:
            return zone
    return runtime().settings.timezone
