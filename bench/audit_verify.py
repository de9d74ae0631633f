"""``publisher audit verify`` of a large log with signed checkpoints: time and peak memory, and
the cost of the checkpoint writer.

    .venv/bin/python bench/audit_verify.py [--events 1000000] [--checkpoint-every 10]

Seeds a SQLite database with ``events / 4`` approved items, each with one scheduled
publication and four hash-chained events (item created, submitted, approved; publication
scheduled), so the state ⇔ audit replay has real rows to compare. A signed checkpoint is
written every ``--checkpoint-every`` events (10: about what a year of checkpoints every five
minutes gives for a busy Pemda). Then it runs the real command in a child process —
``publisher audit verify --checkpoints FILE`` — and prints its wall time and peak resident
memory (the child's own high-water mark, ``VmHWM``: ``ru_maxrss`` would count the pages
it shared with this big seeding process before ``exec``). Finally it times the checkpoint
writer itself (read the file's tail, sign, append with fsync) and states its share of a
worker's time at one run per ``checkpoints.JOB_SECONDS``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _peak
from bench._seed import seed_opd_and_channel, seed_publications
from publisher import audit, checkpoints
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.models import Publication
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

SECRET = "bench-secret-key-0001"
EVENTS_PER_ITEM = 4


def _events_for(actor: audit.Actor, item_id: int, pub_id: int, opd_id: int,
                channel_id: int) -> list[dict[str, Any]]:
    common: dict[str, Any] = {"opd_id": opd_id, "item_id": item_id, "category": "berkala"}
    return [
        audit.make_event(actor, "item.created", detail={"source": "bench"}, **common),
        audit.make_event(actor, "item.submitted", **common),
        audit.make_event(actor, "item.approved", detail={"comment": ""}, **common),
        audit.make_event(actor, "publication.scheduled", publication_id=pub_id,
                         channel_id=channel_id, channel_kind="site", result="scheduled",
                         **common),
    ]


def seed(rt: Runtime, events: int, every: int) -> int:
    """Items, publications and their events; a checkpoint every ``every`` events."""
    from sqlalchemy import select

    items = events // EVENTS_PER_ITEM
    opd_id, channel_id = seed_opd_and_channel(rt, "site", {})
    due = utcnow() + timedelta(days=30)
    chunk = 5000
    actor = audit.Actor("user", "1", "Bench Operator", "editor")
    written = 0
    key = checkpoints.signing_key(rt.settings)
    checkpoint_file = checkpoints.checkpoint_path(rt.settings)
    done = last_item = 0
    while done < items:
        size = min(chunk, items - done)
        seed_publications(rt, opd_id, channel_id, size, due, chunk=size, events=False)
        with rt.db.read() as s:
            pairs = s.execute(select(Publication.item_id, Publication.id)
                              .where(Publication.item_id > last_item)
                              .order_by(Publication.item_id)).all()
        last_item = pairs[-1][0]
        rows: list[dict[str, Any]] = []
        for item_id, pub_id in pairs:
            rows.extend(_events_for(actor, item_id, pub_id, opd_id, channel_id))
        with rt.db.write_conn() as conn:
            audit.append(conn, rows)  # fills in each row's seq and hash
        # the checkpoints the job would have signed at these heads (one file write per batch)
        lines = [json.dumps(checkpoints.sign(key, int(r["seq"]), int(r["seq"]), str(r["hash"])),
                            sort_keys=True, separators=(",", ":")) + "\n"
                 for r in rows if int(r["seq"]) % every == 0]
        with checkpoint_file.open("a") as out:
            out.writelines(lines)
        written += len(rows)
        done += size
        print(f"\r  seeded {written:,} events", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with rt.db.read() as s:
        checkpoints.write_checkpoint(rt.settings, s)
        return audit.count(s)




def run_verify(settings: Settings) -> tuple[float, float, str]:
    """The CLI's verify in a child: (seconds, peak MB, last line of its output)."""
    env = {**os.environ, "PUBLISHER_DATABASE_URL": settings.database_url,
           "PUBLISHER_SECRET_KEY": SECRET,
           "PUBLISHER_INSTANCE_PATH": str(settings.instance_path)}
    file = str(checkpoints.checkpoint_path(settings))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _peak.CLI, "audit", "verify",
                           "--checkpoints", file], env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    peak_mb = _peak.peak_mb(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"verify failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return seconds, peak_mb, done.stdout.strip().splitlines()[-1]


def time_writer(rt: Runtime, calls: int = 200) -> float:
    """Median seconds of one checkpoint write on a chain that grew by one event."""
    timings = []
    actor = audit.Actor.system("bench")
    for _ in range(calls):
        with rt.db.write_conn() as conn:
            audit.append(conn, [audit.make_event(actor, "bench.tick")])
        with rt.db.read() as s:
            started = time.perf_counter()
            written = checkpoints.write_checkpoint(rt.settings, s)
            timings.append(time.perf_counter() - started)
        assert written is not None
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publisher-audit-") as tmp:
        workdir = Path(tmp)
        settings = Settings(instance_path=workdir, database_url=f"sqlite:///{workdir / 'a.db'}",
                            secret_key=SECRET, allow_loopback=True)
        settings.finish()
        db = Database(settings.database_url)
        upgrade(db)
        rt = Runtime(settings, db)
        started = time.perf_counter()
        total = seed(rt, args.events, args.checkpoint_every)
        seeded = time.perf_counter() - started
        count = len(checkpoints.read_all(settings))
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = (workdir / "a.db").stat().st_size / 1e6
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU, "
              f"Python {platform.python_version()}")
        print(f"seeded {total:,} events and {count:,} checkpoints in {seeded:.0f} s "
              f"(database {size_mb:.0f} MB)")
        seconds, peak, last = run_verify(settings)
        print(f"audit verify --checkpoints: {seconds:.1f} s, peak RSS {peak:.0f} MB "
              f"({total / seconds:,.0f} events/s) — {last}")
        writer = time_writer(rt)
        share = writer / checkpoints.JOB_SECONDS * 100
        print(f"checkpoint writer: {writer * 1000:.2f} ms per run (median of 200), once per "
              f"{checkpoints.JOB_SECONDS:.0f} s: {share:.5f} % of one core")
        db.dispose()


if __name__ == "__main__":
    main()
