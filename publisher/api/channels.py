"""``/api/v1/channels``: an OPD's channels — CRUD, connection test, pause and resume.

Secrets (tokens, passwords) are accepted on write and never returned: a channel shows only
``has_secrets`` and the names of its secret fields.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, select

from ..models import Channel, Role, item_target
from ..models import Publication as PublicationRow
from ..services import channels as service
from ..services.auditing import record
from ..services.channel_connect import connect, connector, reconnect
from ..services.errors import Conflict
from . import common
from . import outputs as out
from .common import OpdRef
from .serialize import channel_out

blp = Blueprint("channels", __name__, url_prefix="/api/v1/channels",
                description="Saluran publikasi OPD (situs, webhook, Facebook, ...)")


class ChannelWriteSchema(ma.Schema):
    """Fields of a channel that may be changed."""

    name = ma.fields.String(validate=ma.validate.Length(max=200))
    config = ma.fields.Dict(keys=ma.fields.String(),
                            metadata={"description": "pengaturan (bukan rahasia)"})
    secrets = ma.fields.Dict(keys=ma.fields.String(), load_only=True,
                             metadata={"description": "rahasia: disimpan terenkripsi, tidak "
                                                      "pernah ditampilkan"})
    schedule = ma.fields.List(ma.fields.Dict(), metadata={
        "description": 'jadwal mingguan: [{"days": [0-6, Senin=0], "times": ["08:00"]}]'})
    min_interval_seconds = ma.fields.Integer(
        strict=True, validate=ma.validate.Range(min=0, max=service.MAX_INTERVAL_SECONDS))


class ChannelCreateSchema(ChannelWriteSchema):
    """A new channel."""

    opd = OpdRef(required=True, metadata={"description": "id atau slug OPD"})
    kind = ma.fields.String(required=True, metadata={"description": "site, webhook, ..."})
    name = ma.fields.String(required=True, validate=ma.validate.Length(max=200))


class ChannelListArgs(ma.Schema):
    """Filters of the channel list."""

    opd = ma.fields.String(metadata={"description": "id atau slug OPD"})


def _out(channel: Channel) -> dict[str, Any]:
    return channel_out(channel, common.runtime())


@blp.route("")
class Channels(MethodView):
    """The channels the user may see."""

    @blp.arguments(ChannelListArgs, location="query")
    @blp.response(200, out.ChannelList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List channels (optionally of one OPD)."""
        sess, who = common.session(), common.principal()
        opd_id = common.opd_filter(sess, who, args)
        return {"items": [_out(c) for c in service.list_channels(sess, who, opd_id)]}

    @common.requires(Role.APPROVER, what="mengatur saluran")
    @blp.arguments(ChannelCreateSchema)
    @blp.response(201, out.ChannelOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a channel to an OPD (approvers and admins). A ``wordpress`` site is connected
        first: a wrong address, a site that is not WordPress or a bad application password is
        a 422 naming the field, in the site's own words."""
        rt, who = common.runtime(), common.principal()
        config, secrets = data.get("config"), data.get("secrets")
        if connector(data["kind"]) is not None:
            # The kind checks the account over the network (WordPress): who may add it is
            # read first, then the site is asked with no session open.
            with rt.db.read() as s:
                service.require_manager(who, common.opd_ref(s, who, data["opd"]).id)
            config, secrets = connect(data["kind"], config or {}, secrets or {}, rt.settings)
        sess = common.session()
        opd = common.opd_ref(sess, who, data["opd"])
        channel = service.create_channel(
            sess, who, rt, opd.id, data["kind"], data["name"],
            config=config, secrets=secrets,
            schedule=data.get("schedule"),
            min_interval_seconds=data.get("min_interval_seconds", 0),
        )
        sess.commit()
        return _out(channel), 201, {"Location": url_for("channels.ChannelResource",
                                                        channel_id=channel.id)}


@blp.route("/<id:channel_id>")
class ChannelResource(MethodView):
    """One channel."""

    @blp.response(200, out.ChannelOut)
    def get(self, channel_id: int) -> dict[str, Any]:
        """A channel (secrets: names only)."""
        return _out(service.get_channel(common.session(), common.principal(), channel_id))

    @common.requires(Role.APPROVER, what="mengatur saluran")
    @blp.arguments(ChannelWriteSchema)
    @blp.response(200, out.ChannelOut)
    def patch(self, data: dict[str, Any], channel_id: int) -> dict[str, Any]:
        """Change a channel; new secrets reconnect it (held publications are released)."""
        rt, who = common.runtime(), common.principal()
        # New credentials of a kind that connects (WordPress) are checked with the site first,
        # with no session open.
        config, secrets = reconnect(rt, who, channel_id, data.get("config"), data.get("secrets"))
        sess = common.session()
        channel = service.update_channel(
            sess, who, rt, channel_id,
            name=data.get("name"), config=config, secrets=secrets,
            schedule=data.get("schedule"),
            min_interval_seconds=data.get("min_interval_seconds"),
        )
        sess.commit()
        return _out(channel)

    @blp.response(204)
    def delete(self, channel_id: int) -> None:
        """Remove a channel that never had a publication (otherwise pause it)."""
        sess, who = common.session(), common.principal()
        channel = service.get_channel(sess, who, channel_id)
        service.require_manager(who, channel.opd_id)
        used = sess.scalar(
            select(PublicationRow.id).where(PublicationRow.channel_id == channel.id).limit(1)
        )
        if used is not None:
            raise Conflict("saluran ini sudah punya riwayat publikasi dan tidak dapat dihapus; "
                           "jeda saja (pause)", field="channel_id")
        record(sess, who, "channel.deleted", channel=channel,
               detail={"kind": channel.kind, "name": channel.name})
        sess.execute(delete(item_target).where(item_target.c.channel_id == channel.id))
        sess.delete(channel)
        sess.commit()


@blp.route("/<id:channel_id>/test", methods=["POST"])
@blp.response(200, out.ChannelTestOut)
def test_channel(channel_id: int) -> dict[str, Any]:
    """Check that the channel can publish (credentials, reachability); records its health.
    Approvers of the channel's OPD and admins only, as in the admin UI."""
    rt, who = common.runtime(), common.principal()
    common.session().rollback()  # no request transaction across the check's network call
    health = service.check_channel(rt, who, channel_id)
    with rt.db.read() as sess:
        channel_json = _out(service.get_channel(sess, who, channel_id))
    return {"ok": health.ok, "detail": health.detail, "scopes": list(health.scopes),
            "expires_at": common.iso(health.expires_at), "channel": channel_json}


@blp.route("/<id:channel_id>/pause", methods=["POST"])
@blp.response(200, out.ChannelOut)
def pause(channel_id: int) -> dict[str, Any]:
    """Stop sending to the channel; its publications are held, not dropped."""
    sess = common.session()
    channel = service.pause_channel(sess, common.principal(), channel_id)
    sess.commit()
    return _out(channel)


@blp.route("/<id:channel_id>/resume", methods=["POST"])
@blp.response(200, out.ChannelResumedOut)
def resume(channel_id: int) -> dict[str, Any]:
    """Resume a paused channel; held publications are scheduled again."""
    sess = common.session()
    released = service.resume_channel_by_id(sess, common.principal(), channel_id)
    sess.commit()
    return {**_out(service.get_channel(sess, common.principal(), channel_id)),
            "released_publications": released}
