"""Antrean: every publication with filters (status, channel, OPD, date), retry and cancel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, lazyload, load_only

from ..models import Channel, Item, Publication, PublicationStatus, Role
from .common import arg_int, blueprint, paginate, principal, session_, visible_opds
from .explain import explain, where_to_check

bp = blueprint("ui_queue", __name__)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@bp.get("/antrean")
def index() -> str:
    """Publications, newest due first; filters keep the query on its indexes."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    by_id = {o.id: o for o in opds}
    counting = select(func.count()).select_from(Publication).where(p.scope(Publication.opd_id))
    query = (
        select(Publication)
        .join(Publication.item)
        .join(Publication.channel)
        .options(contains_eager(Publication.item).options(
                     load_only(Item.id, Item.title, Item.opd_id, Item.category),
                     lazyload(Item.targets), lazyload(Item.media)),
                 contains_eager(Publication.channel))
        .where(p.scope(Publication.opd_id))
    )
    status = request.args.get("status", "")
    if status in set(PublicationStatus):
        query = query.where(Publication.status == status)
        counting = counting.where(Publication.status == status)
    opd_id = arg_int("opd")
    if opd_id:
        query = query.where(Publication.opd_id == opd_id)
        counting = counting.where(Publication.opd_id == opd_id)
    channel_id = arg_int("channel")
    if channel_id:
        query = query.where(Publication.channel_id == channel_id)
        counting = counting.where(Publication.channel_id == channel_id)
    tz = by_id[opd_id].timezone if opd_id in by_id else "Asia/Jakarta"
    start, end = _day(request.args.get("from", "")), _day(request.args.get("to", ""))
    if start:
        since = datetime.combine(start, time(), ZoneInfo(tz))
        query = query.where(Publication.due_at >= since)
        counting = counting.where(Publication.due_at >= since)
    if end:
        until = datetime.combine(end + timedelta(days=1), time(), ZoneInfo(tz))
        query = query.where(Publication.due_at < until)
        counting = counting.where(Publication.due_at < until)
    query = query.order_by(Publication.due_at.desc(), Publication.id.desc())
    page = paginate(s, query, count=counting)
    channels = list(s.scalars(select(Channel).where(p.scope(Channel.opd_id))
                              .order_by(Channel.name)))
    return render_template(
        "ui/queue.html", page=page, opds=opds, by_id=by_id, channels=channels,
        statuses=list(PublicationStatus), explain=explain,
        where_to_check=where_to_check, args=request.args,
        can_act=lambda opd: p.has_role(opd, Role.EDITOR, Role.APPROVER),
    )

