"""Fencing: a send starts only while the claim is still this worker's, with lease to spare.

A worker paused longer than its lease (a long GC, a frozen VM, swap) finds on waking that
another worker swept the lease, reconciled and sent. Each claim carries a fencing token (the
lease generation, ``publication.fence``); right before the request that creates the post
(``Payload.before_write``) the sender re-asserts it in the database with one conditional
UPDATE that also renews the lease, so the write then has the whole lease ahead of it. A claim
that lost its token, or whose lease is about to run out, raises ClaimLost: nothing is sent
and nothing is written, for the row belongs to whoever holds the token now.

What remains is the gap between this check and the request leaving the machine (well under a
millisecond): a process frozen inside exactly that gap for longer than the lease can still
send late. No platform here accepts a fencing token to close it (see docs/reliability.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from ..channels.base import ClaimLost
from ..db import Database
from ..timeutil import utcnow
from . import rawsql
from .claim import Claimed

log = logging.getLogger(__name__)

_RENEW = (
    "UPDATE publication SET lease_until = {p} "
    "WHERE id = {p} AND status = 'sending' AND fence = {p} AND lease_until > {p}"
)


def margin(lease_seconds: float) -> timedelta:
    """Lease that must be left for a send to start: room for clock differences between
    workers (another worker's sweep compares the lease with its own clock)."""
    return timedelta(seconds=min(5.0, lease_seconds / 4))


def still_ours(db: Database, c: Claimed, lease_seconds: float, now: datetime) -> bool:
    """Renew ``c``'s lease if its token is current and enough of the lease is left; False
    (and nothing written) otherwise, or when the database cannot say."""
    try:
        with db.single_statement() as conn:
            renewed = rawsql.changed(conn, _RENEW, [(
                rawsql.db_datetime(conn, now + timedelta(seconds=lease_seconds)), c.id,
                c.fence, rawsql.db_datetime(conn, now + margin(lease_seconds)),
            )])
    except Exception:  # no answer is no permission: the sweep brings the row back
        log.warning("publication %s: claim could not be confirmed; not sent", c.id,
                    exc_info=True)
        return False
    if not renewed:
        log.warning("publication %s: claim (token %s) was taken over or ran out; not sent",
                    c.id, c.fence)
    return bool(renewed)


def guard(db: Database, c: Claimed, lease_seconds: float) -> Callable[[], None]:
    """The check a payload runs right before its write: raises ClaimLost unless
    :func:`still_ours` renews the claim."""

    def check() -> None:
        if not still_ours(db, c, lease_seconds, utcnow()):
            raise ClaimLost(f"publication {c.id}: claim {c.fence} no longer held")

    return check
