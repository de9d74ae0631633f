"""What every API area shares: the request hooks, paging, references and times."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..access import Principal
from ..app import db_session, get_runtime
from ..config import ConfigError, validate_timezone
from ..models import Opd, Role
from ..runtime import Runtime
from ..services import items as item_service
from ..services.errors import Invalid, NotFound
from ..timeutil import format_local
from ..web.ids import MAX_ID, is_id, parse_id
from . import idempotency, problems
from .auth import authenticate, current_principal


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


V = TypeVar("V", bound=Callable[..., Any])
_BODY_LOCATIONS = ("json", "form", "files", "multipart", "json_or_form")


def requires(*roles: Role, what: str) -> Callable[[V], V]:
    """Mark a view that only users holding one of ``roles`` (in some OPD) may call: the
    request hook answers 403 to others before their body is read. The services still check
    the role in the OPD concerned."""

    def mark(view: V) -> V:
        view._publisher_requires = (roles, what)  # type: ignore[attr-defined]
        return view

    return mark


def _view() -> Any:
    """The function that will answer this request (a MethodView's method), or None."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, request.method.lower(), None) if view_class else view


def _refused_role(view: Any) -> Response | None:
    required = getattr(view, "_publisher_requires", None)
    if required and not principal().holds_any(*required[0]):
        return problems.problem(403, f"Anda tidak berwenang {required[1]}")
    return None


def _missing_body(view: Any) -> Response | None:
    """A body the OpenAPI document marks required must be there (and JSON when it is JSON)."""
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    bodies = [p for p in parameters if p.get("in") in _BODY_LOCATIONS and p.get("required")]
    if not bodies:
        return None
    has_body = bool(request.content_length) or bool(request.get_data(cache=True))
    if bodies[0]["in"] == "json" and has_body and not request.is_json:
        return problems.problem(415, "badan permintaan harus application/json")
    if not has_body:
        return problems.problem(422, "badan permintaan wajib diisi (request body required)")
    return None


#: How deep a JSON body may nest. No request of this API needs more than a few levels; a
#: body nested 100,000 deep would otherwise exhaust the parser's recursion (a 500).
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_depth(body: bytes) -> int:
    """How deep ``body``'s arrays and objects nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def broken_text(value: Any, path: str = "") -> str | None:
    """The path of the first string in ``value`` (a parsed JSON body) that holds a lone
    surrogate (text no database can store), or None."""
    stack = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return where or "badan permintaan"
        elif isinstance(node, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in node.items())
            if any(isinstance(k, str) and _SURROGATE.search(k) for k in node):
                return where or "badan permintaan"
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))
    return None


def _unreadable_json() -> Response | None:
    """A JSON body nested deeper than any request needs, or holding text that cannot be
    stored (a lone surrogate), is refused before any view parses it."""
    if not request.is_json or not request.content_length:
        return None
    body = request.get_data(cache=True)
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        return problems.problem(400, f"JSON bersarang {depth} tingkat; paling banyak "
                                     f"{MAX_JSON_DEPTH} (JSON nested too deep)")
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # the view's own parsing names what is wrong
    where = broken_text(parsed)
    if where is not None:
        return problems.problem(422, f"{where}: teks memuat karakter Unicode yang rusak "
                                     "(surrogate tunggal)", errors=[problems.field_error(
                                         where, "karakter Unicode rusak (lone surrogate)")])
    return None


def _before() -> Response | None:
    denied = authenticate()
    if denied is not None:
        return denied
    view = _view()
    return (_refused_role(view) or _unreadable_json() or _missing_body(view)
            or idempotency.begin())


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


#: OpenAPI schema of an OPD reference: an id, or a slug (any non-blank text).
_OPD_REF_DOC = {"oneOf": [{"type": "integer", "format": "int64", "minimum": 1,
                           "maximum": MAX_ID},
                          {"type": "string", "pattern": r"\S"}]}


class OpdRef(ma.fields.Field):
    """An OPD by id (integer, 1..2^63-1) or slug (text); digits are an id."""

    default_error_messages = {"invalid": "harus id (angka) atau slug OPD (teks)",
                              "range": f"id OPD harus antara 1 dan {MAX_ID}"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**_OPD_REF_DOC, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            if not is_id(value):
                raise self.make_error("range")
            return value
        if isinstance(value, str) and value.strip():
            return opd_ref_value(value)
        raise self.make_error("invalid")


def opd_ref_value(text: str) -> int | str:
    """The id written in ``text`` (digits, 1..2^63-1), else ``text`` as a slug (which no OPD
    has when it is digits: such a reference is simply not found)."""
    text = text.strip()
    number = parse_id(text)
    return text if number is None else number


class Bool(ma.fields.Boolean):
    """A boolean that is one: JSON ``true``/``false``, or in a query string the words
    ``true``/``false`` (marshmallow's Boolean would also take "yes", "on", 1, ...)."""

    default_error_messages = {"invalid": "Not a valid boolean."}

    def __init__(self, *, query: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query = query

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        if self.query and value in ("true", "false"):
            return bool(value == "true")
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
    return opd_ref(sess, who, opd_ref_value(str(ref))).id


# --- paging ---------------------------------------------------------------------------------


#: The last page a list may be asked for (keeps OFFSET far inside 64 bits).
MAX_PAGE = 1_000_000_000


class PageArgs(ma.Schema):
    """Paging of list endpoints."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE))
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
