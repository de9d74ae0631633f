"""The JSON API ``/api/v1`` (flask-smorest): bearer tokens, problem+json errors,
``Idempotency-Key`` on POST, and the OpenAPI document at ``/api/v1/openapi.json``.

Each area is one module with a flask-smorest ``blp``; add a module path to :data:`BLUEPRINTS`
to register another area (auth, idempotency and problem handling come with it).
"""

from __future__ import annotations

import importlib
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..web.ids import IdConverter, id_param_schema
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
    "publisher.api.dik",
]


class PublisherApi(Api):
    """flask-smorest's Api, with problem+json errors limited to ``/api/`` paths (its own
    handler would answer every HTTP error of the app, the public site included)."""

    ERROR_SCHEMA = problems.ProblemSchema

    def _register_error_handlers(self) -> None:
        problems.install_on_app(self._app)

    def _register_responses(self) -> None:
        """flask-smorest's per-status responses, with errors as ``application/problem+json``."""
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = problems.MEDIA_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class ProblemResponsesPlugin(BasePlugin):
    """Documents on every operation the problem+json errors it can really answer: 401/403
    (bearer token and role), 422 (invalid parameters or body), 404 with an id in the path,
    and for a JSON body also 400 (unreadable), 409 (state conflict), 413 and 415."""

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            codes = [401, 403, 422]
            if path and "{" in path:
                codes.append(404)
            if method in ("post", "put", "patch", "delete"):
                codes += [400, 409, 413, 415]
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, HTTPStatus(code).name)


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
    api.register_converter(IdConverter, id_param_schema)
    plugin = ProblemResponsesPlugin()
    plugin.init_spec(api.spec)
    api.spec.plugins.append(plugin)
    for name in BLUEPRINTS:
        blp = importlib.import_module(name).blp
        install(blp)
        api.register_blueprint(blp)
    app.extensions["publisher_api"] = api
    return api
