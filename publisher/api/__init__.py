"""The JSON API ``/api/v1`` (flask-smorest): bearer tokens, problem+json errors,
``Idempotency-Key`` on POST, and the OpenAPI document at ``/api/v1/openapi.json``.

Each area is one module with a flask-smorest ``blp``; add a module path to :data:`BLUEPRINTS`
to register another area (auth, idempotency and problem handling come with it).
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask
from flask_smorest import Api

from . import problems

#: Modules with a flask-smorest Blueprint named ``blp`` under ``/api/v1``.
BLUEPRINTS: list[str] = [
    "publisher.api.items",
    "publisher.api.publications",
    "publisher.api.channels",
    "publisher.api.feeds",
    "publisher.api.media",
    "publisher.api.audit",
    "publisher.api.users",
    "publisher.api.opds",
    "publisher.api.register",
    "publisher.api.meta",
    "publisher.api.status",
]


class PublisherApi(Api):
    """flask-smorest's Api, with problem+json errors limited to ``/api/`` paths (its own
    handler would answer every HTTP error of the app, the public site included)."""

    ERROR_SCHEMA = problems.ProblemSchema

    def _register_error_handlers(self) -> None:
        problems.install_on_app(self._app)


def init_app(app: Flask) -> PublisherApi:
    """Register the API's blueprints and its OpenAPI document on ``app``."""
    from .common import install

    defaults: dict[str, Any] = {
        "API_TITLE": "OPD Publisher API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)
    api = PublisherApi(app, spec_kwargs={
        "info": {"description": "Publikasi informasi publik (UU 14/2008 KIP) OPD. "
                                "Autentikasi: `Authorization: Bearer opdp_…`. Galat: RFC 9457 "
                                "`application/problem+json`. `Idempotency-Key` dihormati pada "
                                "setiap POST."},
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "opdp_…"}
    )
    for name in BLUEPRINTS:
        blp = importlib.import_module(name).blp
        install(blp)
        api.register_blueprint(blp)
    app.extensions["publisher_api"] = api
    return api
