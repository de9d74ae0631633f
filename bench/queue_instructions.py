"""Instructions the dispatcher executes to drain N due no-op publications (SQLite), counted by
callgrind: unlike this VM's timings, the count repeats to 0.01 % whatever else the machine is
doing, so it shows what a change to the hot path is worth.

    .venv/bin/python bench/queue_instructions.py [--n 2000]

It seeds a database, then runs itself again under ``valgrind --tool=callgrind``, collecting only
inside one ``qsort`` call whose comparison function drains the queue (seeding and start-up stay
out of the count). Needs valgrind; about a minute for 2,000 publications.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import seed_opd_and_channel, seed_publications
from bench.queue_throughput import NoopChannel
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.queue.dispatcher import Dispatcher
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

_COMPARE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def drain_once(n: int) -> int:
    """Seed ``n`` due no-op publications and drain them inside qsort; returns how many."""
    workdir = Path(tempfile.mkdtemp(prefix="publisher-instr-"))
    settings = Settings(instance_path=workdir, database_url=f"sqlite:///{workdir / 'b.db'}",
                        secret_key="bench-secret-key-0001", allow_loopback=True, concurrency=32,
                        claim_batch=512, lease_seconds=300)
    settings.finish()
    db = Database(settings.database_url)
    upgrade(db)
    rt = Runtime(settings, db)
    opd_id, channel_id = seed_opd_and_channel(rt, NoopChannel.kind, {})
    seed_publications(rt, opd_id, channel_id, n, utcnow() - timedelta(seconds=1))
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    dispatcher = Dispatcher(rt, "bench-worker")
    rt.renderer.warm([NoopChannel.kind])
    done: list[int] = []

    def compare(_a: int, _b: int) -> int:
        done.append(dispatcher.drain() or 0)
        return 0

    pair = (ctypes.c_int * 2)(1, 2)
    ctypes.CDLL(None).qsort(pair, 2, ctypes.sizeof(ctypes.c_int), _COMPARE(compare))
    db.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    return sum(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(f"drained {drain_once(args.n)}", file=sys.stderr)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            [valgrind, "--tool=callgrind", "--toggle-collect=*qsort*",
             f"--callgrind-out-file={Path(tmp) / 'callgrind.out'}",
             sys.executable, __file__, "--inner", "--n", str(args.n)],
            capture_output=True, text=True, check=False,
        )
    collected = re.search(r"Collected : (\d+)", run.stderr)
    drained = re.search(r"drained (\d+)", run.stderr)
    if run.returncode or not collected or not drained or int(drained.group(1)) != args.n:
        raise SystemExit(f"the counted run failed:\n{run.stderr[-2000:]}")
    total = int(collected.group(1))
    print(f"drain of {args.n} due no-op publications (SQLite): {total / 1e6:,.1f} M instructions, "
          f"{total / args.n / 1e3:,.0f} k a publication")


if __name__ == "__main__":
    main()
