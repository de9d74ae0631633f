"""The periodic notification checks and the escalations to the PPID Utama (run hourly).

Each check finds what stands now and notifies about it with a stable event key, so running
it again (the next hour, or on another worker at the same moment) adds nothing:

* ``token_expiring``: a Meta channel's token expires within 7 days → the OPD's approvers and
  editors, once per channel and expiry date;
* ``berkala_overdue``: a berkala item not updated for six months (as on the dashboard and the
  oversight page) → the OPD's approvers and editors, once per item and due date;
* ``dik_review_due`` / ``dik_ending``: a DIK entry in force whose review is due
  (:func:`publisher.services.dik.reviews_due`) or whose period ends within 14 days → the
  OPD's approvers, once per entry and date;
* ``cadence_below_target``: from Monday (the Pemda's zone), each OPD with fewer than the
  Monev target of own posts in the previous ISO week → its approvers, once per OPD and week;
* the escalations to the PPID Utama (:mod:`publisher.notify.escalation`): berkala overdue by
  more than N days, an item awaiting approval more than N hours, a channel held more than N
  hours. Each fires once per (rule, subject): the ``escalation_sent`` row is inserted with
  ON CONFLICT DO NOTHING, and only the worker whose insert wrote it notifies and audits
  (``escalation.sent``), all in one transaction.

Each check runs in its own write transaction (short: the SQLite write lock and PostgreSQL's
audit head are not held for the whole run). Dates in texts are in the OPD's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..access import Principal
from ..db import insert_for
from ..models import (
    AuditEvent,
    Category,
    Channel,
    ChannelStatus,
    DikEntry,
    DikStatus,
    DikVersion,
    EscalationSent,
    Item,
    ItemStatus,
    Opd,
    Publication,
    Role,
)
from ..monev import TARGET_PER_WEEK
from ..runtime import Runtime
from ..services.dik import reviews_due, with_approved_version
from ..timeutil import to_local, utcnow
from ..ui.dashboard import STALE_AFTER
from . import escalation
from .outbox import notify
from .recipients import People, ppid_utama

log = logging.getLogger(__name__)

#: A Meta token expiring within this is announced.
TOKEN_WARNING = timedelta(days=7)
#: Channel kinds whose credential is a Meta token with an expiry.
META_KINDS = ("facebook", "instagram")
#: A DIK period ending within this many days is announced.
DIK_ENDING_DAYS = 14
#: How often the job runs (seconds).
JOB_SECONDS = 3600.0

_EDITORS = (Role.APPROVER, Role.EDITOR)
_APPROVERS = (Role.APPROVER,)

#: Reads every OPD (for :func:`reviews_due`, which scopes by a principal).
_WATCHER = Principal(0, "notify-watch", "notify-watch", "", "",
                     {Role.AUDITOR.value: frozenset({None})})


@dataclass
class WatchResult:
    """What one run wrote: notification rows per kind, and the escalations fired."""

    notified: dict[str, int] = field(default_factory=dict)
    escalations: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, rows: int) -> None:
        if rows:
            self.notified[kind] = self.notified.get(kind, 0) + rows


def run(runtime: Runtime, worker_id: str, now: datetime | None = None) -> WatchResult:
    """Every check once; safe to run on many workers at the same time."""
    moment = now or utcnow()
    result = WatchResult()
    checks: list[tuple[str, Callable[[Session, datetime, WatchResult], None]]] = [
        ("token_expiring", _token_expiring),
        ("berkala_overdue", _berkala_overdue),
        ("dik_review_due", _dik_review_due),
        ("dik_ending", _dik_ending),
        ("cadence_below_target",
         lambda s, m, r: _cadence(s, m, r, runtime.settings.timezone)),
    ]
    for _name, check in checks:
        with runtime.db.write() as session:
            check(session, moment, result)
    with runtime.db.read() as session:
        rules = escalation.load(session)
    actor = audit.Actor.worker(worker_id)
    for rule_name, finder in ((escalation.BERKALA_OVERDUE_DAYS, _overdue_escalations),
                              (escalation.APPROVAL_WAIT_HOURS, _approval_escalations),
                              (escalation.CHANNEL_HELD_HOURS, _channel_escalations)):
        rule = rules[rule_name]
        if not rule.enabled:
            continue
        with runtime.db.write() as session:
            _escalate(session, rule, finder(session, moment, rule.threshold), actor, moment,
                      result)
    return result


# --- the notifications -----------------------------------------------------------------------


def _local_day(moment: datetime, tz: str) -> date:
    return to_local(moment, tz).date()


def _token_expiring(s: Session, now: datetime, result: WatchResult) -> None:
    people = People(s)
    rows = s.execute(
        select(Channel.id, Channel.opd_id, Channel.name, Channel.credential_expires_at,
               Opd.name.label("opd"), Opd.timezone)
        .join(Opd, Opd.id == Channel.opd_id)
        .where(Channel.kind.in_(META_KINDS), Channel.credential_expires_at.is_not(None),
               Channel.credential_expires_at >= now,
               Channel.credential_expires_at < now + TOKEN_WARNING)
        .order_by(Channel.id)).all()
    for row in rows:
        expires = _local_day(row.credential_expires_at, row.timezone)
        result.add("token_expiring", notify(
            s, "token_expiring", people(row.opd_id, _EDITORS),
            event_key=f"channel-{row.id}-expires-{expires.isoformat()}",
            context={"channel": row.name, "opd": row.opd, "expires": expires},
            link=f"/admin/saluran/{row.id}", opd_id=row.opd_id))


@dataclass(frozen=True)
class _Overdue:
    item_id: int
    opd_id: int
    title: str
    opd: str
    due: date
    days: int  # days past ``due`` (in the OPD's zone)


def overdue_berkala(s: Session, now: datetime) -> list[_Overdue]:
    """Berkala items not updated for six months — the dashboard's and the oversight page's
    "berkala usang" — each with its due date (last update + six months, in its OPD's zone)."""
    rows = s.execute(
        select(Item.id, Item.opd_id, Item.title, Item.updated_at, Opd.name, Opd.timezone)
        .join(Opd, Opd.id == Item.opd_id)
        .where(Item.category == Category.BERKALA, Item.status == ItemStatus.APPROVED,
               Item.updated_at < now - STALE_AFTER)
        .order_by(Item.id)).all()
    found = []
    for item_id, opd_id, title, updated_at, opd_name, tz in rows:
        due = _local_day(updated_at + STALE_AFTER, tz)
        found.append(_Overdue(item_id, opd_id, title, opd_name, due,
                              (_local_day(now, tz) - due).days))
    return found


def _berkala_overdue(s: Session, now: datetime, result: WatchResult) -> None:
    people = People(s)
    for row in overdue_berkala(s, now):
        result.add("berkala_overdue", notify(
            s, "berkala_overdue", people(row.opd_id, _EDITORS),
            event_key=f"item-{row.item_id}-due-{row.due.isoformat()}",
            context={"title": row.title, "opd": row.opd, "due": row.due},
            link=f"/admin/informasi/{row.item_id}", opd_id=row.opd_id, item_id=row.item_id))


def _dik_review_due(s: Session, now: datetime, result: WatchResult) -> None:
    people = People(s)
    opds = dict(s.execute(select(Opd.id, Opd.name)).all())
    # The Pemda-wide list of :func:`reviews_due` (within 10 working days); its "today" is the
    # UTC day, as on the DIK pages.
    for due in reviews_due(s, _WATCHER, today=now.date()):
        entry, version = due.entry, due.version
        assert version.review_date is not None  # reviews_due only lists dated entries
        result.add("dik_review_due", notify(
            s, "dik_review_due", people(entry.opd_id, _APPROVERS),
            event_key=f"dik-{entry.id}-review-{version.review_date.isoformat()}",
            context={"title": version.title, "opd": opds.get(entry.opd_id, ""),
                     "date": version.review_date},
            link=f"/admin/dik/{entry.id}", opd_id=entry.opd_id))


def _dik_ending(s: Session, now: datetime, result: WatchResult) -> None:
    people = People(s)
    latest = now.date() + timedelta(days=DIK_ENDING_DAYS + 1)  # any zone's "today + 14"
    rows = s.execute(
        with_approved_version().add_columns(Opd.name, Opd.timezone)
        .join(Opd, Opd.id == DikEntry.opd_id)
        .where(DikEntry.status == DikStatus.IN_FORCE, DikVersion.period_end.is_not(None),
               DikVersion.period_end <= latest)
        .order_by(DikEntry.id)).all()
    for entry, version, opd_name, tz in rows:
        end = version.period_end
        today = _local_day(now, tz)
        if end is None or not today <= end <= today + timedelta(days=DIK_ENDING_DAYS):
            continue  # already over (the daily expiry ends it), or not yet within 14 days
        result.add("dik_ending", notify(
            s, "dik_ending", people(entry.opd_id, _APPROVERS),
            event_key=f"dik-{entry.id}-ending-{end.isoformat()}",
            context={"title": version.title, "opd": opd_name, "date": end},
            link=f"/admin/dik/{entry.id}", opd_id=entry.opd_id))


def previous_week(now: datetime, pemda_tz: str) -> date:
    """The Monday of the ISO week before the current one in the Pemda's zone."""
    today = _local_day(now, pemda_tz)
    return today - timedelta(days=today.weekday() + 7)


def _cadence(s: Session, now: datetime, result: WatchResult, pemda_tz: str) -> None:
    monday = previous_week(now, pemda_tz)
    iso = monday.isocalendar()
    opds = s.execute(select(Opd.id, Opd.name, Opd.timezone, Opd.created_at)
                     .order_by(Opd.id)).all()
    bounds: dict[str, tuple[datetime, datetime]] = {}
    for tz in {o.timezone for o in opds}:
        zone = ZoneInfo(tz)
        bounds[tz] = (datetime.combine(monday, time(), zone),
                      datetime.combine(monday + timedelta(days=7), time(), zone))
    if not bounds:
        return
    lo = min(b[0] for b in bounds.values())
    hi = max(b[1] for b in bounds.values())
    # As the oversight page counts: an item is one post, in the week it was first published.
    firsts: dict[int, list[datetime]] = {}
    for opd_id, _item_id, first in s.execute(
            select(Publication.opd_id, Publication.item_id, func.min(Publication.published_at))
            .where(Publication.published_at >= lo, Publication.published_at < hi)
            .group_by(Publication.opd_id, Publication.item_id)):
        if first is not None:
            firsts.setdefault(opd_id, []).append(first)
    people = People(s)
    for opd in opds:
        start, end = bounds[opd.timezone]
        if now < end or opd.created_at >= end:
            continue  # the week is not over in the OPD's zone yet, or the OPD is newer
        count = sum(1 for first in firsts.get(opd.id, ()) if start <= first < end)
        if count >= TARGET_PER_WEEK:
            continue
        result.add("cadence_below_target", notify(
            s, "cadence_below_target", people(opd.id, _APPROVERS),
            event_key=f"opd-{opd.id}-week-{iso.year}-W{iso.week:02d}",
            context={"opd": opd.name, "count": count, "target": TARGET_PER_WEEK,
                     "week": monday},
            link="/admin/", opd_id=opd.id))


# --- the escalations -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Escalation:
    """One subject a rule escalates: its key, the kind to send and what the text needs."""

    subject_key: str
    kind: str
    opd_id: int
    context: dict[str, Any]
    link: str
    tz: str
    item_id: int | None = None
    channel_id: int | None = None
    channel_kind: str = ""


def _overdue_escalations(s: Session, now: datetime, days: int) -> list[_Escalation]:
    zones = dict(s.execute(select(Opd.id, Opd.timezone)).all())
    return [
        _Escalation(f"item-{row.item_id}-due-{row.due.isoformat()}", "escalated_berkala",
                    row.opd_id, {"title": row.title, "opd": row.opd, "days": row.days,
                                 "due": row.due},
                    f"/admin/informasi/{row.item_id}", zones.get(row.opd_id, "Asia/Jakarta"),
                    item_id=row.item_id)
        for row in overdue_berkala(s, now) if row.days > days
    ]


def _approval_escalations(s: Session, now: datetime, hours: int) -> list[_Escalation]:
    rows = s.execute(
        select(Item.id, Item.opd_id, Item.title, Item.submitted_at, Opd.name, Opd.timezone)
        .join(Opd, Opd.id == Item.opd_id)
        .where(Item.status == ItemStatus.SUBMITTED, Item.submitted_at.is_not(None),
               Item.submitted_at < now - timedelta(hours=hours))
        .order_by(Item.id)).all()
    return [
        _Escalation(f"item-{item_id}-submitted-{submitted_at.isoformat()}",
                    "escalated_approval", opd_id,
                    {"title": title, "opd": opd_name,
                     "hours": int((now - submitted_at).total_seconds() // 3600)},
                    f"/admin/informasi/{item_id}", tz, item_id=item_id)
        for item_id, opd_id, title, submitted_at, opd_name, tz in rows
        if submitted_at is not None  # filtered in the query
    ]


def _held_since(s: Session, channels: Iterable[Any]) -> dict[int, datetime]:
    """When each held channel was moved to needs_reauth: its latest ``channel.needs_reauth``
    audit event (the queue and the health check both write one); the channel's own
    ``updated_at`` when there is none (it also moves with any other change to the row)."""
    rows = list(channels)
    found = {c.id: c.updated_at for c in rows}
    if not rows:
        return found
    events = s.execute(
        select(AuditEvent.channel_id, func.max(AuditEvent.at))
        .where(AuditEvent.opd_id.in_(sorted({c.opd_id for c in rows})),
               AuditEvent.action == "channel.needs_reauth",
               AuditEvent.channel_id.in_(sorted(found)))
        .group_by(AuditEvent.channel_id))
    for channel_id, at in events:
        if channel_id in found and at is not None:
            found[channel_id] = at
    return found


def _channel_escalations(s: Session, now: datetime, hours: int) -> list[_Escalation]:
    rows = s.execute(
        select(Channel.id, Channel.opd_id, Channel.name, Channel.kind, Channel.status_detail,
               Channel.updated_at, Opd.name.label("opd"), Opd.timezone)
        .join(Opd, Opd.id == Channel.opd_id)
        .where(Channel.status == ChannelStatus.NEEDS_REAUTH)
        .order_by(Channel.id)).all()
    since = _held_since(s, rows)
    limit = timedelta(hours=hours)
    found = []
    for row in rows:
        held_at = since[row.id]
        if now - held_at <= limit:
            continue
        found.append(_Escalation(
            f"channel-{row.id}-held-{held_at.isoformat()}", "escalated_channel", row.opd_id,
            {"channel": row.name, "opd": row.opd,
             "hours": int((now - held_at).total_seconds() // 3600),
             "error": row.status_detail or "-"},
            f"/admin/saluran/{row.id}", row.timezone, channel_id=row.id,
            channel_kind=row.kind))
    return found


def _claim(s: Session, rule: str, subject_key: str, opd_id: int, now: datetime) -> bool:
    """Insert the rule's ``escalation_sent`` row; False when it was already there (another
    run or worker fired it; on PostgreSQL a concurrent insert is waited for)."""
    statement = insert_for(s, EscalationSent).values(
        rule=rule, subject_key=subject_key[:200], opd_id=opd_id, fired_at=now
    ).on_conflict_do_nothing(index_elements=["rule", "subject_key"]).returning(
        EscalationSent.id)
    return s.connection().execute(statement).first() is not None


def _escalate(s: Session, rule: escalation.Rule, found: list[_Escalation],
              actor: audit.Actor, now: datetime, result: WatchResult) -> None:
    if not found:
        return
    admins = ppid_utama(s)
    if not admins:  # kept for when there is one: an escalation to nobody would be lost
        log.warning("%d escalation(s) for rule %s wait: no active PPID Utama (admin)",
                    len(found), rule.name)
        return
    already = set(s.scalars(select(EscalationSent.subject_key).where(
        EscalationSent.rule == rule.name,
        EscalationSent.subject_key.in_([e.subject_key[:200] for e in found]))))
    events = []
    for esc in found:
        if esc.subject_key[:200] in already or not _claim(s, rule.name, esc.subject_key,
                                                           esc.opd_id, now):
            continue
        rows = notify(s, esc.kind, admins, event_key=f"{rule.name}-{esc.subject_key}",
                      context=esc.context, link=esc.link, opd_id=esc.opd_id,
                      item_id=esc.item_id)
        result.add(esc.kind, rows)
        result.escalations.append((rule.name, esc.subject_key))
        events.append(audit.make_event(
            actor, "escalation.sent", tz_name=esc.tz, at=now, opd_id=esc.opd_id,
            item_id=esc.item_id, channel_id=esc.channel_id, channel_kind=esc.channel_kind,
            result="sent", detail={
                "rule": rule.name, "threshold": rule.threshold, "subject": esc.subject_key,
                "kind": esc.kind, "recipients": admins,
                **{k: v.isoformat() if isinstance(v, date) else v
                   for k, v in esc.context.items() if k != "error"}}))
    audit.append(s, events)
    if events:
        log.info("%d escalation(s) sent for rule %s", len(events), rule.name)
