"""Audit: the hash-chained log with filters, and the chain verification on request."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from sqlalchemy import or_, select

from .. import audit as audit_log
from ..models import AuditEvent
from .common import arg_int, blueprint, paginate, principal, session_, visible_opds

bp = blueprint("ui_audit", __name__)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@bp.get("/audit")
def index() -> str:
    """Events newest first; ``?verify=1`` also walks the whole chain (admins and auditors)."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    query = select(AuditEvent)
    if not p.sees_everything:
        # events of the user's OPDs (system events without an OPD are for admins/auditors)
        query = query.where(p.scope(AuditEvent.opd_id))
    opd_id = arg_int("opd")
    if opd_id:
        query = query.where(AuditEvent.opd_id == opd_id)
    item_id = arg_int("item")
    if item_id:
        query = query.where(AuditEvent.item_id == item_id)
    action = request.args.get("action", "").strip()
    if action:
        query = query.where(or_(AuditEvent.action == action,
                                AuditEvent.action.startswith(action.rstrip(".") + ".")))
    zone = ZoneInfo("Asia/Jakarta")
    start, end = _day(request.args.get("from", "")), _day(request.args.get("to", ""))
    if start:
        query = query.where(AuditEvent.at >= datetime.combine(start, time(), zone))
    if end:
        query = query.where(AuditEvent.at < datetime.combine(end + timedelta(days=1), time(), zone))
    page = paginate(s, query.order_by(AuditEvent.seq.desc()))
    verification: Any = None
    if request.args.get("verify"):
        if not p.sees_everything:
            abort(403)
        verification = audit_log.verify(s)
    return render_template("ui/audit.html", page=page, opds=opds, args=request.args,
                           verification=verification, can_verify=p.sees_everything,
                           total=audit_log.count(s))
