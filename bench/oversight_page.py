"""Server time of the Pengawasan page for a Pemda of 300 OPDs and desa (SQLite).

    .venv/bin/python -m bench.oversight_page [--opds 300] [--items 10000]
        [--publications 30000] [--runs 50] [--reuse DIR]

Seeds a fresh SQLite database with the data of ``bench/ui_pages.py`` (its item and
publication volumes, spread over ``--opds`` units with a site and three webhook channels
each), marks a few channels as needing re-auth or expiring, signs in as the admin and times
``--runs`` GETs of ``/admin/pengawasan`` (after one warm-up) through the Flask test client.
Prints p50, p95 and max in milliseconds and the number of SQL statements one request runs
(it must not grow with the number of OPDs). The target is p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, update

from publisher.app import create_app
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.models import Channel, ChannelStatus, Item, Opd, Publication
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

from ._ui_seed import Seeded, ensure_model_indexes, seed_items, seed_people_and_channels
from .ui_pages import _client

PATHS = ("/admin/pengawasan", "/admin/pengawasan?urut=minggu&arah=desc&masalah=1",
         "/admin/pengawasan.csv")


def _mark_channels(runtime: Runtime) -> None:
    """Every 7th channel needs re-auth, every 11th has a credential expiring in 5 days."""
    soon = utcnow() + timedelta(days=5)
    with runtime.db.write() as s:
        s.execute(update(Channel).where(Channel.id % 7 == 0)
                  .values(status=ChannelStatus.NEEDS_REAUTH))
        s.execute(update(Channel).where(Channel.id % 11 == 0)
                  .values(credential_expires_at=soon))


def _statements(runtime: Runtime, client: Any, path: str) -> int:
    count = 0

    def _count(*_args: Any) -> None:
        nonlocal count
        count += 1

    event.listen(runtime.db.engine, "before_cursor_execute", _count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", _count)
    return count


def _time(client: Any, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return sorted(samples[1:])  # the first run warms caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opds", type=int, default=300)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--publications", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--reuse", type=Path, help="a folder seeded by an earlier run")
    args = parser.parse_args()

    tmp = args.reuse or Path(tempfile.mkdtemp(prefix="oversight-bench-"))
    url = f"sqlite:///{tmp / 'publisher.db'}"
    if not args.reuse:
        db = Database(url)
        upgrade(db)
        db.dispose()
    settings = Settings(instance_path=tmp / "instance", database_url=url,
                        secret_key="bench-secret-key", public_base_url="http://127.0.0.1:5000",
                        allow_loopback=True)
    settings.finish()
    runtime = Runtime(settings)
    ensure_model_indexes(runtime)
    started = time.perf_counter()
    if args.reuse:
        seeded = Seeded(opd_ids=list(runtime.db.session().scalars(select(Opd.id))))
    else:
        seeded = seed_people_and_channels(runtime, args.opds)
        seed_items(runtime, seeded, args.items, args.publications)
        _mark_channels(runtime)
        with runtime.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    with runtime.db.read() as s:
        counts = {model.__name__: s.scalar(select(func.count()).select_from(model))
                  for model in (Opd, Channel, Item, Publication)}
    print(f"database: {tmp / 'publisher.db'}")
    print("seeded " + ", ".join(f"{n} {name.lower()}" for name, n in counts.items())
          + f" in {time.perf_counter() - started:.1f} s")
    print(f"machine: {platform.node()} · {platform.processor() or platform.machine()} · "
          f"Python {platform.python_version()} · SQLite")
    print(f"load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    app = create_app(runtime=runtime)
    client = _client(app, seeded.admin_user)
    print(f"{'path':55} {'SQL':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = 0.0
    for path in PATHS:
        statements = _statements(runtime, client, path)
        samples = _time(client, path, args.runs)
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        worst = max(worst, p95)
        print(f"{path:55} {statements:4d} {statistics.median(samples):8.1f} {p95:8.1f} "
              f"{samples[-1]:8.1f}")
    print(f"worst p95: {worst:.1f} ms ({'OK' if worst < 300 else 'OVER'} the 300 ms target)")
    runtime.db.dispose()


if __name__ == "__main__":
    main()
