"""``/api/v1/feeds``: an OPD's feed sources (its website's RSS/Atom feed, cross-posted to its
channels) — list, add, read, change, remove, and "poll now".

A feed URL is checked by the SSRF guard (a DNS lookup) before the request's database session
is opened; the feed itself is fetched later by the workers (:mod:`publisher.feeds`).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..models import FeedSource, Role
from ..services import feeds as service
from ..web.ids import IdField
from . import common
from . import outputs as out
from .common import Bool, OpdRef

blp = Blueprint("feeds", __name__, url_prefix="/api/v1/feeds",
                description="Sumber feed (RSS/Atom) situs OPD yang diteruskan ke saluran")

f = ma.fields


class FeedWriteSchema(ma.Schema):
    """Fields of a feed source that may be changed."""

    name = f.String(validate=ma.validate.Length(min=1, max=200))
    url = f.String(validate=ma.validate.Length(min=1, max=1000),
                   metadata={"description": "alamat feed RSS/Atom (http/https, alamat publik)"})
    target_channel_ids = f.List(IdField(strict=True), metadata={
        "description": "saluran OPD yang sama tempat setiap entri baru diterbitkan"})
    category = f.String(metadata={"description": "kategori KIP bawaan: berkala, serta_merta "
                                                 "atau setiap_saat"})
    requires_approval = Bool(metadata={
        "description": "entri menunggu persetujuan (false: terbit langsung; hanya approver)"})
    poll_interval_seconds = f.Integer(strict=True, validate=ma.validate.Range(
        min=service.MIN_POLL_SECONDS, max=service.MAX_POLL_SECONDS), metadata={
        "description": f"interval pemeriksaan, minimal {service.MIN_POLL_SECONDS} detik"})
    body_template = f.String(metadata={"description": "template Jinja isi informasi "
                                                      "(kosong: bawaan)"})
    enabled = Bool()
    recurring = Bool(metadata={
        "description": "pengumuman berulang: entri dengan teks yang sama di bawah GUID baru dan "
                       "bertanggal lebih baru diterbitkan lagi (bawaan: false)"})


class FeedCreateSchema(FeedWriteSchema):
    """A new feed source."""

    opd = OpdRef(required=True, metadata={"description": "id atau slug OPD"})
    name = f.String(required=True, validate=ma.validate.Length(min=1, max=200))
    url = f.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    target_channel_ids = f.List(IdField(strict=True), required=True)


class FeedListArgs(ma.Schema):
    """Filters of the feed source list."""

    opd = OpdRef(metadata={"description": "id atau slug OPD"})


_TIMES = ("next_poll_at", "last_polled_at", "last_success_at", "created_at", "updated_at")

FeedSourceOut = out._schema("FeedSourceOut", {
    "id": f.Integer(), "opd_id": f.Integer(), "name": f.String(), "url": f.String(),
    "enabled": f.Boolean(), "target_channel_ids": f.List(f.Integer()),
    "category": f.String(), "requires_approval": f.Boolean(), "recurring": f.Boolean(),
    "poll_interval_seconds": f.Integer(), "body_template": f.String(),
    "seeded": f.Boolean(metadata={"description": "false: pemeriksaan berikutnya hanya mencatat "
                                                 "entri yang sudah ada (tanpa banjir)"}),
    "last_error": f.String(allow_none=True), "error_count": f.Integer(),
    **out._timed(*_TIMES),
})
FeedSourceList = out._schema("FeedSourceList", {"items": f.List(f.Nested(FeedSourceOut))})
SkippedEntryOut = out._schema("SkippedEntryOut", {
    "title": f.String(), "link": f.String(),
    "reason": f.String(metadata={"description": "first_poll, older_than_source atau same_text"}),
    "reason_text": f.String(), **out._timed("seen_at"),
})
SkippedEntryList = out._schema("SkippedEntryList",
                               {"items": f.List(f.Nested(SkippedEntryOut))})


def _out(source: FeedSource, tz_name: str) -> dict[str, Any]:
    body = {k: v for k, v in service.describe_feed_source(source).items() if k not in _TIMES}
    for name in _TIMES:
        common.put_time(body, name, getattr(source, name), tz_name)
    return body


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its URL (if any) checked by the SSRF guard — a DNS lookup, so this runs
    before the request's session opens (422 naming ``url`` when refused)."""
    if "url" in data:
        data = {**data, "url": service.check_feed_url(data["url"], common.runtime().settings)}
    return data


@blp.route("")
class Feeds(MethodView):
    """The feed sources of the user's OPDs."""

    @blp.arguments(FeedListArgs, location="query")
    @blp.response(200, FeedSourceList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List feed sources (optionally of one OPD)."""
        sess, who = common.session(), common.principal()
        opd = common.opd_ref(sess, who, args["opd"]) if "opd" in args else None
        rows = service.list_feed_sources(sess, who, opd.id if opd else None)
        zones = {opd_id: common.opd_zone(sess, opd_id) for opd_id in {r.opd_id for r in rows}}
        return {"items": [_out(r, zones[r.opd_id]) for r in rows]}

    @common.requires(Role.EDITOR, Role.APPROVER, what="mengatur sumber feed")
    @blp.arguments(FeedCreateSchema)
    @blp.response(201, FeedSourceOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a feed source (editors; publishing without approval needs an approver). Its
        first poll only records the entries already there."""
        data = _checked(data)
        sess, who = common.session(), common.principal()
        opd = common.opd_ref(sess, who, data.pop("opd"))
        source = service.create_feed_source(sess, who, common.runtime().settings, opd.id, data)
        sess.commit()
        return _out(source, opd.timezone), 201, {
            "Location": url_for("feeds.FeedResource", source_id=source.id)}


@blp.route("/<id:source_id>")
class FeedResource(MethodView):
    """One feed source."""

    @blp.response(200, FeedSourceOut)
    def get(self, source_id: int) -> dict[str, Any]:
        """A feed source with its last poll and error."""
        sess = common.session()
        source = service.get_feed_source(sess, common.principal(), source_id)
        return _out(source, common.opd_zone(sess, source.opd_id))

    @common.requires(Role.EDITOR, Role.APPROVER, what="mengatur sumber feed")
    @blp.arguments(FeedWriteSchema)
    @blp.response(200, FeedSourceOut)
    def patch(self, data: dict[str, Any], source_id: int) -> dict[str, Any]:
        """Change a feed source; a new URL starts over (the next poll only records)."""
        data = _checked(data)
        sess = common.session()
        source = service.update_feed_source(sess, common.principal(),
                                            common.runtime().settings, source_id, data)
        sess.commit()
        return _out(source, common.opd_zone(sess, source.opd_id))

    @blp.response(204)
    def delete(self, source_id: int) -> None:
        """Remove a feed source (items already made from it stay)."""
        sess = common.session()
        service.delete_feed_source(sess, common.principal(), source_id)
        sess.commit()


@blp.route("/<id:source_id>/poll", methods=["POST"])
@blp.response(202, FeedSourceOut)
def poll_now(source_id: int) -> dict[str, Any]:
    """"Periksa sekarang": the next worker tick polls this source (accepted, not done yet)."""
    sess = common.session()
    source = service.poll_soon(sess, common.principal(), source_id)
    sess.commit()
    return _out(source, common.opd_zone(sess, source.opd_id))


@blp.route("/<id:source_id>/skipped")
@blp.response(200, SkippedEntryList)
def skipped(source_id: int) -> dict[str, Any]:
    """The latest entries of the feed recorded without being posted, each with why."""
    sess, who = common.session(), common.principal()
    rows = service.skipped_entries(sess, who, source_id)
    zone = common.opd_zone(sess, service.get_feed_source(sess, who, source_id).opd_id)
    items = []
    for row in rows:
        body = {k: v for k, v in row.items() if k != "seen_at"}
        common.put_time(body, "seen_at", row["seen_at"], zone)
        items.append(body)
    return {"items": items}
