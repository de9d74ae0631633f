"""Public channel variants and cards: ``/m/<token>/<variant>.jpg`` and ``/m/c/<name>.jpg``.

Instagram downloads its images from these URLs (see :mod:`publisher.media_variants`). A variant
is made from the stored copy on first request and then served from disk; media of a
dikecualikan item is never served. Files never change under a URL, so they may be cached.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory
from sqlalchemy import select

from ..app import db_session, get_runtime
from ..images import ImageError
from ..media_variants import VARIANTS, card_path, ensure_variant
from ..models import Category, Item, Media
from .media import ONE_YEAR, TOKEN

bp = Blueprint("site_media_variants", __name__)


def _send(path_dir: str, name: str) -> Response:
    response = send_from_directory(path_dir, name, mimetype="image/jpeg", max_age=ONE_YEAR,
                                   conditional=True, etag=True)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/m/<token>/<variant>.jpg")
def variant(token: str, variant: str) -> Response:
    """The ``variant`` (instagram, facebook, website) JPEG of an uploaded image."""
    if not TOKEN.match(token) or variant not in VARIANTS:
        abort(404)
    row = db_session().execute(
        select(Media.storage_key, Item.category)
        .outerjoin(Item, Item.id == Media.item_id)
        .where(Media.public_token == token)
    ).first()
    if row is None or row.category == Category.DIKECUALIKAN:
        abort(404)
    settings = get_runtime().settings
    try:
        path = ensure_variant(settings, token, row.storage_key, variant)
    except (ImageError, FileNotFoundError):
        abort(404)
    return _send(str(path.parent), path.name)


@bp.get("/m/c/<name>.jpg")
def card(name: str) -> Response:
    """A generated card (for an item without an image)."""
    path = card_path(get_runtime().settings, name)
    if path is None or not path.exists():
        abort(404)
    return _send(str(path.parent), path.name)
