"""Database ids in URLs, query strings and bodies: whole numbers 1..2^63-1.

Every id column is a signed 64-bit integer; a larger number would overflow the database
driver (a 500). Paths use the ``id`` URL converter (a number out of range matches no route:
404); request schemas use :class:`IdField` (out of range: 422 naming the field).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import marshmallow as ma
from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from ..services.errors import Invalid

#: The largest id a BIGINT column (and SQLite's INTEGER) can hold.
MAX_ID = 2**63 - 1


def is_id(value: int) -> bool:
    """``value`` can be a row id."""
    return 1 <= value <= MAX_ID


def parse_id(raw: str | None) -> int | None:
    """The id written in ``raw`` (ASCII digits only), or None when it cannot be one."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if is_id(value) else None


class IdConverter(IntegerConverter):
    """``<id:name>``: like ``<int:name>``, but only 1..2^63-1 matches."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_param_schema(converter: IdConverter) -> dict[str, Any]:
    """The OpenAPI schema of an ``<id:…>`` path parameter."""
    return {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}


class IdField(ma.fields.Integer):
    """An id in a request: a JSON integer (or query digits) in 1..2^63-1."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("format", "int64")
        super().__init__(**kwargs)


def init_app(app: Flask) -> None:
    """Register the ``id`` converter (before any blueprint adds its rules)."""
    app.url_map.converters["id"] = IdConverter


def form_id(raw: Any, field: str) -> int:
    """The id chosen in form field ``field``; Invalid naming it when it is missing or not an
    id (the form is shown again with the message, never a 500)."""
    if raw in (None, ""):
        raise Invalid("wajib dipilih", field=field)
    value = parse_id(str(raw))
    if value is None:
        raise Invalid(f"pilihan {str(raw)[:40]!r} tidak dikenal", field=field)
    return value


def form_ids(raws: Iterable[Any], field: str) -> list[int]:
    """The ids chosen in a multi-value field (empty values skipped); Invalid on any other."""
    return [form_id(raw, field) for raw in raws if raw not in (None, "")]


def form_number(raw: Any, field: str, *, maximum: int, default: int = 0) -> int:
    """A whole number typed in a form (``default`` when empty); Invalid beyond 0..maximum."""
    text = str(raw or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) > maximum:
        raise Invalid(f"harus bilangan bulat 0 sampai {maximum}", field=field)
    return int(text)
