"""Blueprints: the JSON API, the public OPD site, public media and the admin UI.

Each area is one module with ``init_app(app)``; they are listed here in order.
"""

from __future__ import annotations

import importlib

from flask import Flask

#: Modules that provide ``init_app(app)``.
AREAS: list[str] = [
    "publisher.site",
    "publisher.api",
    "publisher.ui",
]


def register_all(app: Flask) -> None:
    """Register every area's blueprint on ``app`` (after the ``id`` URL converter)."""
    from . import ids

    ids.init_app(app)
    for name in AREAS:
        importlib.import_module(name).init_app(app)
