"""Pengguna & OPD: admins create OPDs and users and give roles."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..config import ZONE_LABELS
from ..models import Opd, Role, User
from ..services import admin as admin_service
from ..services import sessions
from ..web.ids import parse_id
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
    return parse_id(raw)


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


@bp.post("/pengguna/<id:user_id>/peran")
def add_role(user_id: int) -> Response:
    """Give a user another role."""
    s, p = session_(), principal()
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    attempt(lambda: admin_service.add_role(s, p, user, request.form.get("role", ""), _opd_id()),
            _("Peran ditambahkan."))
    return redirect(url_for("ui_admin.index"))


@bp.post("/pengguna/<id:user_id>/status")
def toggle_active(user_id: int) -> Response:
    """Deactivate (all the user's sessions end) or reactivate a user."""
    s, p = session_(), principal()
    user = _user(user_id)
    attempt(lambda: admin_service.set_active(s, p, user, not user.is_active),
            _("Status pengguna diubah."))
    return redirect(url_for("ui_admin.index"))


@bp.post("/pengguna/<id:user_id>/peran/<id:membership_id>/hapus")
def remove_role(user_id: int, membership_id: int) -> Response:
    """Take a role away (all the user's sessions end)."""
    s, p = session_(), principal()
    user = _user(user_id)
    attempt(lambda: admin_service.remove_role(s, p, user, membership_id),
            _("Peran dicabut; sesi pengguna diakhiri."))
    return redirect(url_for("ui_admin.index"))


@bp.post("/pengguna/<id:user_id>/sesi/akhiri")
def end_sessions(user_id: int) -> Response:
    """End every session of a user (your own current one stays)."""
    s, p = session_(), principal()
    count = attempt(lambda: sessions.end_by_admin(s, p, user_id, current_user.session_id))
    if count is not None:
        flash(_("%(n)d sesi diakhiri.", n=count), "success")
    return redirect(url_for("ui_admin.index"))


def _user(user_id: int) -> User:
    user = session_().get(User, user_id)
    if user is None:
        abort(404)
    return user


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


def _parent() -> int | str | None:
    """The parent OPD chosen: an id, or what was typed (the service says it was not found);
    None only when nothing was chosen."""
    raw = request.form.get("parent", "").strip()
    return (parse_id(raw) or raw) if raw else None
