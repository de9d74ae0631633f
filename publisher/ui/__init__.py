"""The admin web interface under ``/admin/``: server-rendered pages in Bahasa Indonesia
(and English), Flask-Login sessions, CSRF on every form, Flask-Babel.

Each area is one blueprint module; :func:`init_app` wires the extensions and registers them.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from . import (
    admin,
    approvals,
    audit,
    auth,
    calendar,
    channels,
    common,
    compose,
    dashboard,
    detail,
    dik,
    escalation,
    feeds,
    notification_services,
    notifications,
    oversight,
    queue,
    register,
)

PREFIX = "/admin"
LOCALES = ("id", "en")
#: Paths never checked for a CSRF token: the JSON API authenticates with bearer tokens (no
#: cookies), so a cross-site form cannot act for a user there.
CSRF_EXEMPT_PREFIXES = ("/api/",)

csrf = CSRFProtect()
babel = Babel()


def select_locale() -> str:
    """The signed-in user's choice, else the visitor's session choice, else ``id``."""
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return str(current_user.locale)
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else "id"


def init_app(app: Flask) -> None:
    """Register the admin UI and its extensions on ``app``."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's lifetime
    # CSRF is checked by our own before_request, so the API can be skipped by path whatever
    # its blueprint is called (see CSRF_EXEMPT_PREFIXES).
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    auth.login_manager.init_app(app)

    @app.before_request
    def _csrf_protect() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path.startswith(CSRF_EXEMPT_PREFIXES):
            return
        if app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()

    common.init_app(app)
    for module in (auth, dashboard, compose, calendar, queue, detail, approvals, dik, channels,
                   feeds, register, audit, oversight, escalation, admin, notifications,
                   notification_services):
        app.register_blueprint(module.bp, url_prefix=PREFIX)
