"""Poll due feed sources: claim (lease) → fetch → parse → decide → record, exactly once.

A source is a claimed row, like a publication: ``next_poll_at <= now`` and no live lease.
PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``; SQLite inside one ``BEGIN IMMEDIATE``
transaction. No database session is open during the network work (feed, article, images).
The results (entries seen, items made, the source's new state) are written in one transaction
that first checks the lease is still ours, so a worker that lost its lease (it stalled, another
took over) writes nothing, and nothing is posted twice across workers and restarts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import func, or_, select, update

from .. import audit
from ..fetch import fetch
from ..models import (
    Channel,
    FeedEntrySeen,
    FeedSource,
    Publication,
    PublicationStatus,
)
from ..netguard import OutboundError, safe_session
from ..timeutil import utcnow
from .media import StoredImage, entry_image
from .parse import FeedEntry, FeedParseError, parse_feed
from .rules import Decision, decide, key_hash, next_free_time

log = logging.getLogger(__name__)

FEED_MAX_BYTES = 5 * 1024 * 1024
#: A poll may fetch a feed, article pages and images: give it more than a send's lease.
LEASE_SECONDS = 600
CLAIM_BATCH = 64
#: Polls written per transaction, and the longest a finished poll waits to be written.
GROUP_COMMIT = 32
WRITE_EVERY = 1.0
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
#: On SQLite one writer at a time anyway: queueing the fetch threads on a Python lock wakes
#: them at once, where SQLite's busy handler sleeps in steps of up to 100 ms.
_SQLITE_WRITE = threading.Lock()
#: Statuses whose due time occupies a channel's slot (for spreading bursts).
_BUSY = (PublicationStatus.SCHEDULED, PublicationStatus.RETRYING, PublicationStatus.HELD,
         PublicationStatus.SENDING, PublicationStatus.PROCESSING, PublicationStatus.PUBLISHED)


@dataclass(frozen=True)
class SourceJob:
    """A claimed source, copied out of the session."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    seeded: bool
    created_at: datetime
    poll_interval_seconds: int
    had_error: bool = False
    #: Recurring announcements: a text seen before, under a new GUID and a newer date, is
    #: posted again.
    recurring: bool = False


@dataclass
class Prepared:
    """The network half of a poll, done with no session open: what to write next."""

    job: SourceJob
    status: str  # "not_modified", "ok", "error"
    etag: str | None = None
    last_modified: str | None = None
    decision: Decision | None = None
    images: dict[str, StoredImage | None] = field(default_factory=dict)
    error: str = ""


@dataclass
class PollResult:
    """What one poll did (for logs, tests and the benchmark)."""

    source_id: int
    status: str  # "not_modified", "ok", "error", "lost_lease"
    posted: int = 0
    recorded: int = 0
    error: str = ""
    item_ids: list[int] = field(default_factory=list)


# --- claiming ---------------------------------------------------------------------------------


def claim_sources(db: Any, worker_id: str, limit: int, now: datetime,
                  lease_seconds: float = LEASE_SECONDS) -> list[SourceJob]:
    """Take up to ``limit`` due sources for ``worker_id`` (disjoint across workers)."""
    due = (
        select(FeedSource.id)
        .where(FeedSource.enabled.is_(True), FeedSource.next_poll_at <= now,
               or_(FeedSource.lease_until.is_(None), FeedSource.lease_until < now))
        .order_by(FeedSource.next_poll_at)
        .limit(limit)
    )
    if db.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(FeedSource)
        .where(FeedSource.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker_id, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(FeedSource.id, FeedSource.url, FeedSource.etag, FeedSource.last_modified,
                   FeedSource.seeded, FeedSource.created_at, FeedSource.poll_interval_seconds,
                   FeedSource.error_count, FeedSource.recurring)
        .execution_options(synchronize_session=False)
    )
    with db.write_conn() as conn:
        rows = conn.execute(statement).all()
    return [SourceJob(r.id, r.url, r.etag, r.last_modified, r.seeded, r.created_at,
                      r.poll_interval_seconds, bool(r.error_count), bool(r.recurring))
            for r in rows]


def _own(session: Any, job: SourceJob, worker_id: str) -> FeedSource | None:
    """The source row, locked, if this worker still holds its lease."""
    source = session.scalars(
        select(FeedSource).where(FeedSource.id == job.id, FeedSource.claimed_by == worker_id)
        .with_for_update()
    ).first()
    return source


# --- one source -------------------------------------------------------------------------------


def prepare(runtime: Any, job: SourceJob, http: requests.Session) -> Prepared:
    """Fetch, parse and decide for one claimed source, and fetch the new entries' images.

    Opens no write transaction (one short read of the entries seen); never raises.
    """
    settings = runtime.settings
    try:
        try:
            got = fetch(job.url, settings, etag=job.etag, last_modified=job.last_modified,
                        max_bytes=FEED_MAX_BYTES, accept=FEED_ACCEPT, session=http)
        except OutboundError as exc:
            return Prepared(job, "error", error=exc.message)
        if got.not_modified:
            return Prepared(job, "not_modified", got.etag, got.last_modified)
        try:
            feed = parse_feed(got.content, url=got.url, content_type=got.headers.get(
                "content-type", ""))
        except FeedParseError as exc:
            return Prepared(job, "error", error=exc.message)
        decision = _decide(runtime.db, job, feed.entries)
        images = {entry.key: entry_image(entry, settings, http) for entry in decision.post}
        return Prepared(job, "ok", got.etag, got.last_modified, decision, images)
    except Exception as exc:  # one broken source must never stop the others
        log.exception("feed source %s: poll failed", job.id)
        return Prepared(job, "error",
                        error=f"Kesalahan tak terduga saat memeriksa feed: {type(exc).__name__}")


def record(runtime: Any, worker_id: str, prepared: Prepared) -> PollResult:
    """Write one prepared poll (entries seen, items, the source's state) if the lease is ours."""
    return record_many(runtime, worker_id, [prepared])[0]


def record_many(runtime: Any, worker_id: str, batch: list[Prepared]) -> list[PollResult]:
    """Write prepared polls in one transaction (one commit for many sources), each source in
    its own savepoint so one failure costs only that source."""
    if not batch:
        return []
    now = utcnow()
    results: list[PollResult] = []
    with _writer(runtime.db), runtime.db.write() as session:
        for prepared in batch:
            if prepared.status == "not_modified" and not prepared.job.had_error:
                results.append(_apply_unchanged(session, prepared, worker_id, now))
                continue
            try:
                with session.begin_nested():
                    results.append(_apply(session, prepared, worker_id, runtime.settings, now))
            except Exception as exc:
                log.exception("feed source %s: recording the poll failed", prepared.job.id)
                failed = Prepared(prepared.job, "error", error=(
                    f"Hasil pemeriksaan feed tidak dapat disimpan: {type(exc).__name__}"))
                with session.begin_nested():
                    results.append(_apply(session, failed, worker_id, runtime.settings, now))
    for result in results:
        if result.status == "error":
            log.info("feed source %s: %s", result.source_id, result.error)
    return results


def poll_source(runtime: Any, job: SourceJob, worker_id: str,
                http: requests.Session | None = None) -> PollResult:
    """Poll one claimed source and record the outcome; never raises for a bad feed."""
    own_http = http is None
    session = http or safe_session(runtime.settings)
    try:
        return record(runtime, worker_id, prepare(runtime, job, session))
    finally:
        if own_http:
            session.close()


def _decide(db: Any, job: SourceJob, entries: tuple[FeedEntry, ...]) -> Decision:
    keys = {key_hash(e.key) for e in entries}
    hashes = {e.content_hash for e in entries}
    seen_keys: set[str] = set()
    seen_hashes: dict[str, datetime | None] = {}
    if entries:
        with db.read() as session:
            rows = session.execute(
                select(FeedEntrySeen.key_hash, FeedEntrySeen.content_hash,
                       FeedEntrySeen.first_seen_at).where(
                    FeedEntrySeen.source_id == job.id,
                    or_(FeedEntrySeen.key_hash.in_(keys), FeedEntrySeen.content_hash.in_(hashes)),
                )
            ).all()
        seen_keys = {r.key_hash for r in rows}
        for r in rows:  # when each text was last recorded
            latest = seen_hashes.get(r.content_hash)
            seen_hashes[r.content_hash] = max(latest, r.first_seen_at) if latest else (
                r.first_seen_at)
    return decide(entries, seen_keys, seen_hashes, seeded=job.seeded,
                  source_created_at=job.created_at, recurring=job.recurring)


def _spread_time(session: Any, channel_ids: list[int], now: datetime) -> datetime | None:
    """The earliest time every target channel is free again (None: now)."""
    latest: datetime = now
    for channel in session.scalars(select(Channel).where(Channel.id.in_(channel_ids))):
        interval = int(channel.min_interval_seconds or 0)
        if interval <= 0:
            continue
        last = session.scalar(select(func.max(Publication.due_at)).where(
            Publication.channel_id == channel.id, Publication.status.in_(_BUSY)))
        if last is not None and last.tzinfo is None:  # SQLite aggregates lose the type
            last = last.replace(tzinfo=now.tzinfo)
        latest = max(latest, next_free_time(now, last, interval))
    return latest if latest > now else None


def _apply_unchanged(session: Any, p: Prepared, worker_id: str, now: datetime) -> PollResult:
    done = session.execute(
        update(FeedSource)
        .where(FeedSource.id == p.job.id, FeedSource.claimed_by == worker_id)
        .values(etag=p.etag, last_modified=p.last_modified, last_polled_at=now,
                last_success_at=now, claimed_by=None, lease_until=None,
                next_poll_at=now + timedelta(seconds=p.job.poll_interval_seconds))
        .execution_options(synchronize_session=False)
    )
    return PollResult(p.job.id, "not_modified" if done.rowcount else "lost_lease")


def _apply(session: Any, p: Prepared, worker_id: str, settings: Any,
           now: datetime) -> PollResult:
    """Write one poll's outcome inside ``session`` (the caller commits)."""
    from ..services.feeds import create_item_from_entry

    job = p.job
    source = _own(session, job, worker_id)
    if source is None:
        return PollResult(job.id, "lost_lease", error=p.error)
    actor = audit.Actor.worker(worker_id)
    source.last_polled_at = now
    source.claimed_by = None
    source.lease_until = None
    if p.status == "error":
        if source.last_error != p.error:  # audit each new problem once, not every poll
            _audit(session, source, actor, "feed.error", "error", p.error, {"url": source.url})
        source.last_error = p.error
        source.error_count = (source.error_count or 0) + 1
        # Back off on repeated errors (up to 8 intervals), so a dead site is not hammered.
        factor = min(2 ** max(0, source.error_count - 1), 8)
        source.next_poll_at = now + timedelta(seconds=job.poll_interval_seconds * factor)
        return PollResult(job.id, "error", error=p.error)
    result = PollResult(job.id, p.status)
    decision = p.decision
    if decision is not None:
        for entry in decision.record_only:
            session.add(_seen(source.id, entry, None, now, decision.reasons.get(entry.key)))
        result.recorded = len(decision.record_only)
        for entry in decision.post:
            publish_at = None
            if not source.requires_approval:
                publish_at = _spread_time(session, list(source.target_channel_ids), now)
            item = create_item_from_entry(session, source, entry, p.images.get(entry.key),
                                          settings, actor=actor, publish_at=publish_at)
            session.add(_seen(source.id, entry, item.id, now))
            result.item_ids.append(item.id)
        result.posted = len(decision.post)
        source.seeded = True
    if source.last_error:
        _audit(session, source, actor, "feed.recovered", "ok", "",
               {"previous_error": source.last_error})
    source.etag = p.etag
    source.last_modified = p.last_modified
    source.last_error = None
    source.error_count = 0
    source.last_success_at = now
    more = decision is not None and decision.more_waiting
    source.next_poll_at = now if more else now + timedelta(seconds=job.poll_interval_seconds)
    session.flush()
    return result


def _writer(db: Any) -> Any:
    return _SQLITE_WRITE if db.dialect == "sqlite" else contextlib.nullcontext()


def _seen(source_id: int, entry: FeedEntry, item_id: int | None, now: datetime,
          skipped: str | None = None) -> FeedEntrySeen:
    return FeedEntrySeen(source_id=source_id, key_hash=key_hash(entry.key), entry_key=entry.key,
                         content_hash=entry.content_hash, title=entry.title[:300],
                         link=entry.link[:1000], first_seen_at=now, item_id=item_id,
                         skip_reason=skipped)


def _audit(session: Any, source: FeedSource, actor: audit.Actor, action: str, result: str,
           error: str, detail: dict[str, Any]) -> None:
    from ..services.auditing import record

    record(session, None, action, opd=source.opd, actor=actor, result=result, error=error,
           detail={"source_id": source.id, "source_name": source.name, **detail})


# --- the scheduler's job ----------------------------------------------------------------------


def poll_due_feeds(runtime: Any, worker_id: str, *, concurrency: int = 8,
                   batch: int = CLAIM_BATCH) -> int:
    """Poll every due feed source (claiming batches until none is due); returns how many.

    ``runtime`` is the process's :class:`publisher.runtime.Runtime` (db, settings). Safe to
    call from any number of workers at once: each source is polled by exactly one of them.
    Threads do the network half (:func:`prepare`); this thread writes the results, one
    transaction per changed source and one per batch of unchanged (304) sources.
    """
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def run(job: SourceJob) -> Prepared:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = safe_session(runtime.settings, pool_maxsize=4)
            with lock:
                sessions.append(http)
        return prepare(runtime, job, http)

    polled = 0
    ready: list[Prepared] = []
    pending: set[Future[Prepared]] = set()
    done: set[Future[Prepared]] = set()
    exhausted = False
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency),
                                thread_name_prefix="feed") as pool:
            while True:
                if not exhausted and len(pending) <= batch // 2:
                    jobs = claim_sources(runtime.db, worker_id, batch, utcnow())
                    exhausted = not jobs
                    pending.update(pool.submit(run, job) for job in jobs)
                if not pending and not ready:
                    break
                if pending:
                    done, pending = wait(pending, timeout=WRITE_EVERY,
                                         return_when=FIRST_COMPLETED)
                    ready.extend(future.result() for future in done)
                # One commit for many sources; but never sit on finished work for long.
                if len(ready) >= GROUP_COMMIT or not pending or not done:
                    polled += len(record_many(runtime, worker_id, ready))
                    ready = []
    finally:
        for http in sessions:
            http.close()
    return polled
