"""The public DIP (Daftar Informasi Publik) per OPD and for the whole Pemda, with downloads.

Query parameters: ``tahun`` and ``semester`` (default: the current semester in the OPD's
zone, or the Pemda's), ``turunan=1`` to include the OPDs below an OPD (kecamatan, desa).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from ..app import db_session, get_runtime
from ..models import Opd
from ..register import MIME_TYPES, Register, build, current_semester, parse_period, render
from ..services.errors import Invalid
from .common import install, int_param, opd_or_404

bp = Blueprint("site_dip", __name__)
install(bp)

DOWNLOADS = ("csv", "xlsx")
#: The page shows the register in parts; the downloads hold all of it.
ROWS_PER_PAGE = 200


def _register(opd: Opd | None) -> Register:
    runtime = get_runtime()
    tz_name = opd.timezone if opd is not None else runtime.settings.timezone
    try:
        year, semester = parse_period(request.args.get("tahun"), request.args.get("semester"),
                                      tz_name, year_field="tahun")
    except Invalid as exc:
        abort(400, description=exc.message)
    descendants = request.args.get("turunan", "") in ("1", "true", "ya")
    return build(db_session(), runtime.settings, year, semester, opd=opd,
                 descendants=descendants)


def _page(opd: Opd | None) -> str:
    page = int_param("page", 1)
    register = _register(opd)
    pages = max(1, -(-len(register.rows) // ROWS_PER_PAGE))
    if page > pages:
        abort(404)
    now_year, _ = current_semester(register.timezone)
    args: dict[str, Any] = {"tahun": register.year, "semester": register.semester}
    if request.args.get("turunan"):
        args["turunan"] = request.args["turunan"]
    if opd is not None:
        args["opd_slug"] = opd.slug

    def download(fmt: str) -> str:
        endpoint = "site_dip.opd_dip_download" if opd is not None else "site_dip.pemda_dip_download"
        return url_for(endpoint, fmt=fmt, **args)

    def page_url(number: int) -> str:
        endpoint = "site_dip.opd_dip" if opd is not None else "site_dip.pemda_dip"
        return url_for(endpoint, page=number, **args)

    start = (page - 1) * ROWS_PER_PAGE
    return render_template(
        "site/dip.html", opd=opd, register=register,
        rows=register.rows[start:start + ROWS_PER_PAGE], page=page, pages=pages,
        page_url=page_url,
        years=list(range(now_year, now_year - 6, -1)),
        descendants=request.args.get("turunan", "") in ("1", "true", "ya"),
        has_children=bool(opd.children) if opd is not None else False, download=download,
    )


def _download(opd: Opd | None, fmt: str) -> Response:
    if fmt not in DOWNLOADS:
        abort(404)
    register = _register(opd)
    response = Response(render(register, fmt), content_type=MIME_TYPES[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{register.filename(fmt)}"')
    return response


@bp.get("/o/<opd_slug>/dip")
def opd_dip(opd_slug: str) -> str:
    """The DIP of one OPD."""
    return _page(opd_or_404(opd_slug))


@bp.get("/o/<opd_slug>/dip.<fmt>")
def opd_dip_download(opd_slug: str, fmt: str) -> Response:
    """The DIP of one OPD as CSV or XLSX."""
    return _download(opd_or_404(opd_slug), fmt)


@bp.get("/dip")
def pemda_dip() -> str:
    """The DIP of every OPD."""
    return _page(None)


@bp.get("/dip.<fmt>")
def pemda_dip_download(fmt: str) -> Response:
    """The DIP of every OPD as CSV or XLSX."""
    return _download(None, fmt)
