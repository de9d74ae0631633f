"""The portal (``/``), the OPD pages (``/o/<opd>/``) and the item pages (stable URLs)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ..app import db_session, get_runtime
from ..register import FORMAT_LABELS, long_date
from ..sanitize import clean_html
from ..timeutil import to_local, zone_label
from ..urls import item_path, item_url
from . import queries
from .common import PER_PAGE, install, int_param

bp = Blueprint("site", __name__)
install(bp)

LATEST_ON_PORTAL = 12


@bp.get("/")
def portal() -> str:
    """The Pemda portal: every OPD in its hierarchy and the latest published items."""
    session = db_session()
    return render_template(
        "site/portal.html",
        tree=queries.opd_tree(session),
        latest=queries.cards(session, None, limit=LATEST_ON_PORTAL),
    )


@bp.get("/o/<opd_slug>/")
def opd_page(opd_slug: str) -> str:
    """An OPD's published items, newest first, paged."""
    session = db_session()
    opd = queries.opd_by_slug(session, opd_slug)
    if opd is None:
        abort(404)
    page = int_param("page", 1)
    total = queries.count(session, [opd.id])
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:
        abort(404)
    return render_template(
        "site/opd.html", opd=opd, zone=zone_label(opd.timezone),
        cards=queries.cards(session, [opd.id], limit=PER_PAGE, offset=(page - 1) * PER_PAGE),
        page=page, pages=pages, total=total,
        children=sorted(opd.children, key=lambda o: o.name), parent=opd.parent,
    )


@bp.get("/o/<opd_slug>/i/<id:item_id>")
@bp.get("/o/<opd_slug>/i/<id:item_id>/<slug>")
def item_page(opd_slug: str, item_id: int, slug: str | None = None) -> str | Response:
    """One published item; a wrong or missing slug redirects to the item's stable URL."""
    session = db_session()
    opd = queries.opd_by_slug(session, opd_slug)
    found = queries.public_item(session, opd, item_id) if opd is not None else None
    if opd is None or found is None:
        abort(404)
    item, published_at = found
    if slug != item.slug:
        return redirect(item_path(opd.slug, item.id, item.slug), code=301)
    images = [m for m in item.media if m.mime_type.startswith("image/")]
    files = [m for m in item.media if not m.mime_type.startswith("image/")]
    made_day = item.made_at or to_local(item.created_at, opd.timezone).date()
    return render_template(
        "site/item.html", opd=opd, item=item, published_at=published_at,
        body_html=clean_html(item.body_html),  # clean at input; again here in case of imports
        images=images, files=files,
        made=", ".join(p for p in (long_date(made_day), item.made_place) if p),
        formats=[FORMAT_LABELS.get(f, f) for f in (item.info_formats or ["online"])],
        elsewhere=[e for e in queries.elsewhere(session, item.id)
                   if e.url.startswith(("https://", "http://"))],
        feed_url=url_for("site_feeds.opd_atom", opd_slug=opd.slug),
        canonical=item_url(get_runtime().settings.public_base_url, opd.slug, item.id, item.slug),
    )
