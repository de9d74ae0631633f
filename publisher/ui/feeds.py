"""Sumber feed: an OPD's website feeds whose new articles go out to its channels — list with
the last poll and error, add, change, "poll now" and remove."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ..models import Channel, FeedSource
from ..services import channels as channel_service
from ..services import feeds as feed_service
from ..services.errors import ServiceError
from ..web.ids import form_id, form_ids, form_number
from .common import attempt, blueprint, editable_opds, principal, session_, visible_opds

bp = blueprint("ui_feeds", __name__)


def _form_data(*, new: bool) -> dict[str, Any]:
    """The service's fields from the submitted form (the interval is typed in minutes)."""
    form = request.form
    minutes = (form.get("interval_minutes") or "").strip()
    data: dict[str, Any] = {
        "name": form.get("name", ""), "url": form.get("url", ""),
        "target_channel_ids": form_ids(form.getlist("channel_ids"), "target_channel_ids"),
        "category": form.get("category") or None,
        "requires_approval": form.get("requires_approval") == "1",
        "recurring": form.get("recurring") == "1",
        # empty: the service's default; too small: the service names the field
        "poll_interval_seconds": 60 * form_number(
            minutes, "poll_interval_seconds", maximum=feed_service.MAX_POLL_SECONDS // 60),
    }
    if not new:
        data["enabled"] = form.get("enabled") == "1"
    return data


def _skip_labels() -> dict[str, str]:
    """Why an entry was not posted, in the user's language (feeds.rules.SKIP_REASONS)."""
    return {
        "first_poll": _("sudah ada saat sumber ditambahkan (pemeriksaan pertama hanya mencatat)"),
        "older_than_source": _("bertanggal lebih dari sehari sebelum sumber ditambahkan"),
        "same_text": _("teksnya sama dengan artikel yang sudah tercatat"),
    }


def _channels(opd_ids: list[int]) -> list[Channel]:
    s, p = session_(), principal()
    return [c for c in channel_service.list_channels(s, p) if c.opd_id in opd_ids]


def _form_page(source: FeedSource | None, status: int = 200) -> tuple[str, int]:
    s, p = session_(), principal()
    opds = editable_opds(s, p)
    values = request.form if request.method == "POST" else None
    skipped = feed_service.skipped_entries(s, p, source.id) if source is not None else []
    return render_template(
        "ui/feed.html", source=source, opds=opds, values=values, skipped=skipped,
        skip_labels=_skip_labels(),
        channels=_channels([o.id for o in opds]), categories=feed_service.FEED_CATEGORIES,
        min_minutes=feed_service.MIN_POLL_SECONDS // 60,
    ), status


@bp.get("/sumber-feed")
def index() -> str:
    """Feed sources of the user's OPDs: last poll, last error, next poll."""
    s, p = session_(), principal()
    opds = {o.id: o for o in visible_opds(s, p)}
    rows = feed_service.list_feed_sources(s, p)
    names = {c.id: c.name for c in _channels(list(opds))}
    return render_template("ui/feeds.html", rows=rows, opds=opds, channel_names=names,
                           can_add=bool(editable_opds(s, p)))


@bp.get("/sumber-feed/baru")
def new() -> tuple[str, int]:
    """The form to add a feed source."""
    if not editable_opds(session_(), principal()):
        abort(403)
    return _form_page(None)


@bp.post("/sumber-feed")
def create() -> Any:
    """Add a feed source. The URL's host is looked up (DNS) with no transaction open."""
    s, p = session_(), principal()
    s.rollback()  # end the request's transaction before the network call
    try:
        data = _form_data(new=True)
        data["url"] = feed_service.check_feed_url(data["url"], g.runtime.settings)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _form_page(None, 422)
    source = attempt(lambda: feed_service.create_feed_source(
        s, p, g.runtime.settings, form_id(request.form.get("opd"), "opd"), data),
        _("Sumber feed ditambahkan; pemeriksaan pertama hanya mencatat artikel yang sudah ada."))
    if source is None:
        return _form_page(None, 422)
    return redirect(url_for("ui_feeds.index"))


def _source_or_404(source_id: int) -> FeedSource:
    try:
        return feed_service.get_feed_source(session_(), principal(), source_id)
    except ServiceError:
        abort(404)


@bp.get("/sumber-feed/<id:source_id>")
def edit(source_id: int) -> tuple[str, int]:
    """One feed source: its state and the form to change it."""
    return _form_page(_source_or_404(source_id))


@bp.post("/sumber-feed/<id:source_id>")
def update(source_id: int) -> Any:
    """Change a feed source (a new URL starts over: its first poll only records)."""
    s, p = session_(), principal()
    s.rollback()  # no transaction across the DNS lookup
    try:
        data = _form_data(new=False)
        data["url"] = feed_service.check_feed_url(data["url"], g.runtime.settings)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _form_page(_source_or_404(source_id), 422)
    done = attempt(lambda: feed_service.update_feed_source(
        s, p, g.runtime.settings, source_id, data), _("Sumber feed disimpan."))
    if done is None:
        return _form_page(_source_or_404(source_id), 422)
    return redirect(url_for("ui_feeds.edit", source_id=source_id))


@bp.post("/sumber-feed/<id:source_id>/periksa")
def poll(source_id: int) -> Response:
    """"Periksa sekarang": the next worker tick polls the feed."""
    s, p = session_(), principal()
    attempt(lambda: feed_service.poll_soon(s, p, source_id),
            _("Feed akan diperiksa dalam beberapa detik."))
    return redirect(url_for("ui_feeds.edit", source_id=source_id))


@bp.post("/sumber-feed/<id:source_id>/hapus")
def delete(source_id: int) -> Response:
    """Remove a feed source (the items made from it stay)."""
    s, p = session_(), principal()
    try:
        feed_service.delete_feed_source(s, p, source_id)
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("ui_feeds.edit", source_id=source_id))
    flash(_("Sumber feed dihapus."), "success")
    return redirect(url_for("ui_feeds.index"))
