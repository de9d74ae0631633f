"""The scheduler process part: APScheduler ticks the dispatcher and the periodic jobs.

Started by ``publisher run`` and ``publisher worker`` — never by ``create_app()`` (it would run
once per web worker and twice under the reloader). Jobs have fixed ids; the dispatcher takes
everything due, so APScheduler's misfire handling can never drop a publication.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete

from .models import WorkerHeartbeat
from .queue import signals
from .queue.claim import next_due
from .queue.dispatcher import Dispatcher
from .queue.sweep import expire_leases
from .runtime import Runtime
from .timeutil import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
_JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def new_worker_id() -> str:
    """``host-pid-xxxx``: unique per process, readable in the audit log."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class Worker:
    """Dispatcher, lease sweep, heartbeat and the periodic jobs of one process."""

    def __init__(self, runtime: Runtime, worker_id: str | None = None) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or new_worker_id()
        self.dispatcher = Dispatcher(runtime, self.worker_id)
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults=_JOB_DEFAULTS)
        self._extra_jobs: list[tuple[str, Callable[[], Any], float]] = []
        self.stopped = threading.Event()

    def add_periodic(self, job_id: str, func: Callable[[], Any], seconds: float) -> None:
        """Register another periodic job (feed polling, channel health) before start()."""
        self._extra_jobs.append((job_id, func, seconds))

    def start(self) -> None:
        """Start ticking; returns at once (the jobs run in background threads)."""
        s = self.scheduler
        s.add_job(self.dispatch, "interval", seconds=TICK_SECONDS, id="dispatch",
                  next_run_time=datetime.now(UTC))
        s.add_job(self.sweep, "interval", seconds=5, id="lease-sweep",
                  next_run_time=datetime.now(UTC))
        s.add_job(self.heartbeat, "interval", seconds=10, id="heartbeat",
                  next_run_time=datetime.now(UTC))
        for job_id, func, seconds in self._extra_jobs:
            s.add_job(_guarded(job_id, func), "interval", seconds=seconds, id=job_id,
                      next_run_time=datetime.now(UTC) + timedelta(seconds=2))
        signals.subscribe(self.wake)
        self.dispatcher.prepare()
        s.start()
        log.info("worker %s started", self.worker_id)

    def dispatch(self) -> None:
        """Drain due publications, then arrange a run at the next due time if it comes
        before the next tick (so a publication due at T starts at T, not up to 1 s later)."""
        try:
            while not self.dispatcher.stopping.is_set():
                if self.dispatcher.drain() is None:
                    return  # the running drain picks up what is due
                due = next_due(self.runtime.db)
                now = utcnow()
                if due is None or due > now + timedelta(seconds=TICK_SECONDS):
                    return
                if due > now + timedelta(milliseconds=5):
                    self._run_at(due)
                    return
                # already due again (work arrived while draining): drain once more
        except Exception:  # keep ticking; the error is in the log and the rows are intact
            log.exception("dispatch failed")

    def _run_at(self, when: datetime) -> None:
        try:
            self.scheduler.add_job(self.dispatch, "date", run_date=max(when, utcnow()),
                                   id=f"dispatch-at-{when.timestamp():.3f}",
                                   replace_existing=True)
        except Exception:  # the scheduler is shutting down
            log.debug("could not schedule dispatch-next", exc_info=True)

    def wake(self, due_at: datetime) -> None:
        """New work in this process: run the dispatcher at its due time if that is soon."""
        if due_at <= utcnow() + timedelta(seconds=TICK_SECONDS) and self.scheduler.running:
            self._run_at(due_at)

    def sweep(self) -> None:
        """Requeue publications of workers that died mid-send (for reconciliation)."""
        try:
            if expire_leases(self.runtime.db, self.worker_id, utcnow()):
                self._run_at(utcnow())
        except Exception:
            log.exception("lease sweep failed")

    def heartbeat(self) -> None:
        """Record that this worker is alive (shown in the UI); forget long-dead workers."""
        now = utcnow()
        try:
            with self.runtime.db.write() as session:
                beat = session.get(WorkerHeartbeat, self.worker_id)
                if beat is None:
                    beat = WorkerHeartbeat(worker_id=self.worker_id, hostname=socket.gethostname(),
                                           pid=os.getpid(), started_at=now)
                    session.add(beat)
                beat.seen_at = now
                beat.in_flight = len(self.dispatcher.in_flight)
                session.execute(delete(WorkerHeartbeat).where(
                    WorkerHeartbeat.seen_at < now - timedelta(days=1)))
        except Exception:
            log.exception("heartbeat failed")

    def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming, finish or release what is in flight, stop the scheduler."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        signals.unsubscribe(self.wake)
        self.dispatcher.stopping.set()
        self.scheduler.shutdown(wait=True)
        self.dispatcher.stop(grace_seconds)
        try:
            with self.runtime.db.write() as session:
                session.execute(delete(WorkerHeartbeat).where(
                    WorkerHeartbeat.worker_id == self.worker_id))
        except Exception:
            log.exception("could not remove heartbeat")
        log.info("worker %s stopped", self.worker_id)


def _guarded(job_id: str, func: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            func()
        except Exception:
            log.exception("job %s failed", job_id)

    return run
