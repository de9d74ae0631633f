"""Masuk (sign in), keluar, ganti kata sandi and the language switch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ..access import Principal
from ..app import db_session
from ..models import User
from ..security import MIN_PASSWORD_LENGTH, hash_password, verify_password
from ..web.redirects import safe_next
from .common import back
from .ratelimit import LoginLimiter

bp = Blueprint("ui_auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "ui_auth.login"
login_manager.login_message = None  # the login page says it already
# "basic": a changed IP (mobile networks change it often) only makes the session non-fresh
login_manager.session_protection = "basic"
limiter = LoginLimiter()



@dataclass
class SessionUser(UserMixin):
    """The signed-in user, copied out of the database session."""

    user_id: int
    username: str
    full_name: str
    locale: str
    principal: Principal
    stamp: str

    def get_id(self) -> str:
        """Id plus a password stamp: changing the password signs out other sessions."""
        return f"{self.user_id}:{self.stamp}"


def _stamp(user: User) -> str:
    return user.password_hash[-12:]


@login_manager.user_loader
def load_user(raw: str) -> SessionUser | None:
    """Rebuild the session user; a changed password or a deactivated user signs out."""
    user_id, _sep, stamp = raw.partition(":")
    if not user_id.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    if user is None or not user.is_active or _stamp(user) != stamp:
        return None
    return SessionUser(user.id, user.username, user.full_name or user.username, user.locale,
                       Principal.of(user), stamp)


def _client_ip() -> str:
    return request.remote_addr or "?"


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with username and password; repeated failures are slowed down."""
    if current_user.is_authenticated:
        return redirect(url_for("ui_dashboard.index"))
    username = (request.form.get("username") or "").strip().lower()
    if request.method == "POST":
        wait = limiter.blocked_for(username, _client_ip())
        if wait > 0:
            minutes = max(1, math.ceil(wait / 60))
            flash(_("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam %(n)d menit.",
                    n=minutes), "error")
            return _login_page(username), 429
        s = db_session()
        user = s.scalars(select(User).where(func.lower(User.username) == username)).first()
        password = request.form.get("password") or ""
        if user is None or not user.is_active or not verify_password(user.password_hash, password):
            limiter.failed(username, _client_ip())
            flash(_("Nama pengguna atau kata sandi salah."), "error")
            return _login_page(username), 401
        limiter.succeeded(username, _client_ip())
        session.clear()
        login_user(SessionUser(user.id, user.username, user.full_name, user.locale,
                               Principal.of(user), _stamp(user)))
        return back()
    return _login_page(username)


def _login_page(username: str) -> str:
    """The sign-in form, carrying on a safe ``next`` (from the link or the failed attempt)."""
    next_url = safe_next(request.form.get("next") or request.args.get("next"))
    return render_template("ui/login.html", username=username, next_url=next_url)


@bp.post("/keluar")
@login_required
def logout() -> Response:
    """Sign out."""
    logout_user()
    session.clear()
    flash(_("Anda telah keluar."), "success")
    return redirect(url_for("ui_auth.login"))


@bp.route("/akun", methods=["GET", "POST"])
@login_required
def account() -> Any:
    """Change password and language."""
    if request.method == "POST":
        s = db_session()
        user = s.get_one(User, current_user.user_id)
        current = request.form.get("current_password") or ""
        new = request.form.get("new_password") or ""
        if not verify_password(user.password_hash, current):
            flash(_("Kata sandi sekarang salah."), "error")
        elif len(new) < MIN_PASSWORD_LENGTH:
            flash(_("Kata sandi baru minimal %(n)d karakter.", n=MIN_PASSWORD_LENGTH), "error")
        elif new != request.form.get("confirm_password"):
            flash(_("Konfirmasi kata sandi tidak sama."), "error")
        else:
            user.password_hash = hash_password(new)
            s.commit()
            # keep this session signed in with the new stamp; other sessions end
            login_user(SessionUser(user.id, user.username, user.full_name, user.locale,
                                   current_user.principal, _stamp(user)))
            flash(_("Kata sandi diganti."), "success")
            return redirect(url_for("ui_auth.account"))
        return render_template("ui/account.html"), 422
    return render_template("ui/account.html")


@bp.post("/bahasa")
def language() -> Response:
    """Switch between Bahasa Indonesia and English (stored on the user when signed in)."""
    from . import LOCALES

    chosen = request.form.get("locale", "id")
    if chosen not in LOCALES:
        chosen = "id"
    session["locale"] = chosen
    if current_user.is_authenticated:
        s = db_session()
        user = s.get_one(User, current_user.user_id)
        user.locale = chosen
        s.commit()
        current_user.locale = chosen
    current_app.logger.debug("locale switched to %s", chosen)
    return back()
