"""The Flask application factory. It wires extensions and blueprints and starts nothing in
the background: the scheduler belongs to ``publisher run`` and ``publisher worker``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.orm import Session

from .config import Settings
from .runtime import Runtime

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the app. ``runtime`` (or ``settings``) may be given by tests and the CLI."""
    runtime = runtime or Runtime(settings or Settings.from_env())
    settings = runtime.settings
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        JSON_SORT_KEYS=False,
        BABEL_DEFAULT_LOCALE="id",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        PUBLISHER=settings.as_dict(),
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["publisher"] = runtime
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app.teardown_appcontext(_close_session)
    _register_blueprints(app)

    @app.get("/healthz")
    def healthz() -> Any:
        """Liveness and database reachability, for load balancers and monitoring."""
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return jsonify(status="ok")

    return app


def _register_blueprints(app: Flask) -> None:
    from .web import headers, register_all

    register_all(app)
    headers.init_app(app)


def get_runtime(app: Flask | None = None) -> Runtime:
    """The Runtime of the current (or given) app."""
    from flask import current_app

    runtime: Runtime = (app or current_app).extensions["publisher"]
    return runtime


def db_session() -> Session:
    """The request's session (write transaction for POST/PUT/PATCH/DELETE), closed at the end."""
    session: Session | None = g.get("_db_session")
    if session is None:
        write = request.method in _WRITE_METHODS if request else False
        session = get_runtime().db.session(write=write)
        g._db_session = session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("_db_session", None)
    if session is not None:
        session.rollback()  # anything not committed explicitly is discarded
        session.close()
