"""The dispatcher: claim due publications, render, send (in a pool for remote channels),
and record outcomes — receipts in their own commit as soon as they arrive.

No database session is open while a channel talks to the network: ``claim`` copies everything
out and commits; ``record`` opens a new transaction afterwards. Right before a remote send the
claim's fencing token is re-asserted (:mod:`.fence`); a publication that owes a
reconciliation asks the platform first, and only a completed check clears that obligation.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..channels import kinds as channel_kinds
from ..channels.base import (
    AuthError,
    Channel,
    ClaimLost,
    Payload,
    PermanentError,
    Processing,
)
from ..crypto import SecretsError
from ..payloads import make_context
from ..runtime import Runtime
from ..timeutil import utcnow
from . import fence
from .claim import Claimed, claim
from .record import Outcome, record, write_outcomes
from .senders import SenderPool
from .sweep import release

log = logging.getLogger(__name__)

#: How long to gather finished sends before recording them in one commit.
RECORD_LINGER_SECONDS = 0.025
#: How far back reconciliation looks for a post made by an earlier attempt.
RECONCILE_WINDOW = timedelta(hours=6)


class Dispatcher:
    """Drains due publications for one worker process."""

    def __init__(self, runtime: Runtime, worker_id: str, concurrency: int | None = None) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.concurrency = max(1, concurrency or runtime.settings.concurrency)
        self.batch = max(1, runtime.settings.claim_batch)
        self.senders = SenderPool(self.concurrency, name=f"send-{worker_id}")
        self.results: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.in_flight: dict[int, Claimed] = {}
        self.stopping = threading.Event()
        self._channels: dict[tuple[int, Any], Channel] = {}
        self._lock = threading.Lock()
        #: Whether the last batch held only local channels (then a whole batch may be claimed).
        self._local_only = False

    def prepare(self) -> None:
        """Start the sender threads and compile the post templates before anything is due,
        so the first burst after a worker starts is not spaced out by either."""
        self.senders.start()
        self.runtime.renderer.warm(channel_kinds())

    # --- one pass ---------------------------------------------------------------------------

    def drain(self) -> int | None:
        """Send everything due now; returns how many outcomes were recorded, or None when
        another thread of this process is already draining."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._drain()
        finally:
            self._lock.release()

    def _drain(self) -> int:
        done = 0
        # Outcomes of local channels (nothing remote to lose) are written in the transaction
        # of the next claim; receipts of remote sends get a commit of their own at once.
        local: list[Outcome] = []
        while True:
            claimed: list[Claimed] = []
            # Keep a few rounds of remote sends queued behind the senders (not more, so leases
            # do not run out while waiting), topping up in sizeable batches: every claim costs
            # a transaction. When nothing is in flight, take just one round first, so the
            # first sends start before a whole batch is claimed and audited. Local channels
            # finish inline and need no slot.
            queued = len(self.in_flight)
            if self._local_only:
                limit = self.batch
            elif not queued:
                limit = min(self.concurrency, self.batch)
            else:
                limit = min(self.concurrency * 4 - queued, self.batch)
            refill = self._local_only or queued <= self.concurrency * 2
            if refill and limit > 0 and not self.stopping.is_set():
                flushed, local = local, []
                claimed = claim(
                    self.runtime.db, self.worker_id, limit,
                    self.runtime.settings.lease_seconds, utcnow(),
                    before=self._writer(flushed) if flushed else None,
                )
                done += len(flushed)
            finished = [o for c in claimed if (o := self._start(c)) is not None]
            if claimed:
                self._local_only = not self.in_flight and len(finished) == len(claimed)
            local += finished
            remote = self._collect(wait=(not claimed and bool(self.in_flight)) or not refill)
            if remote:
                record(self.runtime.db, self.worker_id, remote, utcnow())
                done += len(remote)
            if self.stopping.is_set() or (not claimed and not self.in_flight):
                record(self.runtime.db, self.worker_id, local, utcnow())
                return done + len(local)  # on stop, sends in flight are stop()'s to finish

    def _writer(self, outcomes: list[Outcome]) -> Callable[[Connection], list[dict[str, Any]]]:
        return lambda conn: write_outcomes(conn, self.worker_id, outcomes, utcnow())

    def _start(self, c: Claimed) -> Outcome | None:
        """Render and send (inline for local channels); returns an outcome if already done."""
        try:
            channel = self._channel(c)
            ctx = make_context(c.item, c.opd, c.media, c.id, self.runtime.settings)
            payload = channel.render(ctx, self.runtime.renderer)
        except Exception as exc:  # a broken template or config must not stop the queue
            return self._failed(c, exc)
        payload.slots_ahead = c.slots_ahead
        if not channel.remote:
            return self._send(channel, payload, c)
        self.in_flight[c.id] = c
        self.senders.submit(c.id, self._deliver, channel, payload, c)
        # Let a sender whose answer has arrived take the interpreter lock now: rendering a
        # whole batch in one stretch would hold it for milliseconds, and every round trip
        # waiting meanwhile gets that much longer.
        time.sleep(0)
        return None

    def _deliver(self, channel: Channel, payload: Payload, c: Claimed) -> None:
        self.results.put(self._send(channel, payload, c))

    def _collect(self, wait: bool) -> list[Outcome]:
        """Outcomes of remote sends that finished. With ``wait``, block for the first one, then
        linger a few milliseconds so that one commit records several receipts."""
        out: list[Outcome] = []
        if wait:
            try:
                out.append(self.results.get(timeout=0.2))
            except queue.Empty:
                return out
            deadline = time.monotonic() + RECORD_LINGER_SECONDS
            while len(out) < self.batch and (left := deadline - time.monotonic()) > 0:
                try:
                    out.append(self.results.get(timeout=left))
                except queue.Empty:
                    break
        while True:
            try:
                out.append(self.results.get_nowait())
            except queue.Empty:
                break
        for o in out:
            self.in_flight.pop(o.claimed.id, None)
        return out

    # --- sending ----------------------------------------------------------------------------

    def _send(self, channel: Channel, payload: Payload, c: Claimed) -> Outcome:
        """Reconcile if owed, then resume or publish; never raises. A remote send confirms
        the claim right before its write (``payload.before_write``); a claim lost meanwhile
        drops the attempt without a trace."""
        if channel.remote:
            payload.guard = fence.guard(self.runtime.db, c, self.runtime.settings.lease_seconds)
        policy = self.runtime.retry_policy
        owes = c.needs_reconcile
        # An unconfirmed publication (attempts ran out while a write may have landed) only
        # ever reconciles: found → published, absent → failed for good.
        unconfirmed = owes and c.attempts >= policy.max_attempts
        try:
            if owes:
                since = (c.started_at or c.due_at) - RECONCILE_WINDOW
                existing = channel.find_existing(payload, since)
                if existing is not None:
                    return Outcome(c, receipt=existing, reconciled=True,
                                   content_hash=payload.content_hash)
                owes = False  # the check completed: the platform does not have it
                if unconfirmed:
                    return Outcome(c, decision=policy.confirmed_absent(c.attempts),
                                   detail={"reconciliation": "not found"})
            if not channel.guards_writes:
                payload.before_write()
            if c.processing_state is not None:
                result = channel.resume(payload, c.processing_state)
            else:
                result = channel.publish(payload)
        except ClaimLost:
            return Outcome(c, dropped=True)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                raise
            log.info("publication %s attempt %s failed: %s", c.id, c.attempts + 1, exc)
            return self._failed(c, exc, owes=owes, unconfirmed=unconfirmed)
        if isinstance(result, Processing):
            return Outcome(c, processing=result, content_hash=payload.content_hash)
        return Outcome(c, receipt=result, content_hash=payload.content_hash,
                       answered_at=utcnow())

    def _failed(self, c: Claimed, exc: Exception, *, owes: bool | None = None,
                unconfirmed: bool = False) -> Outcome:
        if isinstance(exc, SecretsError):
            exc = AuthError(str(exc))
        elif _is_render_error(exc):
            exc = PermanentError(f"Template posting tidak dapat dirender: {exc}")
        decision = self.runtime.retry_policy.decide(
            exc, c.attempts + 1, utcnow(),
            owes_reconcile=c.needs_reconcile if owes is None else owes, unconfirmed=unconfirmed,
        )
        detail = {"error_type": type(exc).__name__}
        if getattr(exc, "detail", ""):
            detail["error_detail"] = str(exc.detail)[:500]  # type: ignore[attr-defined]
        return Outcome(c, decision=decision, detail=detail)

    def _channel(self, c: Claimed) -> Channel:
        key = (c.channel["id"], c.channel["updated_at"])
        channel = self._channels.get(key)
        if channel is None:
            channel = self.runtime.channel(c.channel)
            self._channels = {k: v for k, v in self._channels.items() if k[0] != key[0]}
            self._channels[key] = channel
        return channel

    # --- shutdown ---------------------------------------------------------------------------

    def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming; wait up to ``grace_seconds`` for sends in flight and record them;
        hand back what never started; leave sends still running to their lease."""
        self.stopping.set()
        with self._lock:  # wait for a running drain to return
            deadline = utcnow() + timedelta(seconds=grace_seconds)
            while self.in_flight and utcnow() < deadline:
                outcomes = self._collect(wait=True)
                if outcomes:
                    record(self.runtime.db, self.worker_id, outcomes, utcnow())
            running = self.senders.close()
            outcomes = self._collect(wait=False)
            if outcomes:
                record(self.runtime.db, self.worker_id, outcomes, utcnow())
            # Hand back what never started. A send still running keeps its claim: it may yet
            # reach the platform, so nobody may take it over before its lease runs out; then
            # the lease sweep requeues it for reconciliation.
            unsent = [pub_id for pub_id in self.in_flight if pub_id not in running]
            if unsent:
                release(self.runtime.db, self.worker_id, unsent, utcnow())
            self.in_flight.clear()


def _is_render_error(exc: Exception) -> bool:
    from jinja2 import TemplateError

    return isinstance(exc, TemplateError)


def next_wake(now: datetime, due: datetime | None, tick: float) -> datetime | None:
    """When to run the dispatcher next if ``due`` comes sooner than the next tick."""
    if due is None:
        return None
    return due if due <= now + timedelta(seconds=tick) else None
