"""``/api/v1/items``: draft, change, submit, approve, return, reschedule, cancel, preview."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from ..channels.base import ChannelError
from ..models import Item, Publication, Role
from ..payloads import context_for_item
from ..services import items as service
from ..services.errors import Invalid
from . import common
from . import outputs as out
from .schemas import (
    CommentSchema,
    ItemCreateSchema,
    ItemListArgs,
    ItemPatchSchema,
    ScheduleSchema,
)
from .serialize import item_detail, item_out

blp = Blueprint("items", __name__, url_prefix="/api/v1/items",
                description="Informasi publik: penyusunan, persetujuan, jadwal")

_DATE_COLUMNS = {
    "created_at": Item.created_at, "publish_at": Item.publish_at,
    "approved_at": Item.approved_at, "updated_at": Item.updated_at,
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _detail(item: Item) -> dict[str, Any]:
    return item_detail(common.session(), item, common.runtime().settings.public_base_url)


@blp.route("")
class Items(MethodView):
    """The items the user may see."""

    @blp.arguments(ItemListArgs, location="query")
    @blp.response(200, out.ItemPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List items (filters: opd, status, category, q, from/to on ``date_field``)."""
        sess, who = common.session(), common.principal()
        query = select(Item).where(who.scope(Item.opd_id))
        opd_id = common.opd_filter(sess, who, args)
        if opd_id is not None:
            query = query.where(Item.opd_id == opd_id)
        if args.get("status"):
            query = query.where(Item.status == args["status"])
        if args.get("category"):
            query = query.where(Item.category == args["category"])
        if args.get("q"):
            pattern = _like(args["q"].strip())
            query = query.where(or_(Item.title.ilike(pattern, escape="\\"),
                                    Item.summary.ilike(pattern, escape="\\")))
        start, stop = common.time_range(args, common.opd_zone(sess, opd_id))
        column = _DATE_COLUMNS[args["date_field"]]
        if start is not None:
            query = query.where(column >= start)
        if stop is not None:
            query = query.where(column < stop)
        rows, page = common.paged(sess, query.order_by(Item.created_at.desc(), Item.id.desc()),
                                  args)
        base = common.runtime().settings.public_base_url
        return {"items": [item_out(i, base) for i in rows], **page}

    @common.requires(Role.EDITOR, Role.APPROVER, what="menyusun informasi")
    @blp.arguments(ItemCreateSchema)
    @blp.response(201, out.ItemDetailOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Draft an item in an OPD (with DIP columns, category, targets and schedule)."""
        sess, who = common.session(), common.principal()
        opd = common.opd_ref(sess, who, data.pop("opd"))
        channel_ids = data.pop("channel_ids", None)
        schedule = data.pop("schedule", None)
        item = service.create_item(sess, who, common.runtime().settings, opd.id, data,
                                   channel_ids=channel_ids, schedule=schedule, source="api")
        sess.commit()
        return _detail(item), 201, {"Location": url_for("items.ItemResource", item_id=item.id)}


@blp.route("/<id:item_id>")
class ItemResource(MethodView):
    """One item."""

    @blp.response(200, out.ItemDetailOut)
    def get(self, item_id: int) -> dict[str, Any]:
        """An item with its publications and versions."""
        return _detail(service.get_item(common.session(), common.principal(), item_id))

    @common.requires(Role.EDITOR, Role.APPROVER, what="mengubah informasi")
    @blp.arguments(ItemPatchSchema)
    @blp.response(200, out.ItemDetailOut)
    def patch(self, data: dict[str, Any], item_id: int) -> dict[str, Any]:
        """Change an item's content or targets (only the fields given)."""
        sess = common.session()
        channel_ids = data.pop("channel_ids", None)
        item = service.update_item(sess, common.principal(), common.runtime().settings, item_id,
                                   data, channel_ids=channel_ids)
        sess.commit()
        return _detail(item)


@blp.route("/<id:item_id>/submit", methods=["POST"])
@blp.response(200, out.ItemDetailOut)
def submit(item_id: int) -> dict[str, Any]:
    """Send a draft for approval (approved at once where the OPD needs no approval)."""
    sess = common.session()
    item = service.submit_item(sess, common.principal(), common.runtime().settings, item_id)
    sess.commit()
    return _detail(item)


@blp.route("/<id:item_id>/approve", methods=["POST"])
@common.requires(Role.APPROVER, what="menyetujui informasi")
@blp.arguments(CommentSchema, required=False)
@blp.response(200, out.ItemDetailOut)
def approve(data: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Approve a submitted item (never your own); it fans out to its channels."""
    sess = common.session()
    item = service.approve_item(sess, common.principal(), common.runtime().settings, item_id,
                                data["comment"])
    sess.commit()
    return _detail(item)


@blp.route("/<id:item_id>/return", methods=["POST"])
@common.requires(Role.APPROVER, what="mengembalikan informasi")
@blp.arguments(CommentSchema, required=False)
@blp.response(200, out.ItemDetailOut)
def return_(data: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Send a submitted item back to its drafter with a comment."""
    sess = common.session()
    item = service.return_item(sess, common.principal(), common.runtime().settings, item_id,
                               data["comment"])
    sess.commit()
    return _detail(item)


@blp.route("/<id:item_id>/cancel", methods=["POST"])
@blp.response(200, out.ItemDetailOut)
def cancel(item_id: int) -> dict[str, Any]:
    """Cancel the item and every publication that has not started sending."""
    sess = common.session()
    item = service.cancel_item(sess, common.principal(), common.runtime().settings, item_id)
    sess.commit()
    return _detail(item)


@blp.route("/<id:item_id>/reschedule", methods=["POST"])
@common.requires(Role.EDITOR, Role.APPROVER, what="menjadwalkan ulang")
@blp.arguments(ScheduleSchema)
@blp.response(200, out.ItemDetailOut)
def reschedule(data: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Move the item (and its publications not yet sending) to a new time."""
    if not data:
        raise Invalid("jadwal baru wajib diisi (mode, at)", field="mode")
    sess = common.session()
    item = service.reschedule_item(sess, common.principal(), common.runtime().settings, item_id,
                                   data)
    sess.commit()
    return _detail(item)


@blp.route("/<id:item_id>/preview", methods=["GET"])
@blp.response(200, out.PreviewOut)
def preview(item_id: int) -> dict[str, Any]:
    """For each target channel, exactly the payload that would be sent."""
    sess, rt = common.session(), common.runtime()
    item = service.get_item(sess, common.principal(), item_id)
    pub_ids = dict(
        sess.execute(
            select(Publication.channel_id, Publication.id).where(Publication.item_id == item.id)
        ).all()
    )
    previews = []
    for channel in sorted(item.targets, key=lambda c: c.id):
        entry: dict[str, Any] = {
            "channel_id": channel.id, "channel_name": channel.name, "kind": channel.kind,
            "publication_id": pub_ids.get(channel.id),
        }
        ctx = context_for_item(item, pub_ids.get(channel.id, 0), rt.settings)
        try:
            entry["payload"] = rt.channel(channel).render(ctx, rt.renderer).preview()
        except ChannelError as exc:
            entry["error"] = exc.message
        previews.append(entry)
    return {"item_id": item.id, "version": item.version, "content_hash": item.content_hash,
            "channels": previews}
