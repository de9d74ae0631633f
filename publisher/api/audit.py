"""``/api/v1/audit``: the hash-chained audit log — list (scoped) and verify (admin/auditor)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select

from .. import audit
from ..models import AuditEvent
from ..services.errors import Forbidden
from ..web.ids import IdField
from . import common
from . import outputs as out
from .common import PageArgs, TimeRangeArgs
from .serialize import audit_out

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit",
                description="Jejak audit berantai hash: siapa, apa, kapan")


class AuditListArgs(PageArgs, TimeRangeArgs):
    """Filters of the audit list."""

    opd = ma.fields.String(metadata={"description": "id atau slug OPD"})
    item = IdField(metadata={"description": "id informasi"})
    action = ma.fields.String(validate=ma.validate.Length(max=60),
                              metadata={"description": "mis. item.approved"})


@blp.route("", methods=["GET"])
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, out.AuditPage)
def list_events(args: dict[str, Any]) -> dict[str, Any]:
    """Audit events, newest first; users of an OPD see only their OPDs' events."""
    sess, who = common.session(), common.principal()
    query = select(AuditEvent).where(who.scope(AuditEvent.opd_id))
    opd_id = common.opd_filter(sess, who, args)
    if opd_id is not None:
        query = query.where(AuditEvent.opd_id == opd_id)
    if args.get("item") is not None:
        query = query.where(AuditEvent.item_id == args["item"])
    if args.get("action"):
        query = query.where(AuditEvent.action == args["action"])
    start, stop = common.time_range(args, common.opd_zone(sess, opd_id))
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if stop is not None:
        query = query.where(AuditEvent.at < stop)
    rows, page = common.paged(sess, query.order_by(AuditEvent.seq.desc()), args)
    return {"items": [audit_out(e) for e in rows], **page}


@blp.route("/verify", methods=["GET"])
@blp.response(200, out.VerifyOut)
def verify() -> dict[str, Any]:
    """Walk the whole chain; name every edited, deleted or reordered event."""
    who = common.principal()
    if not who.sees_everything:
        raise Forbidden("hanya admin (PPID Utama) atau auditor yang dapat memeriksa rantai audit")
    result = audit.verify(common.session())
    return {"ok": result.ok, "checked": result.checked, "problems": result.problems,
            "bad_seqs": result.bad_seqs}
