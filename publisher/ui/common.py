"""Shared pieces of the admin UI: the signed-in principal, service calls with flash
messages, pagination, local times and template helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, abort, flash, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..access import Principal
from ..app import db_session, get_runtime
from ..config import ZONE_LABELS
from ..models import Category, Opd, PublicationStatus, Role
from ..services.errors import ServiceError
from ..timeutil import format_local, to_local, zone_label
from ..web.ids import parse_id
from ..web.redirects import safe_next

T = TypeVar("T")
PAGE_SIZE = 50

STATUS_LABELS: dict[str, Any] = {
    PublicationStatus.SCHEDULED: _l("terjadwal"),
    PublicationStatus.SENDING: _l("sedang dikirim"),
    PublicationStatus.PROCESSING: _l("diproses platform"),
    PublicationStatus.PUBLISHED: _l("terbit"),
    PublicationStatus.RETRYING: _l("menunggu coba ulang"),
    PublicationStatus.FAILED: _l("gagal"),
    PublicationStatus.HELD: _l("ditahan"),
    PublicationStatus.CANCELLED: _l("dibatalkan"),
    PublicationStatus.BLOCKED: _l("diblokir"),
    PublicationStatus.UNCONFIRMED: _l("perlu dicek"),
    "draft": _l("draf"),
    "submitted": _l("menunggu persetujuan"),
    "approved": _l("disetujui"),
    "returned": _l("dikembalikan"),
    "active": _l("aktif"),
    "paused": _l("dijeda"),
    "needs_reauth": _l("perlu disambungkan ulang"),
}
CATEGORY_LABELS: dict[str, Any] = {
    Category.BERKALA: _l("Informasi Berkala"),
    Category.SERTA_MERTA: _l("Informasi Serta Merta"),
    Category.SETIAP_SAAT: _l("Informasi Setiap Saat"),
    Category.DIKECUALIKAN: _l("Informasi Dikecualikan"),
}
ROLE_LABELS: dict[str, Any] = {
    Role.ADMIN: _l("Admin (PPID Utama)"),
    Role.EDITOR: _l("Operator (penyusun)"),
    Role.APPROVER: _l("PPID Pelaksana (penyetuju)"),
    Role.AUDITOR: _l("Auditor (hanya baca)"),
}


def principal() -> Principal:
    """The signed-in user's Principal (the views are all behind login)."""
    p: Principal | None = getattr(current_user, "principal", None)
    if p is None:
        abort(401)
    return p


def session_() -> Session:
    """The request's database session."""
    return db_session()


def attempt(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run a service call and commit; a ServiceError becomes a flash message (None)."""
    s = db_session()
    try:
        result = action()
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(exc.message, "error")
        return None
    if success:
        flash(success, "success")
    return result


def back(default: str = "ui_dashboard.index", **values: Any) -> Response:
    """Redirect to a safe ``next`` (a path on this site) or to ``default``."""
    target = safe_next(request.form.get("next") or request.args.get("next"))
    return redirect(target or url_for(default, **values))


def visible_opds(s: Session, p: Principal) -> list[Opd]:
    """OPDs the user may read, by name."""
    return list(s.scalars(select(Opd).where(p.scope(Opd.id)).order_by(Opd.name)))


def editable_opds(s: Session, p: Principal) -> list[Opd]:
    """OPDs the user may draft in."""
    return [o for o in visible_opds(s, p) if p.has_role(o.id, Role.EDITOR, Role.APPROVER)]


def arg_int(name: str) -> int | None:
    """An id-like query argument (1..2^63-1), None when absent, malformed or out of range."""
    return parse_id(request.args.get(name))


@dataclass
class Page:
    """One page of rows plus what the pager needs."""

    rows: list[Any]
    page: int
    pages: int
    total: int

    def url(self, page: int) -> str:
        """This page's URL with another page number (other arguments kept)."""
        args = {k: v for k, v in request.args.items() if k != "page" and v}
        args["page"] = str(page)
        return f"{request.path}?{urlencode(args)}"


def paginate(s: Session, query: Any, *, scalars: bool = True,
             size: int = PAGE_SIZE, count: Any = None) -> Page:
    """OFFSET pagination with a total count (queries are indexed and scoped); ``count`` is a
    cheaper query counting the same rows (e.g. without the joins that only add columns)."""
    page = max(1, arg_int("page") or 1)
    counting = count if count is not None else select(func.count()).select_from(
        query.order_by(None).subquery())
    total = s.scalar(counting) or 0
    pages = max(1, math.ceil(total / size))
    page = min(page, pages)
    limited: Any = query.limit(size).offset((page - 1) * size)
    rows: list[Any] = list(s.scalars(limited).all() if scalars else s.execute(limited).all())
    return Page(rows, page, pages, total)


def local(moment: datetime | None, tz_name: str, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """``27-11-2026 16:00 WIB``."""
    return format_local(moment, tz_name, fmt)


def local_input(moment: datetime | None, tz_name: str) -> str:
    """A value for ``<input type=datetime-local>`` in the OPD's zone."""
    return to_local(moment, tz_name).strftime("%Y-%m-%dT%H:%M") if moment else ""


def status_label(status: str) -> str:
    """A status in words (translated)."""
    return str(STATUS_LABELS.get(status, status))


def init_app(app: Flask) -> None:
    """Template filters and globals shared by every page."""
    app.add_template_filter(local, "local")
    app.add_template_filter(local_input, "local_input")
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(zone_label, "zone_label")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        if not request.path.startswith("/admin"):
            return {}
        from .notifications import unread_count

        signed_in = bool(current_user and current_user.is_authenticated)
        return {
            "category_label": lambda c: str(CATEGORY_LABELS.get(c, c)),
            "role_label": lambda r: str(ROLE_LABELS.get(r, r)),
            "zone_labels": ZONE_LABELS,
            "me": getattr(current_user, "principal", None),
            "current_endpoint": request.endpoint or "",
            "get_locale": get_locale,
            # the bell: one indexed COUNT, only when signed in
            "unread_notifications": unread_count(db_session(), current_user.user_id)
            if signed_in else 0,
        }

    @app.before_request
    def _runtime() -> None:
        g.runtime = get_runtime()


def require_login() -> Any:
    """``before_request`` of every signed-in area."""
    if not current_user.is_authenticated:
        from .auth import login_manager

        return login_manager.unauthorized()
    return None


def blueprint(name: str, import_name: str) -> Any:
    """A blueprint whose every view needs a signed-in user."""
    from flask import Blueprint

    bp = Blueprint(name, import_name)
    bp.before_request(require_login)
    for code in (403, 404, 413):
        bp.register_error_handler(code, error_page)
    return bp


def error_page(exc: Any) -> tuple[str, int]:
    """A 403, 404 or 413 inside the admin pages, in the UI's own layout and language (a 413
    says how large an upload may be)."""
    from flask import render_template

    from ..images.decode import format_bytes

    code = getattr(exc, "code", 500) or 500
    limit = format_bytes(get_runtime().settings.max_upload_bytes)
    return render_template("ui/error.html", code=code, limit=limit), code
