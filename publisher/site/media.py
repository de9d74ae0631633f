"""Public media: ``/m/<token>`` serves an uploaded file by its unguessable token.

The file is found only through its Media row (never from the URL), and ``send_from_directory``
refuses any stored key that would leave the media folder. Media of a dikecualikan item is
never served. Files never change under a token, so they may be cached for a year.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, send_from_directory
from sqlalchemy import select

from ..app import db_session, get_runtime
from ..models import Category, Item, Media
from .common import install

bp = Blueprint("site_media", __name__)
install(bp)

TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
ONE_YEAR = 365 * 24 * 3600
MEDIA_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@bp.get("/m/<token>")
def media(token: str) -> Response:
    """The file of a Media row, with its own Content-Type and long cache headers."""
    if not TOKEN.match(token):
        abort(404)
    row = db_session().execute(
        select(Media.storage_key, Media.mime_type, Item.category)
        .outerjoin(Item, Item.id == Media.item_id)
        .where(Media.public_token == token)
    ).first()
    if row is None or row.category == Category.DIKECUALIKAN:
        abort(404)
    folder = get_runtime().settings.instance_path / "media"
    response = send_from_directory(folder, row.storage_key, mimetype=row.mime_type,
                                   max_age=ONE_YEAR, conditional=True, etag=True)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    # A hostile upload (e.g. SVG with script) opened directly must not run in our origin.
    response.headers["Content-Security-Policy"] = MEDIA_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
