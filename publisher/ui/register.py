"""Register (DIP): per OPD, year and semester, with CSV/XLSX export and the public page link.

Built by :mod:`publisher.register` (the same rows as the public DIP page and the CLI export).
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, render_template, request
from flask_babel import gettext as _

from .. import register as dip
from ..services.errors import Invalid, ServiceError
from .common import Page, arg_int, blueprint, principal, session_, visible_opds

bp = blueprint("ui_register", __name__)
ROWS_PER_PAGE = 100


def _build(allow_all: bool = False) -> tuple[Any, Any, list[Any]]:
    """The register of ``?opd=`` (default: the user's first OPD); ``?opd=all`` (downloads
    only) is every OPD the user sees, which is too long to show as one page."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    by_id = {o.id: o for o in opds}
    opd_id = arg_int("opd")
    everything = allow_all and request.args.get("opd") == "all"
    opd = None if everything else (by_id.get(opd_id or 0) or (opds[0] if opds else None))
    if opd is None and not everything:
        raise Invalid("Anda belum memiliki OPD", field="opd")
    runtime = g.runtime
    tz = opd.timezone if opd else runtime.settings.timezone
    year, semester = dip.parse_period(request.args.get("year"), request.args.get("semester"), tz)
    visible = p.visible_opds()
    register = dip.build(s, runtime.settings, year, semester, opd=opd,
                         within=frozenset(visible) if visible is not None else None)
    return register, opd, opds


@bp.get("/register")
def index() -> Any:
    """The DIP table for the chosen OPD and semester (paged)."""
    try:
        register, opd, opds = _build()
    except ServiceError as exc:
        flash(exc.message, "error")
        register, opd, opds = None, None, visible_opds(session_(), principal())
    page = None
    if register is not None:
        number = max(1, arg_int("page") or 1)
        total = len(register.rows)
        pages = max(1, -(-total // ROWS_PER_PAGE))
        number = min(number, pages)
        page = Page(list(register.rows[(number - 1) * ROWS_PER_PAGE: number * ROWS_PER_PAGE]),
                    number, pages, total)
    year_now, _sem = dip.current_semester(opd.timezone if opd else "Asia/Jakarta")
    public = (f"/o/{opd.slug}/dip" if opd else "/dip")
    if register is not None:
        public += f"?tahun={register.year}&semester={register.semester}"
    return render_template("ui/register.html", register=register, page=page, opd=opd, opds=opds,
                           years=list(range(year_now, year_now - 6, -1)), public_url=public)


@bp.get("/register.<fmt>")
def download(fmt: str) -> Response:
    """The same register as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        return Response(_("Format tidak dikenal: pilih csv atau xlsx."), status=404)
    try:
        register, _opd, _opds = _build(allow_all=True)
    except ServiceError as exc:
        return Response(exc.message, status=422, mimetype="text/plain")
    body = dip.render(register, fmt)
    return Response(body, mimetype=dip.MIME_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{register.filename(fmt)}"'})


@bp.get("/monev.zip")
def monev_bundle() -> Response:
    """The Monev evidence bundle of ``?opd=`` (or, for the PPID Utama, ``?opd=all``: the
    whole Pemda) and ``?year=``: one ZIP with a manifest of sha256 hashes."""
    from .. import monev

    s, p = session_(), principal()
    everything = request.args.get("opd") == "all"
    if everything and not p.sees_everything:
        return Response(_("Bundel seluruh Pemda hanya untuk PPID Utama dan auditor."),
                        status=403, mimetype="text/plain")
    opds = {o.id: o for o in visible_opds(s, p)}
    opd = None if everything else opds.get(arg_int("opd") or 0)
    if opd is None and not everything:
        return Response(_("Pilih OPD."), status=422, mimetype="text/plain")
    try:
        year = int(request.args.get("year") or 0) or dip.current_semester(
            opd.timezone if opd else g.runtime.settings.timezone)[0]
        monev.check_year(year)
        scope = monev.scope_of(s, g.runtime.settings, year, opd)
        data = monev.build_bundle(s, g.runtime.settings, year, opd)
    except (ValueError, ServiceError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else str(exc)
        return Response(message, status=422, mimetype="text/plain")
    monev.record_generated(s, p, opd, year, data)
    s.commit()
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{monev.bundle_name(scope)}"'})
