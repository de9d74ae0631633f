"""How long one paused worker stops the others, on PostgreSQL.

Three ``publisher worker`` processes send to a loopback receiver that answers after 50 ms while
a sampler counts published rows every 20 ms. Then:

1. **frozen in a transaction**: a process that works like a worker opens a queue transaction,
   appends to the audit chain (so it holds the chain's head, which every other worker needs)
   and stops itself with SIGSTOP for ``--pause`` seconds: the longest time the others then
   publish nothing is the stall;
2. **real workers stopped at random moments**: one of the three is SIGSTOPped ``--stops``
   times for ``--pause`` seconds each, wherever it happens to be (inside a transaction or
   not); the longest stall of the others over all stops.

    PUBLISHER_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.paused_worker [--pause 8] [--stops 6] [--n 90000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import seed_opd_and_channel, seed_publications
from bench.queue_throughput import _serve, fresh_database, start_workers
from publisher import audit
from publisher.config import Settings
from publisher.db import QUEUE_IDLE_TIMEOUT_MS, Database
from publisher.migrate import upgrade
from publisher.models import Publication, PublicationStatus
from publisher.runtime import Runtime
from publisher.timeutil import utcnow


class Sampler:
    """Published rows every ``step`` seconds, from a thread; ``gap`` is the longest time the
    count did not move between two instants."""

    def __init__(self, db: Database, step: float = 0.02) -> None:
        self.db = db
        self.step = step
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.db.engine.connect() as conn:
            while not self._stop.is_set():
                count = conn.execute(select(func.count()).where(
                    Publication.status == PublicationStatus.PUBLISHED)).scalar_one()
                conn.rollback()
                self.samples.append((time.monotonic(), count))
                time.sleep(self.step)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def count(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def gap(self, start: float, end: float) -> float:
        """The longest stretch within [start, end] in which nothing was published."""
        longest, since, last = 0.0, start, None
        for moment, count in self.samples:
            if moment < start or moment > end:
                continue
            if last is not None and count != last:
                longest = max(longest, moment - since)
                since = moment
            last = count
        return max(longest, end - since)


def freeze_in_transaction(url: str, ready: Any) -> None:
    """A worker-like process that stops itself while holding the audit chain's head; when it
    wakes, the server has ended its session (its transaction is rolled back)."""
    db = Database(url)
    try:
        with db.write_conn() as conn:
            audit.append(conn, [audit.make_event(audit.Actor.worker("frozen"), "bench.frozen")])
            ready.set()
            os.kill(os.getpid(), signal.SIGSTOP)
    except DBAPIError as exc:
        print(f"the frozen process woke to: {type(exc.orig).__name__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pause", type=float, default=8.0)
    parser.add_argument("--stops", type=int, default=6)
    parser.add_argument("--n", type=int, default=90_000,
                        help="publications due (enough that work never runs out)")
    args = parser.parse_args()
    if not os.environ.get("PUBLISHER_BENCH_POSTGRES_URL"):
        raise SystemExit("set PUBLISHER_BENCH_POSTGRES_URL")
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    receiver = ctx.Process(target=_serve, args=(ports,), daemon=True)
    receiver.start()
    port = ports.get(timeout=10)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(instance_path=Path(tmp), secret_key="bench-secret-key-0001",
                            database_url=fresh_database("postgresql", Path(tmp)),
                            allow_loopback=True)
        settings.finish()
        db = Database(settings.database_url)
        upgrade(db)
        runtime = Runtime(settings, db)
        opd_id, channel_id = seed_opd_and_channel(
            runtime, "webhook", {"url": f"http://127.0.0.1:{port}/hook"})
        seed_publications(runtime, opd_id, channel_id, args.n, utcnow() + timedelta(seconds=3))
        workers = start_workers(settings, 3, 96)  # 32 in flight each
        print(f"3 workers, {args.n} publications due, receiver answers after 50 ms; idle "
              f"timeout of a queue transaction {QUEUE_IDLE_TIMEOUT_MS} ms")
        try:
            with Sampler(db) as sampler:
                time.sleep(8)  # running at full rate
                base = sampler.count()
                time.sleep(2)
                print(f"steady rate: {(sampler.count() - base) / 2:.0f}/s")

                ready = ctx.Event()
                frozen = ctx.Process(target=freeze_in_transaction,
                                     args=(settings.database_url, ready))
                frozen.start()
                ready.wait(10)
                start = time.monotonic()
                time.sleep(args.pause)
                stall = sampler.gap(start, time.monotonic())
                os.kill(frozen.pid or 0, signal.SIGCONT)
                frozen.join(10)
                print(f"frozen inside a transaction holding the audit head for {args.pause:g} s:"
                      f" the others published nothing for {stall:.2f} s at most")

                rng = random.Random(1)
                gaps = []
                victim = workers[0]
                for _ in range(args.stops):
                    time.sleep(rng.uniform(1.0, 2.0))
                    victim.send_signal(signal.SIGSTOP)
                    start = time.monotonic()
                    time.sleep(args.pause)
                    gaps.append(sampler.gap(start, time.monotonic()))
                    victim.send_signal(signal.SIGCONT)
                gaps.sort()
                print(f"a worker SIGSTOPped {args.stops} times for {args.pause:g} s at random "
                      f"moments: longest stall of the others {gaps[-1]:.2f} s, median "
                      f"{gaps[len(gaps) // 2]:.2f} s")
                left = args.n - sampler.count()
                print(f"still to publish at the end: {left} (work never ran out)" if left > 5000
                      else f"only {left} left: raise --n, the figures above are not valid")
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGCONT)
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(30)
            receiver.terminate()
            db.dispose()


if __name__ == "__main__":
    main()
