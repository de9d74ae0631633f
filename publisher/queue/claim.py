"""Claim due publications with a lease, in one statement per batch.

PostgreSQL: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``, so any
number of workers take disjoint batches. SQLite: the same statement inside a ``BEGIN
IMMEDIATE`` transaction (``Database.write_conn``), which serialises writers.

In the same transaction, right before the send, each claimed publication's item is checked
again: an item that is (or became) dikecualikan is blocked, and a channel that is paused or
needs reconnecting holds its publications. Both are audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select, text, update

from .. import audit, channels
from ..db import Database
from ..dik_rules import dik_allows
from ..models import (
    CLAIMABLE_SQL,
    Category,
    Channel,
    ChannelStatus,
    DikStatus,
    Item,
    Opd,
    Publication,
    PublicationStatus,
)
from . import rawsql


@dataclass
class Claimed:
    """A claimed publication with everything needed to render and send it, copied out."""

    id: int
    #: Failed attempts so far (this one not counted).
    attempts: int
    needs_reconcile: bool
    processing_state: dict[str, Any] | None
    due_at: datetime
    started_at: datetime | None
    item: dict[str, Any]
    opd: dict[str, Any]
    channel: dict[str, Any]
    media: list[dict[str, Any]]
    #: This claim's fencing token (the lease generation it holds).
    fence: int = 0
    #: For channels with a publishing quota: the channel's publications that will take a
    #: slot before this one (see :func:`_slots_ahead`).
    slots_ahead: int = 0

    def audit_fields(self) -> dict[str, Any]:
        """Columns every audit event about this publication carries."""
        return {
            "tz_name": self.opd["timezone"],
            "opd_id": self.opd["id"],
            "item_id": self.item["id"],
            "item_version_hash": self.item["content_hash"],
            "category": self.item["category"],
            "publication_id": self.id,
            "channel_id": self.channel["id"],
            "channel_kind": self.channel["kind"],
        }


_ITEM_COLUMNS = (
    Item.id, Item.opd_id, Item.slug, Item.title, Item.body_html, Item.summary, Item.category,
    Item.link, Item.version, Item.content_hash, Item.official_unit, Item.responsible,
    Item.made_at, Item.made_place, Item.info_formats, Item.retention, Item.created_at,
    Item.dik_entry_id, Item.dik_redacted,
)
_OPD_COLUMNS = (Opd.id, Opd.name, Opd.slug, Opd.timezone, Opd.color)
_CHANNEL_COLUMNS = (
    Channel.id, Channel.opd_id, Channel.kind, Channel.name, Channel.status, Channel.config,
    Channel.secrets_encrypted, Channel.updated_at,
)


# The claim, as in design.md: one statement per batch. Written out rather than built with the
# ORM because it runs for every batch and SQLAlchemy's per-row result processing costs more
# than the statement; the claimable predicate is CLAIMABLE_SQL word for word, so the partial
# claim index is used. On PostgreSQL the subquery skips rows other workers have locked.
_CLAIM_SQL = f"""
UPDATE publication
   SET status = 'sending', lease_until = {{p}}, claimed_by = {{p}}, fence = fence + 1,
       started_at = COALESCE(started_at, {{p}}), updated_at = {{p}}
 WHERE id IN (SELECT id FROM publication
               WHERE {CLAIMABLE_SQL} AND due_at <= {{p}}
               ORDER BY priority DESC, due_at
               LIMIT {{p}}{{lock}})
RETURNING id, item_id, channel_id, attempts, needs_reconcile, processing_state, due_at,
          started_at, fence
"""  # noqa: S608 - constant text; every value is a bound parameter


@dataclass(frozen=True)
class _ClaimRow:
    id: int
    item_id: int
    channel_id: int
    attempts: int
    needs_reconcile: bool
    processing_state: dict[str, Any] | None
    due_at: datetime
    started_at: datetime | None
    fence: int


def claim(
    db: Database, worker_id: str, limit: int, lease_seconds: float, now: datetime,
    before: Callable[[Connection], list[dict[str, Any]]] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due publications for ``worker_id``; returns those to send.

    ``before`` runs first in the same transaction and returns its audit events (the
    dispatcher records there what local channels finished in the previous round, saving a
    transaction per round). Every event is appended last, so the audit chain's head is
    locked only for the end of the transaction.
    """
    if limit <= 0 and before is None:
        return []
    with db.write_conn() as conn:
        events = before(conn) if before is not None else []
        if limit <= 0:
            audit.append(conn, events)
            return []
        lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
        stamp = rawsql.db_datetime(conn, now)
        raw = rawsql.fetch(conn, _CLAIM_SQL.replace("{lock}", lock), (
            rawsql.db_datetime(conn, now + timedelta(seconds=lease_seconds)), worker_id,
            stamp, stamp, stamp, limit,
        ))
        if not raw:
            audit.append(conn, events)
            return []
        rows = [
            _ClaimRow(r[0], r[1], r[2], r[3], bool(r[4]), rawsql.from_db_json(r[5]),
                      rawsql.from_db_datetime(r[6]),  # type: ignore[arg-type]
                      rawsql.from_db_datetime(r[7]), int(r[8]))
            for r in raw
        ]
        claimed = _load(conn, rows)
        _slots_ahead(conn, claimed, now)
        ready, gated = _gate(conn, claimed, worker_id, now)
        audit.append(conn, events + gated)
    return ready


# Publications of one channel that hold or are about to take a publishing slot: containers
# made and not yet published (a processing state), or claimed for a first send.
_SLOTS_SQL = """
SELECT id, started_at, processing_state, status
  FROM publication
 WHERE channel_id = {p}
   AND (status IN ('processing', 'retrying') OR (status = 'sending' AND lease_until > {p}))
"""


def _slots_ahead(conn: Connection, claimed: list[Claimed], now: datetime) -> None:
    """Count, for each first send to a channel with a publishing quota, the channel's
    publications ahead of it: those holding containers, and those claimed for a first send
    that started earlier (by first start, then id, one order every worker agrees on). The
    channel then reserves their slots before making containers of its own, so six sends with
    room for three make three sets of containers, not six."""
    by_channel: dict[int, list[Claimed]] = {}
    for c in claimed:
        if c.processing_state is None and _counts_slots(c.channel["kind"]):
            by_channel.setdefault(c.channel["id"], []).append(c)
    if not by_channel:
        return
    stamp = rawsql.db_datetime(conn, now)
    for channel_id, mine in by_channel.items():
        rows = [(int(r[0]), rawsql.from_db_datetime(r[1]), rawsql.from_db_json(r[2]) is not None)
                for r in rawsql.fetch(conn, _SLOTS_SQL, (channel_id, stamp))
                if r[3] == "sending" or rawsql.from_db_json(r[2]) is not None]
        for c in mine:
            order = (c.started_at or now, c.id)
            c.slots_ahead = sum(1 for pub_id, started, holding in rows if pub_id != c.id and (
                holding or (started or now, pub_id) < order))


def _counts_slots(kind: str) -> bool:
    try:
        return channels.get(kind).counts_slots
    except channels.UnknownChannelKind:
        return False  # the sender reports the unknown kind


_ITEM_NAMES = tuple(c.key for c in _ITEM_COLUMNS)
# Column names are constants; ids are bound parameters.
_ITEM_SQL = f"SELECT {', '.join(_ITEM_NAMES)} FROM item WHERE id IN ({{ids}})"  # noqa: S608


def _items(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Item rows by id, read at driver level: one claimed batch reads hundreds of them."""
    items = _rows_by_id(conn, _ITEM_SQL, _ITEM_NAMES, ids)
    for item in items.values():
        item["made_at"] = rawsql.from_db_date(item["made_at"])
        item["created_at"] = rawsql.from_db_datetime(item["created_at"])
        item["info_formats"] = rawsql.from_db_json(item["info_formats"]) or []
        item["dik_redacted"] = bool(item["dik_redacted"])
        item["dik_status"] = item["dik_conclusion"] = None
    linked = sorted({i["dik_entry_id"] for i in items.values() if i["dik_entry_id"]})
    if linked:  # the sender's check reads the DIK itself, not only the item's category
        entries = _rows_by_id(conn, _DIK_SQL, ("id", "status", "conclusion"), linked)
        for item in items.values():
            entry = entries.get(item["dik_entry_id"])
            if item["dik_entry_id"]:
                # a vanished entry blocks as one in preparation would
                item["dik_status"] = entry["status"] if entry else DikStatus.DRAFT
                item["dik_conclusion"] = entry["conclusion"] if entry else None
    return items


_DIK_SQL = "SELECT id, status, conclusion FROM dik_entry WHERE id IN ({ids})"


_OPD_NAMES = tuple(c.key for c in _OPD_COLUMNS)
_CHANNEL_NAMES = tuple(c.key for c in _CHANNEL_COLUMNS)
_MEDIA_NAMES = ("id", "item_id", "storage_key", "mime_type", "alt_text", "width", "height",
                "public_token")
# Constant column lists; ids are bound parameters.
_OPD_SQL = f"SELECT {', '.join(_OPD_NAMES)} FROM opd WHERE id IN ({{ids}})"  # noqa: S608
_CHANNEL_SQL = (
    f"SELECT {', '.join(_CHANNEL_NAMES)} FROM channel WHERE id IN ({{ids}})"  # noqa: S608
)
_MEDIA_SQL = (
    f"SELECT {', '.join(_MEDIA_NAMES)} FROM media WHERE item_id IN ({{ids}}) "  # noqa: S608
    "ORDER BY item_id, position, id"
)


def _rows_by_id(
    conn: Connection, sql: str, names: tuple[str, ...], ids: list[int]
) -> dict[int, dict[str, Any]]:
    rows = (dict(zip(names, values, strict=True)) for values in rawsql.select_in(conn, sql, ids))
    return {row["id"]: row for row in rows}


def _load(conn: Connection, rows: Sequence[Any]) -> list[Claimed]:
    item_ids = {r.item_id for r in rows}
    channel_ids = {r.channel_id for r in rows}
    items = _items(conn, sorted(item_ids))
    opd_ids = {i["opd_id"] for i in items.values()}
    opds = _rows_by_id(conn, _OPD_SQL, _OPD_NAMES, sorted(opd_ids))
    channels = _rows_by_id(conn, _CHANNEL_SQL, _CHANNEL_NAMES, sorted(channel_ids))
    for channel in channels.values():
        channel["config"] = rawsql.from_db_json(channel["config"]) or {}
        channel["updated_at"] = rawsql.from_db_datetime(channel["updated_at"])
    media: dict[int, list[dict[str, Any]]] = {}
    for values in rawsql.select_in(conn, _MEDIA_SQL, sorted(item_ids)):
        m = dict(zip(_MEDIA_NAMES, values, strict=True))
        media.setdefault(m["item_id"], []).append(m)
    out = []
    for r in rows:
        item = items[r.item_id]
        out.append(
            Claimed(
                id=r.id, attempts=r.attempts, needs_reconcile=bool(r.needs_reconcile),
                processing_state=r.processing_state, due_at=r.due_at, started_at=r.started_at,
                item=item, opd=opds[item["opd_id"]], channel=channels[r.channel_id],
                media=media.get(r.item_id, []), fence=r.fence,
            )
        )
    out.sort(key=lambda c: c.due_at)
    return out


def _gate(
    conn: Connection, claimed: list[Claimed], worker_id: str, now: datetime
) -> tuple[list[Claimed], list[dict[str, Any]]]:
    """The last check before sending: exempt items are blocked, unusable channels hold."""
    actor = audit.Actor.worker(worker_id)
    ready: list[Claimed] = []
    blocked: list[int] = []
    held: list[tuple[int, str]] = []
    events = []
    for c in claimed:
        dik_ok = dik_allows(c.item["dik_status"], c.item["dik_conclusion"],
                            c.item["dik_redacted"])
        if c.item["category"] == Category.DIKECUALIKAN or not dik_ok:
            blocked.append(c.id)
            check = {"dik_check": "dikecualikan", "attempt": c.attempts + 1}
            if c.item["dik_entry_id"]:
                check.update(dik_entry_id=c.item["dik_entry_id"], dik_status=c.item["dik_status"])
            events.append(audit.make_event(
                actor, "publication.blocked", at=now, result="blocked",
                error="Informasi dikecualikan: pengiriman diblokir", detail=check,
                **c.audit_fields(),
            ))
        elif c.channel["status"] != ChannelStatus.ACTIVE:
            reason = (
                "Saluran dijeda" if c.channel["status"] == ChannelStatus.PAUSED
                else "Saluran perlu disambungkan ulang"
            )
            held.append((c.id, reason))
            events.append(audit.make_event(
                actor, "publication.held", at=now, result="held", error=reason,
                detail={"channel_status": c.channel["status"]}, **c.audit_fields(),
            ))
        else:
            ready.append(c)
            events.append(audit.make_event(
                actor, "publication.sending", at=now, result="sending",
                detail={"attempt": c.attempts + 1, "dik_check": "lolos",
                        "reconcile_first": c.needs_reconcile,
                        "resume": c.processing_state is not None},
                **c.audit_fields(),
            ))
    if blocked:
        conn.execute(
            update(Publication)
            .where(Publication.id.in_(blocked))
            .values(status=PublicationStatus.BLOCKED, lease_until=None, claimed_by=None,
                    last_error="Informasi dikecualikan: tidak boleh dipublikasikan",
                    error_kind="blocked", updated_at=now)
        )
    for pub_id, reason in held:
        conn.execute(
            update(Publication)
            .where(and_(Publication.id == pub_id))
            .values(status=PublicationStatus.HELD, lease_until=None, claimed_by=None,
                    last_error=reason, error_kind="held", updated_at=now)
        )
    return ready, events


def next_due(db: Database) -> datetime | None:
    """When the next claimable publication is due (None: nothing waiting)."""
    with db.engine.connect() as conn:
        return conn.execute(
            select(Publication.due_at)
            .where(text(CLAIMABLE_SQL))
            .order_by(Publication.due_at)
            .limit(1)
        ).scalar()
