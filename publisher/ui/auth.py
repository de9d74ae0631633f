"""Masuk (sign in), keluar, ganti kata sandi and the language switch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
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
from ..app import db_session, get_runtime
from ..models import User, UserSession
from ..security import MIN_PASSWORD_LENGTH, dummy_password_hash, hash_password, verify_password
from ..services import sessions
from ..services.auditing import record
from ..web.redirects import safe_next
from .common import attempt, back
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
    session_id: int
    token: str = field(repr=False)

    def get_id(self) -> str:
        """User, password stamp and the server-side session's random id. The row decides
        (logout and the admin revoke it); the stamp also ends sessions when the password is
        changed outside the UI (``publisher user password``)."""
        return f"{self.user_id}:{self.stamp}:{self.token}"


def _stamp(user: User) -> str:
    return user.password_hash[-12:]


def _session_user(user: User, row: UserSession, token: str) -> SessionUser:
    return SessionUser(user.id, user.username, user.full_name or user.username, user.locale,
                       Principal.of(user), _stamp(user), row.id, token)


@login_manager.user_loader
def load_user(raw: str) -> SessionUser | None:
    """Rebuild the session user from an unrevoked session row of an active user whose password
    has not changed since; anything else signs out."""
    user_id, stamp, token = [*raw.split(":", 2), "", ""][:3]
    if not user_id.isdigit() or len(user_id) > 18:
        return None
    # The request's own session may hold SQLite's write lock (a POST): read and touch apart.
    request_session_open = g.get("_db_session") is not None
    runtime = get_runtime()
    with runtime.db.read() as s:
        row = sessions.find_active(s, token)
        user = s.get(User, int(user_id)) if row is not None else None
        if row is None or user is None or row.user_id != user.id or not user.is_active \
                or _stamp(user) != stamp:
            return None
        loaded = _session_user(user, row, token)
        stale = sessions.needs_touch(row)
    if stale and not request_session_open:
        with runtime.db.write() as s:
            sessions.touch(s, loaded.session_id)
    return loaded


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
        known = user is not None and user.is_active
        # the same work whether or not the user exists: a missing one checks a dummy hash
        stored = user.password_hash if known and user is not None else dummy_password_hash()
        if not verify_password(stored, password) or not known or user is None:
            limiter.failed(username, _client_ip())
            flash(_("Nama pengguna atau kata sandi salah."), "error")
            return _login_page(username), 401
        limiter.succeeded(username, _client_ip())
        session.clear()
        row, token = sessions.start(s, user.id, user_agent=request.user_agent.string,
                                    ip_address=_client_ip())
        s.commit()
        login_user(_session_user(user, row, token))
        return back()
    return _login_page(username)


def _login_page(username: str) -> str:
    """The sign-in form, carrying on a safe ``next`` (from the link or the failed attempt)."""
    next_url = safe_next(request.form.get("next") or request.args.get("next"))
    return render_template("ui/login.html", username=username, next_url=next_url)


@bp.post("/keluar")
@login_required
def logout() -> Response:
    """Sign out: the session row is revoked, so a copy of the cookie no longer works."""
    s = db_session()
    sessions.sign_out(s, current_user.session_id)
    s.commit()
    logout_user()
    session.clear()
    flash(_("Anda telah keluar."), "success")
    return redirect(url_for("ui_auth.login"))


@bp.route("/akun", methods=["GET", "POST"])
@login_required
def account() -> Any:
    """Change password (other sessions end; API tokens too if asked) and list the sessions."""
    if request.method == "POST":
        if _change_password():
            return redirect(url_for("ui_auth.account"))
        return _account_page(), 422
    return _account_page()


def _account_page() -> str:
    rows = sessions.active_sessions(db_session(), current_user.user_id)
    return render_template("ui/account.html", sessions=rows, current_id=current_user.session_id,
                           browser_label=sessions.browser_label)


def _change_password() -> bool:
    """Check the form and change the password; False (with a flash message) when refused."""
    s = db_session()
    user = s.get_one(User, current_user.user_id)
    new = request.form.get("new_password") or ""
    if not verify_password(user.password_hash, request.form.get("current_password") or ""):
        flash(_("Kata sandi sekarang salah."), "error")
    elif len(new) < MIN_PASSWORD_LENGTH:
        flash(_("Kata sandi baru minimal %(n)d karakter.", n=MIN_PASSWORD_LENGTH), "error")
    elif new != request.form.get("confirm_password"):
        flash(_("Konfirmasi kata sandi tidak sama."), "error")
    else:
        p: Principal = current_user.principal
        user.password_hash = hash_password(new)
        record(s, p, "user.password_changed", detail={"user_id": user.id,
                                                      "username": user.username})
        ended = sessions.end_all(s, p, user.id, reason="password_changed",
                                 keep=current_user.session_id)
        revoked = (sessions.revoke_api_tokens(s, p, user.id)
                   if request.form.get("revoke_tokens") else None)
        s.commit()
        # this session stays signed in (with the new stamp)
        login_user(_session_user(user, s.get_one(UserSession, current_user.session_id),
                                 current_user.token))
        flash(_("Kata sandi diganti; %(n)d sesi lain diakhiri.", n=ended), "success")
        if revoked is not None:
            flash(_("%(n)d token API dicabut.", n=revoked), "success")
        return True
    return False


@bp.post("/akun/sesi/<id:session_id>/akhiri")
@login_required
def end_session(session_id: int) -> Response:
    """End one of the user's other sessions (another browser, a lost phone)."""
    s = db_session()
    attempt(lambda: sessions.end_other(s, current_user.principal, session_id,
                                       current_user.session_id), _("Sesi diakhiri."))
    return redirect(url_for("ui_auth.account"))


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
