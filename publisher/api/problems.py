"""RFC 9457 problem details: every error of the API answers ``application/problem+json``.

One body shape for all of them: ``type``, ``title``, ``status``, ``detail``, ``instance``, and
for invalid input ``errors`` — one entry per field (``field``, ``pointer``, ``detail``).
Services' errors, flask-smorest/webargs validation, routing (404/405), oversized bodies (413)
and authentication (401) all come out this way.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from ..app import get_runtime
from ..images import ImageError
from ..images.decode import format_bytes
from ..services.errors import ServiceError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
_TYPE_BASE = "urn:opd-publisher:problem:"

#: Titles per status (Bahasa Indonesia first).
TITLES: dict[int, str] = {
    400: "Permintaan tidak dapat dibaca",
    401: "Autentikasi diperlukan",
    403: "Tidak diizinkan",
    404: "Tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Konflik status",
    413: "Data terlalu besar",
    415: "Jenis data tidak didukung",
    422: "Data tidak valid",
    429: "Terlalu banyak permintaan",
    500: "Kesalahan server",
}

#: Problem type slugs per status (for statuses without a more specific type).
TYPES: dict[int, str] = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
    422: "validation", 429: "too-many-requests", 500: "server-error",
}

# marshmallow/webargs messages, glossed in Bahasa Indonesia (the English original follows).
_GLOSSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "wajib diisi"),
    (re.compile(r"^Unknown field\.$"), "kolom tidak dikenal"),
    (re.compile(r"^Field may not be null\.$"), "tidak boleh kosong (null)"),
    (re.compile(r"^Not a valid integer\.$"), "harus bilangan bulat"),
    (re.compile(r"^Not a valid number\.$"), "harus angka"),
    (re.compile(r"^Not a valid string\.$"), "harus teks"),
    (re.compile(r"^Not a valid boolean\.$"), "harus true atau false"),
    (re.compile(r"^Not a valid list\.$"), "harus daftar (array)"),
    (re.compile(r"^Not a valid mapping type\.$"), "harus objek JSON"),
    (re.compile(r"^Invalid input type\.$"), "harus objek JSON"),
    (re.compile(r"^Not a valid date\.$"), "harus tanggal YYYY-MM-DD"),
    (re.compile(r"^Not a valid datetime\.$"), "harus waktu ISO 8601"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"harus salah satu dari: \1"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"panjang harus \1 sampai \2"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"paling banyak \1 karakter"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"paling sedikit \1 karakter"),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), r"minimal \1"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), r"maksimal \1"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     r"harus antara \1 dan \2"),
    (re.compile(r"^String does not match expected pattern\.$"), "format tidak sesuai"),
    (re.compile(r"^Invalid JSON body\.$"), "badan permintaan bukan JSON yang sah"),
]


class FieldErrorSchema(ma.Schema):
    """One invalid field."""

    field = ma.fields.String(metadata={"description": "dotted name, e.g. schedule.at"})
    pointer = ma.fields.String(metadata={"description": "JSON pointer, e.g. /schedule/at"})
    detail = ma.fields.String()


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only: responses are built by :func:`problem`)."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))


def gloss(message: str) -> str:
    """``harus bilangan bulat (Not a valid integer.)`` for a marshmallow message."""
    for pattern, indonesian in _GLOSSES:
        if pattern.match(message):
            return f"{pattern.sub(indonesian, message)} ({message})"
    return message


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem kind."""
    return _TYPE_BASE + slug


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_slug: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": problem_type(type_slug or TYPES.get(status, "error")),
        "title": title or TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.path if request else "",
    }
    if errors:
        body["errors"] = errors
    body.update(extensions)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_error(field: str, detail: str) -> dict[str, str]:
    """One entry of ``errors``: the field's dotted name, a JSON pointer, and the message."""
    pointer = "/" + "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in re.split(r"[.\[\]]+", field) if part
    )
    return {"field": field, "pointer": pointer, "detail": detail}


def flatten_messages(messages: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """(dotted field, message) pairs of a marshmallow ``messages`` tree."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            yield from flatten_messages(value, name)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            for m in messages:
                yield prefix, m
        else:
            for m in messages:
                yield from flatten_messages(m, prefix)
    else:
        yield prefix, str(messages)


_LOCATIONS = ("json", "query", "form", "files", "multipart", "headers", "path", "view_args",
              "json_or_form")


def _validation_errors(messages: Any) -> list[dict[str, str]]:
    errors = []
    for name, message in flatten_messages(messages):
        location, _, field = name.partition(".")
        if location in _LOCATIONS:
            name = field or location
        # marshmallow names errors of a whole (nested) object "_schema"
        name = "" if name == "_schema" else name.removesuffix("._schema")
        errors.append(field_error(name, gloss(message)))
    return errors


def from_http_exception(exc: HTTPException) -> Response:
    """Problem for a werkzeug/flask-smorest HTTP error (validation errors listed per field)."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    headers = dict(data.get("headers") or {})
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if messages:
        errors = _validation_errors(messages)
        named = ", ".join(e["field"] for e in errors if e["field"]) or "badan permintaan"
        return problem(status, data.get("message") or f"data tidak valid: {named}",
                       errors=errors, headers=headers)
    if status == 404:
        detail = f"alamat {request.path} tidak ada di API ini"
    elif status == 405:
        detail = f"metode {request.method} tidak diizinkan untuk {request.path}"
    elif status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = "badan permintaan melebihi batas ukuran yang diizinkan" + (
            f" ({format_bytes(int(limit))}; berkas gambar paling besar "
            f"{format_bytes(get_runtime().settings.max_upload_bytes)})" if limit else "")
    else:
        detail = data.get("message") or exc.description or HTTPStatus(status).phrase
    return problem(status, detail, headers=headers)


#: ``type`` of a 422 for input that matches the OpenAPI document but breaks a rule it can
#: only state in words (an unknown reference, a time in the past, a URL that is not public);
#: ``validation`` is kept for input the document itself rules out.
RULE_SLUG = "rule"


def from_service_error(exc: ServiceError) -> Response:
    """Problem for a service error; its field, if any, is named in ``errors``."""
    slug = RULE_SLUG if exc.status == 422 else None
    if exc.__class__.__name__ == "ExemptInformation":
        slug = "exempt-information"
    errors = [field_error(exc.field, exc.message)] if exc.field else None
    return problem(exc.status, exc.message, title=exc.title, type_slug=slug, errors=errors)


def from_image_error(exc: ImageError) -> Response:
    """Problem for an unusable upload (413, 415 or 422), naming the ``file`` field."""
    return problem(exc.http_status, exc.message, type_slug=f"image-{exc.code.replace('_', '-')}",
                   errors=[field_error("file", exc.message)])


def from_validation_error(exc: ma.ValidationError) -> Response:
    """Problem for a marshmallow error raised inside a view."""
    return problem(422, "data tidak valid", errors=_validation_errors(exc.messages))


def internal_error(exc: BaseException) -> Response:
    """A 500 that reveals nothing of the server's internals (the log has the traceback)."""
    log.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return problem(500, "terjadi kesalahan di server; coba lagi nanti")


def install_on_blueprint(blp: Blueprint) -> None:
    """Every error raised while a blueprint's view runs becomes a problem."""
    blp.register_error_handler(ServiceError, from_service_error)
    blp.register_error_handler(ImageError, from_image_error)
    blp.register_error_handler(ma.ValidationError, from_validation_error)
    blp.register_error_handler(HTTPException, from_http_exception)
    # Status-specific handlers too, so an app-wide handler for e.g. 404 cannot take over
    # (Flask prefers a handler registered for the code over one for the class).
    for code in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429):
        blp.register_error_handler(code, from_http_exception)
    blp.register_error_handler(Exception, _blueprint_exception)


def _blueprint_exception(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return from_http_exception(exc)
    return internal_error(exc)


def install_on_app(app: Flask) -> None:
    """Routing errors (unknown path, wrong method) under ``/api/`` happen before any blueprint
    is chosen: answer those with problems too, and leave other areas' errors alone."""

    def handle(exc: HTTPException) -> Any:
        if request.path.startswith(API_PREFIX):
            return from_http_exception(exc)
        return exc

    app.register_error_handler(HTTPException, handle)
