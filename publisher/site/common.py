"""Helpers shared by the site's blueprints: local times, paging, headers, error pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request
from werkzeug.exceptions import HTTPException

from ..app import db_session
from ..models import Opd
from ..register import CATEGORY_LABELS, long_date, pemda_name
from ..timeutil import to_local, zone_label

PER_PAGE = 20

#: Site pages run no script at all; images may come from the item's own (sanitised) HTML.
CSP = ("default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; "
       "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def local_time(moment: datetime | None, tz_name: str) -> str:
    """``27 November 2026 16:00 WITA``."""
    if moment is None:
        return ""
    local = to_local(moment, tz_name)
    return f"{long_date(local.date())} {local:%H:%M} {zone_label(tz_name)}"


def opd_or_404(opd_slug: str) -> Opd:
    """The OPD a public URL names, or 404."""
    from . import queries

    opd = queries.opd_by_slug(db_session(), opd_slug)
    if opd is None:
        abort(404)
    return opd


def int_param(name: str, default: int, minimum: int = 1, maximum: int = 10**9) -> int:
    """A whole-number query parameter; 400 naming it when malformed or out of range."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw) if len(raw) <= 20 else minimum - 1
    except ValueError:
        value = minimum - 1
    if not minimum <= value <= maximum:
        abort(400, description=f"parameter {name!r} harus bilangan bulat ≥ {minimum} dan "
                               f"≤ {maximum}, bukan {raw[:40]!r}")
    return value


def site_name() -> str:
    """The Pemda's name for the page header (looked up once per request)."""
    if "site_name" not in g:
        g.site_name = pemda_name(db_session())
    return str(g.site_name)


def _helpers() -> dict[str, Any]:
    return {"local_time": local_time, "category_label": CATEGORY_LABELS.get,
            "long_date": long_date, "site_name": site_name}


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def _error(exc: HTTPException) -> tuple[str, int]:
    messages = {
        404: "Halaman atau informasi yang Anda cari tidak ditemukan, atau belum dipublikasikan.",
        400: exc.description or "Permintaan tidak valid.",
    }
    code = exc.code or 500
    return render_template("site/error.html", code=code,
                           message=messages.get(code, exc.description)), code


def install(bp: Blueprint) -> None:
    """Template helpers, security headers and Indonesian error pages on a site blueprint."""
    bp.context_processor(_helpers)
    bp.after_request(_headers)
    bp.register_error_handler(400, _error)
    bp.register_error_handler(404, _error)
