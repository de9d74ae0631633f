"""Store what happened to claimed publications: receipts first, each batch in its own commit.

Every write is fenced: it applies only where the row is still ``sending`` under this claim's
fencing token (a lease that ran out and was swept, or taken over by another worker, is not
overwritten). Audit events and notifications follow the rows an UPDATE actually changed
(``RETURNING``, or SQLite's change count), so the log holds exactly the changes that
happened, never an outcome that was discarded.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.exc import DBAPIError

from .. import audit
from ..channels.base import Processing, Receipt
from ..db import Database
from ..models import Channel, ChannelStatus
from ..notify.queue_events import record_events
from . import rawsql
from .claim import Claimed
from .retry import Decision

log = logging.getLogger(__name__)

# Straight to the driver: these run for every publication sent (see rawsql). Each applies only
# under this claim's fencing token. Plain comparisons only, so SQLite evaluates the claim
# index's predicate in place.
_PUBLISHED = (
    "UPDATE publication SET status = 'published', remote_id = {p}, url = {p}, "
    "published_at = {p}, sent_hash = {p}, lease_until = NULL, claimed_by = NULL, "
    "needs_reconcile = FALSE, processing_state = NULL, last_error = NULL, error_kind = NULL, "
    "updated_at = {p} WHERE id = {p} AND status = 'sending' AND fence = {p}"
)
_PROCESSING = (
    "UPDATE publication SET status = 'processing', processing_state = {p}, due_at = {p}, "
    "needs_reconcile = {p}, lease_until = NULL, claimed_by = NULL, updated_at = {p} "
    "WHERE id = {p} AND status = 'sending' AND fence = {p}"
)
_FAILED = (
    "UPDATE publication SET status = {p}, due_at = {p}, error_kind = {p}, last_error = {p}, "
    "needs_reconcile = {p}, attempts = attempts + {p}, lease_until = NULL, claimed_by = NULL, "
    "updated_at = {p} WHERE id = {p} AND status = 'sending' AND fence = {p}"
)

#: Tries of a record transaction that the database refused (a lock timeout, a connection the
#: server closed while this process was paused) before the error is raised.
RECORD_TRIES = 4


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
    #: A reconciliation is still owed after this attempt (for a Processing outcome).
    needs_reconcile: bool = False
    #: The claim was lost before sending (its fencing token is no longer current): nothing
    #: was sent and nothing is written.
    dropped: bool = False

    @property
    def attempt(self) -> int:
        """The number of this attempt (failed attempts before it, plus one)."""
        return self.claimed.attempts + 1


def record(db: Database, worker_id: str, outcomes: list[Outcome], now: datetime) -> None:
    """Write a batch of outcomes and their audit events in a transaction of their own,
    trying again when the database refused the transaction (nothing of it was applied)."""
    if not outcomes:
        return
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with db.write_conn() as conn:
                audit.append(conn, write_outcomes(conn, worker_id, outcomes, now))
            return
        except DBAPIError as exc:
            if attempt == RECORD_TRIES:
                raise
            log.warning("recording %d outcomes failed (%s); trying again", len(outcomes),
                        type(exc.orig).__name__)
            time.sleep(0.05 * 2 ** attempt)


def write_outcomes(
    conn: Connection, worker_id: str, outcomes: list[Outcome], now: datetime
) -> list[dict[str, Any]]:
    """Write outcomes (and their notifications) inside the caller's write transaction; returns
    the audit events of the changes that were applied, for the caller to append last."""
    outcomes = [o for o in outcomes if not o.dropped]
    if not outcomes:
        return []
    actor = audit.Actor.worker(worker_id)
    stamp = rawsql.db_datetime(conn, now)
    published = [o for o in outcomes if o.receipt is not None]
    processing = [o for o in outcomes if o.receipt is None and o.processing is not None]
    failed = [o for o in outcomes if o.receipt is None and o.processing is None]
    done = [published[i] for i in rawsql.changed(conn, _PUBLISHED, [
        (o.receipt.remote_id, o.receipt.url,  # type: ignore[union-attr]
         rawsql.db_datetime(conn, o.receipt.published_at  # type: ignore[union-attr]
                            or o.answered_at or now),
         o.content_hash, stamp, o.claimed.id, o.claimed.fence)
        for o in published
    ])]
    done += [processing[i] for i in rawsql.changed(conn, _PROCESSING, [
        (rawsql.db_json(o.processing.state),  # type: ignore[union-attr]
         rawsql.db_datetime(conn, now + timedelta(
             seconds=o.processing.check_after)),  # type: ignore[union-attr]
         o.needs_reconcile, stamp, o.claimed.id, o.claimed.fence)
        for o in processing
    ])]
    decisions = [(o, o.decision) for o in failed if o.decision is not None]
    done += [decisions[i][0] for i in rawsql.changed(conn, _FAILED, [
        (d.status, rawsql.db_datetime(conn, d.due_at or o.claimed.due_at), d.error_kind,
         d.message, d.needs_reconcile, 1 if d.consumes_attempt else 0, stamp, o.claimed.id,
         o.claimed.fence)
        for o, d in decisions
    ])]
    if len(done) < len(outcomes):
        log.info("%d outcome(s) not applied: their claim was taken over",
                 len(outcomes) - len(done))
    events = [_event(actor, o, now) for o in done]
    held = _hold_channels(conn, done, now)
    for channel_id, message in held:
        fields = next(o for o in done if o.claimed.channel["id"] == channel_id
                      ).claimed.audit_fields()
        events.append(audit.make_event(
            actor, "channel.needs_reauth", at=now, result=ChannelStatus.NEEDS_REAUTH,
            error=message, tz_name=fields["tz_name"], opd_id=fields["opd_id"],
            channel_id=channel_id, channel_kind=fields["channel_kind"],
        ))
    record_events(conn, done, held, now)
    return events


def _event(actor: audit.Actor, o: Outcome, now: datetime) -> dict[str, Any]:
    """The audit event of one applied outcome."""
    fields = o.claimed.audit_fields()
    if o.receipt is not None:
        return audit.make_event(
            actor, "publication.reconciled" if o.reconciled else "publication.published",
            at=now, result="published",
            detail={"remote_id": o.receipt.remote_id, "url": o.receipt.url,
                    "attempt": o.attempt, **o.detail},
            **fields,
        )
    if o.processing is not None:
        return audit.make_event(
            actor, "publication.processing", at=now, result="processing",
            detail={"check_after_s": o.processing.check_after, **o.detail}, **fields,
        )
    d = o.decision
    assert d is not None
    return audit.make_event(
        actor, f"publication.{d.status}", at=now, result=d.status, error=d.message,
        detail={"attempt": o.attempt, "error_kind": d.error_kind,
                "counted": d.consumes_attempt, "reconcile_owed": d.needs_reconcile,
                "next_try": d.due_at.isoformat() if d.due_at else None, **o.detail},
        **fields,
    )


def _hold_channels(conn: Connection, done: list[Outcome], now: datetime) -> list[tuple[int, str]]:
    """Move channels whose credentials were refused to needs_reauth, with their health saying
    so at once; returns (channel id, message) of those this batch changed."""
    reauth: dict[int, str] = {}
    for o in done:
        d = o.decision
        if o.receipt is None and d is not None and d.channel_status == ChannelStatus.NEEDS_REAUTH:
            reauth.setdefault(o.claimed.channel["id"], d.message)
    held = []
    for channel_id, message in reauth.items():
        changed = conn.execute(
            update(Channel)
            .where(Channel.id == channel_id, Channel.status == ChannelStatus.ACTIVE)
            .values(status=ChannelStatus.NEEDS_REAUTH, status_detail=message,
                    health_ok=False, health_detail=message, health_checked_at=now,
                    updated_at=now)
        ).rowcount
        if changed:
            held.append((channel_id, message))
    return held
