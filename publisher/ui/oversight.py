"""Pengawasan: every OPD and desa of the Pemda in one table, for the PPID Utama and auditors.

Per unit: posts this week and in each of the last 8 ISO weeks (in the unit's own zone) against
the Monev target, the per-channel breakdown, items awaiting approval and the oldest one's age,
failed or held publications, channels needing attention, berkala items not updated for six
months and the last publication. Each measure is one grouped query over the whole Pemda (never
a query per OPD), joined up in Python; ``/pengawasan.csv`` exports the same rows.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..models import (
    Category,
    Channel,
    ChannelStatus,
    Item,
    ItemStatus,
    Opd,
    Publication,
    PublicationStatus,
)
from ..register import csv_safe
from ..timeutil import to_local, utcnow, zone_label
from .common import arg_int, blueprint, local, principal, session_
from .dashboard import CHART_WEEKS, EXPIRY_WARNING, STALE_AFTER, WEEKLY_TARGET

bp = blueprint("ui_oversight", __name__)

#: An item waiting longer than this for approval is a problem.
AWAITING_LIMIT = timedelta(days=3)
#: The longest ``?q=`` taken into account.
MAX_QUERY = 200
#: Sortable columns (``?urut=``): the key each sorts by.
SORTS: dict[str, Callable[[OversightRow], Any]] = {
    "nama": lambda r: (r.name.casefold(), r.opd_id),
    "induk": lambda r: (r.parent_name.casefold(), r.name.casefold()),
    "minggu": lambda r: r.this_week,
    "delapan": lambda r: sum(r.weeks),
    "menunggu": lambda r: r.awaiting,
    # the oldest waiting item first when descending; rows without any wait sort as age 0
    "tertua": lambda r: r.oldest_age.total_seconds() if r.oldest_age else -1.0,
    "gagal": lambda r: r.failed,
    "saluran": lambda r: len(r.channel_issues),
    "usang": lambda r: r.stale,
    "terakhir": lambda r: r.last_published.timestamp() if r.last_published else 0.0,
    "masalah": lambda r: len(r.problems),
}
DEFAULT_SORT = "nama"
PROBLEM_LABELS: dict[str, Any] = {
    "failed": _l("publikasi gagal/ditahan"),
    "channels": _l("saluran perlu perhatian"),
    "stale": _l("berkala belum diperbarui 6 bulan"),
    "awaiting": _l("persetujuan tertunda > 3 hari"),
}


@dataclass
class ChannelIssue:
    """A channel that needs re-auth or whose credential expires soon."""

    name: str
    needs_reauth: bool
    expires_at: datetime | None


@dataclass
class OversightRow:
    """One OPD or desa with its measures."""

    opd_id: int
    name: str
    parent_id: int | None
    parent_name: str
    timezone: str
    week_starts: list[date]
    weeks: list[int]
    #: ``Minggu 24/11`` per week (shared by the OPDs of one zone) and the sparkline's title
    week_labels: list[str] = field(default_factory=list)
    spark_title: str = ""
    per_channel: list[tuple[str, int]] = field(default_factory=list)
    awaiting: int = 0
    oldest_submitted: datetime | None = None
    oldest_age: timedelta | None = None
    failed: int = 0
    channel_issues: list[ChannelIssue] = field(default_factory=list)
    stale: int = 0
    last_published: datetime | None = None

    @property
    def this_week(self) -> int:
        """Posts of the current ISO week (in the OPD's zone)."""
        return self.weeks[-1] if self.weeks else 0

    @property
    def meets_target(self) -> bool:
        """Whether this week already reaches the Monev target."""
        return self.this_week >= WEEKLY_TARGET

    @property
    def problems(self) -> list[str]:
        """Keys of :data:`PROBLEM_LABELS` that apply."""
        found = []
        if self.failed:
            found.append("failed")
        if self.channel_issues:
            found.append("channels")
        if self.stale:
            found.append("stale")
        if self.oldest_age is not None and self.oldest_age > AWAITING_LIMIT:
            found.append("awaiting")
        return found

    def problem_labels(self) -> list[str]:
        """The problems in words."""
        return [str(PROBLEM_LABELS[p]) for p in self.problems]

    def channel_text(self) -> str:
        """``Situs OPD: 5; CMS OPD: 2`` (published in the 8 weeks)."""
        return "; ".join(f"{name}: {n}" for name, n in self.per_channel)

    def issue_text(self) -> str:
        """The channels needing attention, in words."""
        parts = []
        for issue in self.channel_issues:
            if issue.needs_reauth:
                parts.append(_("%(c)s: perlu disambungkan ulang", c=issue.name))
            else:
                parts.append(_("%(c)s: izin akses berakhir %(t)s", c=issue.name,
                               t=local(issue.expires_at, self.timezone)))
        return "; ".join(parts)

    def last_text(self) -> str:
        """The last publication in the OPD's zone with its label."""
        return local(self.last_published, self.timezone) if self.last_published else ""

    def sparkline(self) -> Markup:
        """The inline SVG of the weeks."""
        return Markup(sparkline(  # noqa: S704 - built from escaped parts
            list(zip(self.week_labels, self.weeks, strict=True)), WEEKLY_TARGET,
            self.spark_title))


def age_text(age: timedelta | None) -> str:
    """``3 hari`` or ``5 jam`` (under a day)."""
    if age is None:
        return ""
    if age >= timedelta(days=1):
        return _("%(n)d hari", n=age.days)
    if age < timedelta(hours=1):
        return _("kurang dari 1 jam")
    return _("%(n)d jam", n=int(age.total_seconds() // 3600))


def sparkline(weeks: list[tuple[str, int]], target: int, title: str) -> str:
    """A small bar sparkline (``(label, count)`` per week) with a dashed target line; every bar
    has a ``<title>`` tooltip. Colours as in :func:`publisher.ui.chart.weekly_chart`."""
    width, height, pad = 96, 28, 2
    top = max([target, *[c for _w, c in weeks], 1])
    slot = (width - 2 * pad) / max(1, len(weeks))

    def y(value: float) -> float:
        return pad + (height - 2 * pad) * (1 - value / top)

    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, count) in enumerate(weeks):
        x = pad + i * slot + slot * 0.12
        colour = "#1a6b35" if count >= target else "#8a5300"
        bar = max(1.0, y(0) - y(count)) if count else 1.0
        fill = colour if count else "#c9d1d9"
        parts.append(
            f'<rect x="{x:.1f}" y="{y(0) - bar:.1f}" width="{slot * 0.76:.1f}" '
            f'height="{bar:.1f}" fill="{fill}"><title>{escape(label)}: {count}</title></rect>')
    parts.append(
        f'<line x1="{pad}" y1="{y(target):.1f}" x2="{width - pad}" y2="{y(target):.1f}" '
        'stroke="#a4161a" stroke-width="1" stroke-dasharray="3 2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _zone_weeks(tz: str, now: datetime) -> tuple[list[date], list[datetime]]:
    """The last ``CHART_WEEKS`` ISO week starts (Mondays) in ``tz``, and as aware instants."""
    today = to_local(now, tz).date()
    week_start = today - timedelta(days=today.weekday())
    first = week_start - timedelta(weeks=CHART_WEEKS - 1)
    days = [first + timedelta(weeks=i) for i in range(CHART_WEEKS)]
    zone = ZoneInfo(tz)
    return days, [datetime.combine(d, time(), zone) for d in days]


def _descendants(rows: Iterable[OversightRow], root: int) -> set[int]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for r in rows:
        children[r.parent_id].append(r.opd_id)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:  # a cycle in bad data must not loop forever
                found.add(child)
                todo.append(child)
    return found


def build_rows(s: Session, now: datetime | None = None) -> list[OversightRow]:
    """Every OPD with its measures: one grouped query per measure."""
    now = now or utcnow()
    opds = list(s.execute(select(Opd.id, Opd.name, Opd.parent_id, Opd.timezone)))
    names = {o.id: o.name for o in opds}
    zones = {tz: _zone_weeks(tz, now) for tz in {o.timezone for o in opds}}
    since = now - timedelta(weeks=CHART_WEEKS, days=1)
    # translated once per request, not once per OPD and week (gettext is not free)
    week_fmt = _("Minggu %(d)s")
    title_fmt = _("%(opd)s: informasi terbit per minggu, target %(n)d")
    labels = {tz: [week_fmt % {"d": d.strftime("%d/%m")} for d in days]
              for tz, (days, _instants) in zones.items()}
    rows = {
        o.id: OversightRow(o.id, o.name, o.parent_id, names.get(o.parent_id or 0, ""),
                           o.timezone, zones[o.timezone][0], [0] * CHART_WEEKS,
                           labels[o.timezone],
                           title_fmt % {"opd": o.name, "n": WEEKLY_TARGET})
        for o in opds
    }

    # posts: an item counts once, in the week of its first publication (as on the dashboard)
    posts = s.execute(
        select(Publication.opd_id, Publication.item_id, func.min(Publication.published_at))
        .where(Publication.published_at >= since)
        .group_by(Publication.opd_id, Publication.item_id))
    for opd_id, _item_id, published_at in posts:
        row = rows.get(opd_id)
        if row is None or published_at is None:
            continue
        index = bisect_right(zones[row.timezone][1], published_at) - 1
        if index >= 0:
            row.weeks[index] += 1

    channels = list(s.execute(select(Channel.id, Channel.opd_id, Channel.name, Channel.status,
                                     Channel.credential_expires_at).order_by(Channel.name)))
    channel_names = {c.id: c.name for c in channels}
    per_channel = s.execute(
        select(Publication.opd_id, Publication.channel_id, func.count())
        .where(Publication.published_at >= zones_start(zones, since))
        .group_by(Publication.opd_id, Publication.channel_id))
    for opd_id, channel_id, count in per_channel:
        if opd_id in rows:
            rows[opd_id].per_channel.append((channel_names.get(channel_id, "?"), count))
    for row in rows.values():
        row.per_channel.sort(key=lambda pair: (-pair[1], pair[0]))

    awaiting = s.execute(
        select(Item.opd_id, func.count(), func.min(Item.submitted_at))
        .where(Item.status == ItemStatus.SUBMITTED).group_by(Item.opd_id))
    for opd_id, count, oldest in awaiting:
        if opd_id in rows:
            rows[opd_id].awaiting = count
            rows[opd_id].oldest_submitted = oldest
            rows[opd_id].oldest_age = now - oldest if oldest else None

    # one query per status: equality lets the (status, due_at) index drive (see dashboard)
    for status in (PublicationStatus.FAILED, PublicationStatus.HELD):
        for opd_id, count in s.execute(
                select(Publication.opd_id, func.count()).where(Publication.status == status)
                .group_by(Publication.opd_id)):
            if opd_id in rows:
                rows[opd_id].failed += count

    warn = now + EXPIRY_WARNING
    for c in channels:
        reauth = c.status == ChannelStatus.NEEDS_REAUTH
        expiring = c.credential_expires_at is not None and c.credential_expires_at < warn
        if (reauth or expiring) and c.opd_id in rows:
            rows[c.opd_id].channel_issues.append(
                ChannelIssue(c.name, reauth, c.credential_expires_at))

    stale = s.execute(
        select(Item.opd_id, func.count(Item.id))
        .where(Item.category == Category.BERKALA, Item.status == ItemStatus.APPROVED,
               Item.updated_at < now - STALE_AFTER)
        .group_by(Item.opd_id))
    for opd_id, count in stale:
        if opd_id in rows:
            rows[opd_id].stale = count

    last = s.execute(
        select(Publication.opd_id, func.max(Publication.published_at))
        .where(Publication.published_at.is_not(None)).group_by(Publication.opd_id))
    for opd_id, published_at in last:
        if opd_id in rows:
            rows[opd_id].last_published = published_at
    return list(rows.values())


def zones_start(zones: dict[str, tuple[list[date], list[datetime]]], default: datetime) -> Any:
    """The earliest week start of every zone (the 8-week window of the channel counts)."""
    starts = [instants[0] for _days, instants in zones.values()]
    return min(starts) if starts else default


@dataclass
class Query:
    """The page's sort and filters, read defensively from the query string."""

    sort: str
    descending: bool
    q: str
    problems_only: bool
    parent: int | None

    @classmethod
    def read(cls) -> Query:
        """From ``request.args``; anything odd falls back to the default."""
        sort = request.args.get("urut", "")
        sort = sort if sort in SORTS else DEFAULT_SORT
        descending = request.args.get("arah", "") == "desc"
        q = request.args.get("q", "").strip()[:MAX_QUERY]
        return cls(sort, descending, q, request.args.get("masalah", "") in ("1", "on"),
                   arg_int("induk"))

    def args(self, **changes: Any) -> dict[str, str]:
        """The query string of this view (with ``changes``)."""
        values = {"urut": self.sort, "arah": "desc" if self.descending else "asc",
                  "q": self.q, "masalah": "1" if self.problems_only else "",
                  "induk": str(self.parent or "")}
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}

    def url(self, path: str, **changes: Any) -> str:
        """``path`` with this view's query string."""
        query = urlencode(self.args(**changes))
        return f"{path}?{query}" if query else path

    def sort_url(self, path: str, column: str) -> str:
        """The link of a column header: sort by it, or flip the direction if it already is."""
        if column == self.sort:
            return self.url(path, arah="asc" if self.descending else "desc")
        return self.url(path, urut=column, arah="asc" if column in ("nama", "induk") else "desc")

    def aria_sort(self, column: str) -> str:
        """``aria-sort`` of a column header."""
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


def _apply(rows: list[OversightRow], query: Query) -> list[OversightRow]:
    every = rows
    if query.q:
        needle = query.q.casefold()
        rows = [r for r in rows if needle in r.name.casefold()]
    if query.problems_only:
        rows = [r for r in rows if r.problems]
    if query.parent is not None:
        under = _descendants(every, query.parent)
        rows = [r for r in rows if r.opd_id in under]
    key = SORTS[query.sort]
    rows.sort(key=SORTS["nama"])  # ties keep name order whichever way the sort goes
    rows.sort(key=key, reverse=query.descending)
    return rows


def _load() -> tuple[list[OversightRow], Query, list[OversightRow]]:
    """The shown rows, the query and every row (403 unless admin or auditor)."""
    if not principal().sees_everything:
        abort(403)
    every = build_rows(session_())
    query = Query.read()
    return _apply(list(every), query), query, every


@bp.get("/pengawasan")
def index() -> str:
    """The oversight table."""
    rows, query, every = _load()
    with_children = {r.parent_id for r in every if r.parent_id}
    parents = sorted((r for r in every if r.opd_id in with_children), key=SORTS["nama"])
    page_path = url_for("ui_oversight.index")
    columns = [
        ("nama", _("OPD / desa")), ("minggu", _("Minggu ini")),
        ("delapan", _("8 minggu")), ("menunggu", _("Menunggu persetujuan")),
        ("gagal", _("Gagal/ditahan")), ("saluran", _("Saluran")),
        ("usang", _("Berkala usang")), ("terakhir", _("Terbit terakhir")),
        ("masalah", _("Masalah")),
    ]
    return render_template(
        "ui/oversight.html", rows=rows, query=query, parents=parents, columns=columns,
        target=WEEKLY_TARGET, weeks=CHART_WEEKS, age_text=age_text,
        problem_count=sum(1 for r in rows if r.problems),
        meeting=sum(1 for r in rows if r.meets_target),
        csv_url=query.url(url_for("ui_oversight.download")), page_path=page_path,
        total=len(every), problem_labels={k: str(v) for k, v in PROBLEM_LABELS.items()},
        by_problem=problem_counter(rows), dashboard_url=url_for("ui_dashboard.index"),
        queue_url=url_for("ui_queue.index"), approvals_url=url_for("ui_approvals.index"),
    )


def csv_header() -> list[str]:
    """The CSV's header row."""
    return [
        _("OPD / desa"), _("Induk"), _("Zona"), _("Minggu ini"), _("Target per minggu"),
        _("Memenuhi target"),
        *[_("Minggu ke-%(n)d", n=i) for i in range(1, CHART_WEEKS + 1)],
        _("Per saluran (8 minggu)"), _("Menunggu persetujuan"), _("Tertua menunggu (jam)"),
        _("Gagal/ditahan"), _("Saluran perlu perhatian"), _("Berkala usang"),
        _("Terbit terakhir"), _("Masalah"),
    ]


def csv_row(row: OversightRow) -> list[Any]:
    """One CSV row (the week columns oldest first, the last being this week)."""
    hours = int(row.oldest_age.total_seconds() // 3600) if row.oldest_age else ""
    return [
        row.name, row.parent_name, zone_label(row.timezone), row.this_week, WEEKLY_TARGET,
        _("ya") if row.meets_target else _("tidak"), *row.weeks, row.channel_text(),
        row.awaiting, hours, row.failed, row.issue_text(), row.stale, row.last_text(),
        "; ".join(row.problem_labels()),
    ]


@bp.get("/pengawasan.csv")
def download() -> Response:
    """The same rows as CSV (UTF-8 with BOM, header row first)."""
    rows, _query, _every = _load()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header())
    for row in rows:
        writer.writerow([csv_safe(v) for v in csv_row(row)])
    stamp = utcnow().strftime("%Y%m%d")
    return Response(buffer.getvalue().encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="pengawasan-{stamp}.csv"'})


def problem_counter(rows: Iterable[OversightRow]) -> Counter[str]:
    """How many rows have each problem."""
    return Counter(p for r in rows for p in r.problems)
