"""Kalender: week and month views of scheduled and published posts per channel."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, request
from sqlalchemy import and_, case, func, select

from ..models import Channel, Item, Publication, PublicationStatus
from ..timeutil import to_local, utcnow
from .common import arg_int, blueprint, principal, session_, status_label, visible_opds

bp = blueprint("ui_calendar", __name__)

#: Posts listed per day cell; the rest are counted with a link to the queue.
PER_DAY = 6


def _start(view: str, anchor: date) -> tuple[date, date]:
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.weekday())
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
        return start, end
    start = anchor - timedelta(days=anchor.weekday())
    return start, start + timedelta(days=7)


@bp.get("/kalender")
def index() -> str:
    """``?view=week|month&date=YYYY-MM-DD&opd=&channel=``."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    by_id = {o.id: o for o in opds}
    opd_id = arg_int("opd")
    opd_id = opd_id if opd_id in by_id else (opds[0].id if len(opds) == 1 else None)
    tz = by_id[opd_id].timezone if opd_id else (opds[0].timezone if opds else "Asia/Jakarta")
    zone = ZoneInfo(tz)
    view = "month" if request.args.get("view") == "month" else "week"
    try:
        anchor = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        anchor = to_local(utcnow(), tz).date()
    start, end = _start(view, anchor)
    lo = datetime.combine(start, time(), zone)
    hi = datetime.combine(end, time(), zone)
    channel_id = arg_int("channel")
    all_days = [start + timedelta(days=i) for i in range((end - start).days)]
    bounds = [datetime.combine(d, time(), zone) for d in [*all_days, end]]
    shown = [p.scope(Publication.opd_id), Publication.status != PublicationStatus.CANCELLED]
    if opd_id:
        shown.append(Publication.opd_id == opd_id)
    if channel_id:
        shown.append(Publication.channel_id == channel_id)
    base = (
        select(Publication.id, Publication.item_id, Publication.status, Publication.opd_id,
               Publication.channel_id, Publication.due_at, Publication.published_at,
               Item.title, Channel.name.label("channel_name"))
        .join(Item, Item.id == Publication.item_id)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(*shown)
        .order_by(Publication.due_at, Publication.id)
    )
    counting = select(*[
        func.coalesce(func.sum(case((and_(Publication.due_at >= lo_, Publication.due_at < hi_), 1),
                                    else_=0)), 0)
        for lo_, hi_ in itertools.pairwise(bounds)
    ]).where(*shown, Publication.due_at >= lo, Publication.due_at < hi)
    counts = dict(zip(all_days, s.execute(counting).one(), strict=True))
    # Placed by due time in the view's zone (published posts go out at their due time, or
    # seconds after); only the posts that are shown are loaded.
    if view == "month":
        rows = [row for i, day in enumerate(all_days) if counts[day]
                for row in s.execute(base.where(Publication.due_at >= bounds[i],
                                                Publication.due_at < bounds[i + 1])
                                     .limit(PER_DAY))]
    else:
        rows = list(s.execute(base.where(Publication.due_at >= lo, Publication.due_at < hi)))
    days: dict[date, list[Any]] = defaultdict(list)
    per_channel: dict[tuple[int, date], list[Any]] = defaultdict(list)
    channel_names: dict[int, str] = {}
    labels: dict[str, str] = {}
    for row in rows:
        local = to_local(row.published_at or row.due_at, tz)
        day = to_local(row.due_at, tz).date()
        if view == "week":
            cell = per_channel[(row.channel_id, day)]
            channel_names[row.channel_id] = row.channel_name
            if len(cell) >= PER_DAY:
                continue
        if row.status not in labels:
            labels[row.status] = status_label(row.status)
        entry = {"row": row, "time": f"{local.hour:02d}:{local.minute:02d}",
                 "label": labels[row.status]}
        (cell if view == "week" else days[day]).append(entry)
    step = timedelta(days=28 if view == "month" else 7)
    prev_anchor = (anchor.replace(day=1) - timedelta(days=1)) if view == "month" else anchor - step
    next_anchor = ((anchor.replace(day=1) + timedelta(days=32)).replace(day=1)
                   if view == "month" else anchor + step)
    channels = list(s.scalars(select(Channel).where(p.scope(Channel.opd_id))
                              .order_by(Channel.name)))
    return render_template(
        "ui/calendar.html", view=view, anchor=anchor, days=days, counts=counts,
        all_days=all_days, weeks=[all_days[i:i + 7] for i in range(0, len(all_days), 7)],
        per_channel=per_channel, channel_names=channel_names, opds=opds, opd_id=opd_id,
        channel_id=channel_id, channels=channels, tz=tz, prev_anchor=prev_anchor,
        next_anchor=next_anchor, today=to_local(utcnow(), tz).date(), per_day=PER_DAY,
    )
