"""Pengguna & OPD: admins create OPDs and users and give roles."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..config import ZONE_LABELS
from ..models import Opd, Role, User
from ..services import admin as admin_service
from .common import attempt, blueprint, paginate, principal, session_

bp = blueprint("ui_admin", __name__)


@bp.before_request
def _admins_only() -> None:
    if not principal().is_admin:
        abort(403)


@bp.get("/pengguna")
def index() -> str:
    """Users (paged) and OPDs, with the forms to add them."""
    s = session_()
    page = paginate(s, select(User).order_by(User.username))
    opds = list(s.scalars(select(Opd).order_by(Opd.name)))
    return render_template("ui/admin.html", page=page, opds=opds, by_id={o.id: o for o in opds},
                           roles=list(Role), zones=ZONE_LABELS)


def _opd_id() -> int | None:
    raw = request.form.get("opd", "")
    return int(raw) if raw.isdigit() else None


@bp.post("/pengguna")
def create_user() -> Response:
    """A new user with one role."""
    s, p = session_(), principal()
    f = request.form
    attempt(lambda: admin_service.create_user(
        s, p, f.get("username", ""), f.get("password", ""), full_name=f.get("full_name", ""),
        nip=f.get("nip", ""), jabatan=f.get("jabatan", ""), email=f.get("email", ""),
        roles=[(f.get("role", ""), _opd_id())], locale=f.get("locale", "id"),
    ), _("Pengguna ditambahkan."))
    return redirect(url_for("ui_admin.index"))


@bp.post("/pengguna/<int:user_id>/peran")
def add_role(user_id: int) -> Response:
    """Give a user another role."""
    s, p = session_(), principal()
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    attempt(lambda: admin_service.add_role(s, p, user, request.form.get("role", ""), _opd_id()),
            _("Peran ditambahkan."))
    return redirect(url_for("ui_admin.index"))


@bp.post("/pengguna/<int:user_id>/status")
def toggle_active(user_id: int) -> Response:
    """Deactivate or reactivate a user (a deactivated user is signed out)."""
    s, p = session_(), principal()
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == p.user_id:
        from flask import flash

        flash(_("Anda tidak dapat menonaktifkan akun sendiri."), "error")
        return redirect(url_for("ui_admin.index"))

    def change() -> Any:
        from ..services.auditing import record

        user.is_active = not user.is_active
        record(s, p, "user.activated" if user.is_active else "user.deactivated",
               detail={"user_id": user.id, "username": user.username})
        return user

    attempt(change, _("Status pengguna diubah."))
    return redirect(url_for("ui_admin.index"))


@bp.post("/opd")
def create_opd() -> Response:
    """A new OPD."""
    s, p = session_(), principal()
    f = request.form
    attempt(lambda: admin_service.create_opd(
        s, p, f.get("name", ""), slug=f.get("slug") or None,
        timezone=f.get("timezone", "Asia/Jakarta"), parent=_parent(),
        approval_required=bool(f.get("approval_required")),
    ), _("OPD ditambahkan."))
    return redirect(url_for("ui_admin.index"))


def _parent() -> int | None:
    raw = request.form.get("parent", "")
    return int(raw) if raw.isdigit() else None
