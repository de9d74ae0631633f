"""Beranda: what is coming, what failed, which channels need attention, the Monev chart."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, lazyload, load_only

from ..health import platform_waits
from ..models import (
    Category,
    Channel,
    ChannelStatus,
    Item,
    ItemStatus,
    Publication,
    PublicationStatus,
    WorkerHeartbeat,
)
from ..timeutil import to_local, utcnow
from .chart import weekly_chart
from .common import arg_int, blueprint, principal, session_, visible_opds

bp = blueprint("ui_dashboard", __name__)

#: Monev target: items of public information published per OPD per week.
WEEKLY_TARGET = 4
CHART_WEEKS = 8
STALE_AFTER = timedelta(days=183)
EXPIRY_WARNING = timedelta(days=14)
#: A worker not seen for this long is taken as stopped (they beat every 10 s).
WORKER_SILENCE = timedelta(seconds=60)


def _pubs(p: Any) -> Any:
    return (
        select(Publication)
        .join(Publication.item)
        .join(Publication.channel)
        .options(contains_eager(Publication.item).options(
                     load_only(Item.id, Item.title, Item.opd_id), lazyload(Item.targets),
                     lazyload(Item.media)),
                 contains_eager(Publication.channel))
        .where(p.scope(Publication.opd_id))
    )


@bp.get("/")
def index() -> str:
    """The dashboard of the user's OPDs (or one of them: ``?opd=``)."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    by_id = {o.id: o for o in opds}
    chosen = arg_int("opd")
    chosen = chosen if chosen in by_id else (opds[0].id if len(opds) == 1 else None)
    now = utcnow()

    def scoped(q: Any, column: Any) -> Any:
        return q.where(column == chosen) if chosen else q

    def pick(statuses: tuple[str, ...], latest: bool) -> list[Publication]:
        """The 10 soonest due (or latest changed) publications in ``statuses``. One query per
        status: equality on status lets the (status, due_at) index drive, where with IN
        SQLite may walk the due_at index through every published row instead."""
        column = Publication.updated_at if latest else Publication.due_at
        found = [pub for status in statuses for pub in s.scalars(
            scoped(_pubs(p), Publication.opd_id).where(Publication.status == status)
            .order_by(column.desc() if latest else column).limit(10))]
        key = (lambda pub: pub.updated_at) if latest else (lambda pub: pub.due_at)
        return sorted(found, key=key, reverse=latest)[:10]

    upcoming = pick((PublicationStatus.SCHEDULED, PublicationStatus.RETRYING), latest=False)
    failures = pick((PublicationStatus.FAILED, PublicationStatus.HELD), latest=True)
    failure_count = s.scalar(
        scoped(select(func.count()).select_from(Publication).where(
            p.scope(Publication.opd_id),
            Publication.status.in_([PublicationStatus.FAILED, PublicationStatus.HELD])),
            Publication.opd_id)
    ) or 0
    waiting = select(Publication.channel_id).where(
        Publication.status == PublicationStatus.RETRYING,
        Publication.error_kind == "rate_limited", Publication.due_at > now)
    channels = list(s.scalars(scoped(select(Channel).where(
        p.scope(Channel.opd_id),
        or_(Channel.status != ChannelStatus.ACTIVE, Channel.health_ok.is_(False),
            Channel.credential_expires_at < now + EXPIRY_WARNING, Channel.id.in_(waiting)),
    ), Channel.opd_id).order_by(Channel.name)))
    waits = platform_waits(s, [c.id for c in channels], now)
    stale_where = (p.scope(Item.opd_id), Item.category == Category.BERKALA,
                   Item.status == ItemStatus.APPROVED, Item.updated_at < now - STALE_AFTER)
    stale = list(s.scalars(scoped(
        select(Item).where(*stale_where).options(
            load_only(Item.id, Item.title, Item.opd_id, Item.updated_at),
            lazyload(Item.targets), lazyload(Item.media)),
        Item.opd_id).order_by(Item.updated_at).limit(10)))
    stale_count = s.scalar(scoped(select(func.count(Item.id)).where(*stale_where),
                                  Item.opd_id)) or 0

    workers = s.scalar(select(func.count()).select_from(WorkerHeartbeat)
                       .where(WorkerHeartbeat.seen_at >= now - WORKER_SILENCE)) or 0
    tz = by_id[chosen].timezone if chosen else (opds[0].timezone if opds else "Asia/Jakarta")
    today = to_local(now, tz).date()
    week_start = today - timedelta(days=today.weekday())
    first = week_start - timedelta(weeks=CHART_WEEKS - 1)
    since = now - timedelta(weeks=CHART_WEEKS, days=1)
    rows = s.execute(scoped(
        select(Publication.item_id, func.min(Publication.published_at))
        # only published publications have published_at: the index on it does the work
        .where(p.scope(Publication.opd_id), Publication.published_at >= since)
        .group_by(Publication.item_id), Publication.opd_id))
    weeks = [(first + timedelta(weeks=i)) for i in range(CHART_WEEKS)]
    # week starts (Monday 00:00 in the zone) as UTC instants; each post is bisected into one
    zone = ZoneInfo(tz)
    starts = [datetime.combine(w, time(), zone) for w in weeks]
    per_week: Counter[Any] = Counter()
    for _item_id, published_at in rows:
        index = bisect_right(starts, published_at) - 1
        if index >= 0:
            per_week[weeks[index]] += 1
    target = WEEKLY_TARGET * (1 if chosen else max(1, len(opds)))
    chart = weekly_chart(
        [(w.strftime("%d/%m"), per_week[w]) for w in weeks], target,
        _("Informasi terbit per minggu"), _("target Monev %(n)d/minggu", n=target),
    )
    from ..app import get_runtime
    from ..services.dik import reviews_due

    reviews = reviews_due(s, p, working_days=get_runtime().settings.dik_review_notice_days)
    return render_template(
        "ui/dashboard.html", reviews=reviews, opds=opds, by_id=by_id, chosen=chosen,
        upcoming=upcoming,
        failures=failures, failure_count=failure_count, channels=channels, stale=stale,
        stale_count=stale_count, chart=Markup(chart), now=now, target=target,  # noqa: S704
        this_week=per_week[week_start], expiry_warning=now + EXPIRY_WARNING, workers=workers,
        waits=waits,
    )

