"""Store what happened to claimed publications: receipts first, each batch in its own commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, update

from .. import audit
from ..channels.base import Processing, Receipt
from ..db import Database
from ..models import Channel, ChannelStatus, Publication, PublicationStatus
from ..notify.queue_events import record_events
from . import rawsql
from .claim import Claimed
from .retry import Decision

#: A receipt is the truth: store it unless the row is already final (published, cancelled
#: or blocked). Runs for every publication sent, hence straight to the driver, and with
#: inequalities rather than NOT IN (SQLite builds a temporary b-tree for an IN list of three
#: or more constants every time the statement runs).
_PUBLISHED = (
    "UPDATE publication SET status = 'published', remote_id = {p}, url = {p}, "
    "published_at = {p}, sent_hash = {p}, lease_until = NULL, claimed_by = NULL, "
    "needs_reconcile = FALSE, processing_state = NULL, last_error = NULL, error_kind = NULL, "
    "updated_at = {p} WHERE id = {p} "
    "AND status <> 'published' AND status <> 'cancelled' AND status <> 'blocked'"
)


@dataclass
class Outcome:
    """The result of one attempt on one claimed publication."""

    claimed: Claimed
    receipt: Receipt | None = None
    processing: Processing | None = None
    decision: Decision | None = None
    #: True when the receipt came from reconciliation (find_existing), not a new post.
    reconciled: bool = False
    content_hash: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    #: When the platform answered: the time of publication unless the receipt has its own.
    answered_at: datetime | None = None


def record(db: Database, worker_id: str, outcomes: list[Outcome], now: datetime) -> None:
    """Write a batch of outcomes and their audit events in a transaction of their own."""
    if outcomes:
        with db.write_conn() as conn:
            write_outcomes(conn, worker_id, outcomes, now)


# An outcome is written only while this worker still holds the claim (a lease that ran out
# and was taken over by another worker must not be overwritten).
_STILL_CLAIMED = and_(
    Publication.id == bindparam("b_id"),
    Publication.status == PublicationStatus.SENDING,
    Publication.claimed_by == bindparam("b_worker"),
)


def write_outcomes(
    conn: Connection, worker_id: str, outcomes: list[Outcome], now: datetime
) -> None:
    """Write outcomes and their audit events inside the caller's write transaction."""
    if not outcomes:
        return
    actor = audit.Actor.worker(worker_id)
    published: list[dict[str, Any]] = []
    processing: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    reauth: dict[int, str] = {}
    held: list[tuple[int, str]] = []
    events = []
    for o in outcomes:
        fields = o.claimed.audit_fields()
        if o.receipt is not None:
            published.append({
                "b_id": o.claimed.id, "remote_id": o.receipt.remote_id, "url": o.receipt.url,
                "published_at": o.receipt.published_at or o.answered_at or now,
                "sent_hash": o.content_hash,
            })
            events.append(audit.make_event(
                actor, "publication.reconciled" if o.reconciled else "publication.published",
                at=now, result="published",
                detail={"remote_id": o.receipt.remote_id, "url": o.receipt.url,
                        "attempt": o.claimed.attempts, **o.detail},
                **fields,
            ))
        elif o.processing is not None:
            processing.append({
                "b_id": o.claimed.id, "b_worker": worker_id,
                "processing_state": o.processing.state,
                "due_at": now + timedelta(seconds=o.processing.check_after),
            })
            events.append(audit.make_event(
                actor, "publication.processing", at=now, result="processing",
                detail={"check_after_s": o.processing.check_after, **o.detail}, **fields,
            ))
        elif o.decision is not None:
            d = o.decision
            failed.append({
                "b_id": o.claimed.id, "b_worker": worker_id, "status": d.status,
                "due_at": d.due_at or o.claimed.due_at, "error_kind": d.error_kind,
                "last_error": d.message, "needs_reconcile": d.needs_reconcile,
                "refund": 1 if d.refund_attempt else 0,
            })
            if d.channel_status == ChannelStatus.NEEDS_REAUTH:
                reauth[o.claimed.channel["id"]] = d.message
            events.append(audit.make_event(
                actor, f"publication.{d.status}", at=now, result=d.status, error=d.message,
                detail={"attempt": o.claimed.attempts, "error_kind": d.error_kind,
                        "next_try": d.due_at.isoformat() if d.due_at else None, **o.detail},
                **fields,
            ))
    if published:
        stamp = rawsql.db_datetime(conn, now)
        rawsql.executemany(conn, _PUBLISHED, [
            (p["remote_id"], p["url"], rawsql.db_datetime(conn, p["published_at"]),
             p["sent_hash"], stamp, p["b_id"])
            for p in published
        ])
    if processing:
        conn.execute(
            update(Publication)
            .where(_STILL_CLAIMED)
            .values(
                status=PublicationStatus.PROCESSING,
                processing_state=bindparam("processing_state"), due_at=bindparam("due_at"),
                lease_until=None, claimed_by=None, updated_at=now,
            )
            .execution_options(synchronize_session=False),
            processing,
        )
    if failed:
        conn.execute(
            update(Publication)
            .where(_STILL_CLAIMED)
            .values(
                status=bindparam("status"), due_at=bindparam("due_at"),
                error_kind=bindparam("error_kind"), last_error=bindparam("last_error"),
                needs_reconcile=bindparam("needs_reconcile"),
                attempts=Publication.attempts - bindparam("refund"),
                lease_until=None, claimed_by=None, updated_at=now,
            )
            .execution_options(synchronize_session=False),
            failed,
        )
    for channel_id, message in reauth.items():
        changed = conn.execute(
            update(Channel)
            .where(Channel.id == channel_id, Channel.status == ChannelStatus.ACTIVE)
            .values(status=ChannelStatus.NEEDS_REAUTH, status_detail=message, updated_at=now)
        ).rowcount
        if changed:
            held.append((channel_id, message))
            sample = next(o for o in outcomes if o.claimed.channel["id"] == channel_id)
            fields = sample.claimed.audit_fields()
            events.append(audit.make_event(
                actor, "channel.needs_reauth", at=now, result=ChannelStatus.NEEDS_REAUTH,
                error=message, tz_name=fields["tz_name"], opd_id=fields["opd_id"],
                channel_id=channel_id, channel_kind=fields["channel_kind"],
            ))
    record_events(conn, outcomes, held, now)
    audit.append(conn, events)
