"""``/api/v1/opds/<opd>/meta/…``: connect a Facebook Page and its Instagram account.

``discover`` takes a long-lived user token (or a Page token) and lists the Pages it can post
to, with their linked Instagram accounts and warnings; ``connect`` creates the ``facebook``
(and ``instagram``) channels for one chosen Page — or, when the OPD already has a channel for
that Page or account, gives it the new Page token, which releases its held publications.

Tokens are accepted, never returned, logged or audited; the Page token is stored encrypted by
the channel service. The Graph calls run with no database session open.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Principal
from ..channels.base import AuthError, ChannelError, TransientError
from ..channels.meta_connect import ChannelSpec, Connection, PageAccount, discover_pages
from ..models import Channel, Publication, PublicationStatus, Role
from ..security import HEADER_UNSAFE
from ..services import channels as channel_service
from ..services import items as item_service
from ..services.auditing import record
from ..services.errors import Forbidden, Invalid, ServiceError
from . import common
from . import outputs as out
from .serialize import channel_out

blp = Blueprint("meta", __name__, url_prefix="/api/v1/opds",
                description="Menyambungkan Halaman Facebook dan akun Instagram OPD")

#: Config key that identifies the remote account of each Meta channel kind.
ACCOUNT_KEY = {"facebook": "page_id", "instagram": "ig_user_id"}


class MetaUnavailable(ServiceError):
    """Meta could not be reached or did not answer in time (try again later)."""

    status = 503
    title = "Meta tidak dapat dihubungi"


class MetaRefused(ServiceError):
    """Meta answered with something other than a verdict on the token."""

    status = 502
    title = "Jawaban Meta tidak dapat dipakai"


class DiscoverSchema(ma.Schema):
    """A token to look Pages up with."""

    token = ma.fields.String(
        required=True, load_only=True,
        validate=[ma.validate.Length(min=10, max=2000),
                  ma.validate.Regexp(r"^[\x21-\x7e]+$", error=HEADER_UNSAFE)],
        metadata={"description": "token pengguna berumur panjang atau token Halaman; tidak "
                                 "pernah disimpan atau ditampilkan"})


class ConnectSchema(DiscoverSchema):
    """Which Page to connect, and whether to add its Instagram account."""

    page_id = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{1,30}$"),
                               metadata={"description": "ID Halaman dari discover"})
    instagram = common.Bool(
        load_default=None, allow_none=True,
        metadata={"description": "sambungkan juga akun Instagram yang terhubung; bawaan: ya "
                                 "bila ada"})


_Instagram = out._schema("MetaInstagramOut", {
    "ig_user_id": ma.fields.String(), "username": ma.fields.String(allow_none=True)})
PageOut = out._schema("MetaPageOut", {
    "page_id": ma.fields.String(), "name": ma.fields.String(),
    "tasks": ma.fields.List(ma.fields.String()), "can_post": ma.fields.Boolean(),
    "instagram": ma.fields.Nested(_Instagram, allow_none=True),
    "channel_ids": ma.fields.Dict(metadata={"description": "saluran OPD ini yang sudah ada "
                                                           "untuk Halaman/akun ini"}),
})
DiscoverOut = out._schema("MetaDiscoverOut", {
    "token_type": ma.fields.String(metadata={"description": "USER atau PAGE"}),
    "scopes": ma.fields.List(ma.fields.String()),
    "expires_at": ma.fields.String(allow_none=True),
    "pages": ma.fields.List(ma.fields.Nested(PageOut)),
    "warnings": ma.fields.List(ma.fields.String()),
})
ConnectOut = out._schema("MetaConnectOut", {
    "page": ma.fields.Nested(PageOut),
    "channels": ma.fields.List(ma.fields.Nested(out.ChannelOut)),
    "created": ma.fields.List(ma.fields.Integer()),
    "reconnected": ma.fields.List(ma.fields.Integer()),
    "released_publications": ma.fields.Integer(),
    "warnings": ma.fields.List(ma.fields.String()),
})


def _target(opd_ref: str, who: Principal) -> int:
    """The id of the OPD named in the URL, which the user must manage (a short read, closed
    before any network call)."""
    with common.runtime().db.read() as sess:
        opd = item_service.get_opd(sess, who, common.opd_ref_value(opd_ref))
        if not who.has_role(opd.id, Role.APPROVER):
            raise Forbidden("hanya PPID Pelaksana (approver) atau admin yang menyambungkan "
                            "Halaman Facebook dan akun Instagram")
        return opd.id


def _discover(token: str) -> Connection:
    """:func:`discover_pages`, with its errors as problems (the token is never echoed)."""
    try:
        return discover_pages(token, common.runtime().settings)
    except AuthError as exc:
        raise Invalid(exc.message, field="token") from None
    except TransientError as exc:
        raise MetaUnavailable(exc.message) from None
    except ChannelError as exc:
        raise MetaRefused(exc.message) from None


def _existing(sess: Session, opd_id: int) -> dict[tuple[str, str], int]:
    """Ids of this OPD's Meta channels by (kind, remote account id); the oldest wins."""
    rows = sess.execute(
        select(Channel.id, Channel.kind, Channel.config)
        .where(Channel.opd_id == opd_id, Channel.kind.in_(list(ACCOUNT_KEY)))
        .order_by(Channel.id)
    )
    found: dict[tuple[str, str], int] = {}
    for channel_id, kind, config in rows:
        account = str((config or {}).get(ACCOUNT_KEY[kind]) or "")
        found.setdefault((kind, account), channel_id)
    return found


def _page_out(page: PageAccount, existing: dict[tuple[str, str], int]) -> dict[str, Any]:
    ids: dict[str, int] = {}
    if ("facebook", page.page_id) in existing:
        ids["facebook"] = existing[("facebook", page.page_id)]
    if page.ig_user_id and ("instagram", page.ig_user_id) in existing:
        ids["instagram"] = existing[("instagram", page.ig_user_id)]
    return {**page.public(), "channel_ids": ids}


@blp.route("/<opd>/meta/discover", methods=["POST"])
@common.requires(Role.APPROVER, what="menyambungkan Halaman Facebook dan akun Instagram")
@blp.arguments(DiscoverSchema)
@blp.response(200, DiscoverOut)
def discover(data: dict[str, Any], opd: str) -> dict[str, Any]:
    """The Pages a token can post to, their Instagram accounts, and what is missing."""
    who = common.principal()
    opd_id = _target(opd, who)
    found = _discover(data["token"])
    with common.runtime().db.read() as sess:
        existing = _existing(sess, opd_id)
    return {
        "token_type": found.token_type, "scopes": list(found.scopes),
        "expires_at": common.iso(found.expires_at),
        "pages": [_page_out(p, existing) for p in found.pages],
        "warnings": list(found.warnings),
    }


def _chosen(
    found: Connection, page_id: str, instagram: bool | None
) -> tuple[PageAccount, list[ChannelSpec]]:
    """The Page asked for and the channels to make of it; refuses what cannot work."""
    page = next((p for p in found.pages if p.page_id == page_id), None)
    if page is None:
        raise Invalid(f"token ini tidak dapat mengelola Halaman {page_id}; pilih salah satu "
                      "Halaman dari discover", field="page_id")
    if not page.can_post:
        raise Invalid(f"peran Anda di Halaman {page.name} tidak mengizinkan membuat kiriman "
                      "(perlu tugas CREATE_CONTENT atau MANAGE)", field="page_id")
    if not page.page_token:
        raise Invalid(f"Meta tidak memberikan token Halaman {page.name}; periksa izin "
                      "pages_show_list", field="token")
    if instagram and not page.ig_user_id:
        raise Invalid(f"Halaman {page.name} tidak terhubung ke akun Instagram profesional",
                      field="instagram")
    specs = page.channel_specs()
    if instagram is False:
        specs = [s for s in specs if s.kind != "instagram"]
    return page, specs


def _apply(sess: Session, who: Principal, opd_id: int, spec: ChannelSpec,
           existing: dict[tuple[str, str], int]) -> tuple[Channel, bool, int]:
    """Create the channel, or reconnect the one this OPD has for the account; returns
    (channel, created, publications released)."""
    rt = common.runtime()
    channel_id = existing.get((spec.kind, str(spec.config[ACCOUNT_KEY[spec.kind]])))
    if channel_id is None:
        channel = channel_service.create_channel(
            sess, who, rt, opd_id, spec.kind, spec.name, config=spec.config,
            secrets=spec.secrets)
        return channel, True, 0
    held_before = _held(sess, channel_id)
    channel = channel_service.update_channel(sess, who, rt, channel_id, config=spec.config,
                                             secrets=spec.secrets)
    # A fresh token: forget the old verdict, so the health job checks it soon.
    channel.health_ok = None
    channel.health_detail = "Baru disambungkan ulang; belum diperiksa."
    channel.health_checked_at = None
    channel.credential_expires_at = None
    return channel, False, held_before - _held(sess, channel_id)


def _held(sess: Session, channel_id: int) -> int:
    sess.flush()
    return int(sess.scalar(select(func.count()).select_from(Publication).where(
        Publication.channel_id == channel_id, Publication.status == PublicationStatus.HELD)) or 0)


@blp.route("/<opd>/meta/connect", methods=["POST"])
@common.requires(Role.APPROVER, what="menyambungkan Halaman Facebook dan akun Instagram")
@blp.arguments(ConnectSchema)
@blp.response(200, ConnectOut)
def connect(data: dict[str, Any], opd: str) -> dict[str, Any]:
    """Create (or reconnect) the Facebook and Instagram channels of one Page."""
    who = common.principal()
    opd_id = _target(opd, who)
    found = _discover(data["token"])
    page, specs = _chosen(found, data["page_id"], data.get("instagram"))
    sess = common.session()  # the write transaction starts after the Graph calls
    existing = _existing(sess, opd_id)
    channels: list[Channel] = []
    created: list[int] = []
    reconnected: list[int] = []
    released = 0
    for spec in specs:
        channel, is_new, freed = _apply(sess, who, opd_id, spec, existing)
        sess.flush()
        channels.append(channel)
        (created if is_new else reconnected).append(channel.id)
        existing.setdefault((spec.kind, str(spec.config[ACCOUNT_KEY[spec.kind]])), channel.id)
        released += freed
    record(sess, who, "channel.meta_connected", channel=channels[0],
           detail={"page_id": page.page_id, "page_name": page.name,
                   "ig_user_id": page.ig_user_id, "connected_with": found.token_type.lower(),
                   "created": created, "reconnected": reconnected})
    sess.commit()
    shown = [channel_out(c, common.runtime()) for c in channels]
    return {
        "page": _page_out(page, existing),
        "channels": shown, "created": created, "reconnected": reconnected,
        "released_publications": released,
        "warnings": list(found.warnings) + [w for c in shown for w in c["warnings"]],
    }
