"""``/api/v1/opds``: the OPDs a user may see; admins add new ones."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..models import Opd, Role
from ..services import admin
from . import common
from . import outputs as out
from .common import Bool, OpdRef
from .serialize import opd_out

blp = Blueprint("opds", __name__, url_prefix="/api/v1/opds",
                description="Organisasi Perangkat Daerah")


class OpdCreateSchema(ma.Schema):
    """A new OPD."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    slug = ma.fields.String(validate=ma.validate.Length(max=80))
    timezone = ma.fields.String(load_default="Asia/Jakarta", metadata={
        "description": "Asia/Jakarta, Asia/Pontianak, Asia/Makassar atau Asia/Jayapura"})
    parent = OpdRef(allow_none=True, metadata={"description": "OPD induk (id atau slug)"})
    approval_required = Bool(load_default=True)
    color = ma.fields.String(load_default="#1f5f8b",
                             validate=ma.validate.Regexp(r"^#[0-9a-fA-F]{6}$"))


@blp.route("")
class Opds(MethodView):
    """OPDs."""

    @blp.response(200, out.OpdList)
    def get(self) -> dict[str, Any]:
        """The OPDs the user may see."""
        sess, who = common.session(), common.principal()
        rows = sess.scalars(select(Opd).where(who.scope(Opd.id)).order_by(Opd.name)).all()
        return {"items": [opd_out(o) for o in rows]}

    @common.requires(Role.ADMIN, what="menambah OPD")
    @blp.arguments(OpdCreateSchema)
    @blp.response(201, out.OpdOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Add an OPD (admin only)."""
        sess = common.session()
        with common.referenced():
            opd = admin.create_opd(
                sess, common.principal(), data["name"], slug=data.get("slug"),
                timezone=data["timezone"], parent=data.get("parent"),
                approval_required=data["approval_required"], color=data["color"],
            )
        sess.commit()
        return opd_out(opd), 201, {"Location": url_for("opds.OpdResource", opd_id=opd.id)}


@blp.route("/<id:opd_id>")
class OpdResource(MethodView):
    """One OPD."""

    @blp.response(200, out.OpdOut)
    def get(self, opd_id: int) -> dict[str, Any]:
        """An OPD the user may see."""
        from ..services.items import get_opd

        return opd_out(get_opd(common.session(), common.principal(), opd_id))
