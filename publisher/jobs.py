"""The periodic jobs of a scheduler process besides dispatch: feed polling, channel health,
the daily DIK expiry, audit checkpoints, email and Telegram notifications (with daily digests
and chat linking), the hourly notification checks and escalations, and cleanup.

``publisher run`` and ``publisher worker`` build their Worker here, so every scheduler process
runs the same jobs. Each job is safe with many workers: feed sources are claimed rows, each
channel's daily health check is claimed by a conditional UPDATE, the DIK expiry runs once a
day cluster-wide (:mod:`publisher.daily`), email notifications are claimed rows with a lease
(:mod:`publisher.notify.delivery`), the hourly checks notify with dedupe keys and escalate
once per rule and subject (:mod:`publisher.notify.watch`), and the cleanup is an idempotent
delete.
"""

from __future__ import annotations

import logging

from . import audit_witness
from .api.idempotency import purge_expired
from .checkpoints import JOB_SECONDS as CHECKPOINT_SECONDS
from .checkpoints import write_checkpoint
from .daily import run_once_today
from .feeds import poll_due_feeds
from .health import JOB_SECONDS as HEALTH_SECONDS
from .health import check_due_channels
from .notify.delivery import drain as send_notifications
from .notify.digest import gather_due_digests
from .notify.telegram_link import poll_updates as link_telegram_chats
from .notify.watch import JOB_SECONDS as WATCH_SECONDS
from .notify.watch import run as watch_notifications
from .runtime import Runtime
from .scheduler import Worker
from .services.dik import Expired, expire_due

log = logging.getLogger(__name__)

FEED_POLL_SECONDS = 10.0
#: How often a worker asks whether today's DIK expiry ran (it runs once a day).
DIK_EXPIRY_CHECK_SECONDS = 900.0
IDEMPOTENCY_PURGE_SECONDS = 3600.0
STATISTICS_SECONDS = 6 * 3600.0
NOTIFICATION_SECONDS = 5.0
DIGEST_SECONDS = 60.0
TELEGRAM_LINK_SECONDS = 10.0


def refresh_statistics(runtime: Runtime) -> None:
    """Keep SQLite's query-planner statistics current (without them it picks slow join orders
    on large tables); a bounded ANALYZE, so it stays quick on a large log. PostgreSQL's
    autovacuum does this by itself."""
    if runtime.db.dialect != "sqlite":
        return
    with runtime.db.write_conn() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")


def checkpoint_audit(runtime: Runtime) -> None:
    """Append a signed checkpoint of the audit chain if it grew (two workers writing one each
    is fine: both are valid), never over a head that does not extend the witness's newest;
    then hand the witness what it lacks. No database session across the witness's calls."""
    settings = runtime.settings
    try:
        witnessed = audit_witness.latest(settings)
    except audit_witness.WitnessError as exc:
        log.warning("audit witness unreadable; checkpoint made against the local copy only: %s",
                    exc)
        witnessed = None
    with runtime.db.read() as session:
        write_checkpoint(settings, session, witnessed=witnessed)
    try:
        audit_witness.push(settings)
    except audit_witness.WitnessError as exc:
        log.warning("audit witness not updated (tried again next run): %s", exc)


def expire_dik(runtime: Runtime, worker_id: str) -> list[Expired] | None:
    """End the DIK entries whose period is over, once a day for the whole cluster; it never
    publishes or reclassifies anything (a person does, see :func:`services.dik.unlink_item`)."""
    return run_once_today(runtime.db, "dik-expiry", worker_id, runtime.settings.timezone,
                          expire_due)


def make_worker(runtime: Runtime) -> Worker:
    """A Worker with dispatch (built in) plus feed polling, channel health and the
    idempotency-key purge."""
    worker = Worker(runtime)
    worker.add_periodic("feed-poll", lambda: poll_due_feeds(runtime, worker.worker_id),
                        FEED_POLL_SECONDS)
    worker.add_periodic("channel-health",
                        lambda: check_due_channels(runtime, worker.worker_id), HEALTH_SECONDS)
    worker.add_periodic("idempotency-purge", lambda: purge_expired(runtime.db),
                        IDEMPOTENCY_PURGE_SECONDS)
    worker.add_periodic("sqlite-statistics", lambda: refresh_statistics(runtime),
                        STATISTICS_SECONDS)
    worker.add_periodic("audit-checkpoint", lambda: checkpoint_audit(runtime),
                        CHECKPOINT_SECONDS)
    worker.add_periodic("notification-digests", lambda: gather_due_digests(runtime),
                        DIGEST_SECONDS)
    worker.add_periodic("telegram-link", lambda: link_telegram_chats(runtime),
                        TELEGRAM_LINK_SECONDS)
    worker.add_periodic("notifications",
                        lambda: send_notifications(runtime, worker.worker_id,
                                                   worker.stopped.is_set),
                        NOTIFICATION_SECONDS)
    worker.add_periodic("dik-expiry", lambda: expire_dik(runtime, worker.worker_id),
                        DIK_EXPIRY_CHECK_SECONDS)
    worker.add_periodic("notify-watch",
                        lambda: watch_notifications(runtime, worker.worker_id), WATCH_SECONDS)
    return worker
