"""Soak: exactly once under platform faults, worker kills and pauses, seed after seed.

Each run is the harness of ``tests/chaos.py`` (every channel kind against its loopback peer,
``publisher worker`` processes killed and paused past their lease, a seeded schedule of
transient errors, writes applied with their answer lost, dropped connections, rate limits
with the platform's headers and slow answers), larger and longer than the test's. A failing
seed is printed with what went wrong; ``--start`` and ``--seeds 1`` replay it.

    .venv/bin/python -m bench.soak_exactly_once [--seeds 10] [--start 1] [--items 20]
        [--workers 3] [--fault-seconds 60] [--database sqlite|postgresql|both]

PostgreSQL: ``PUBLISHER_BENCH_POSTGRES_URL`` (a server URL; a database is made per run).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from publisher.db import Database
from publisher.migrate import upgrade
from tests.chaos import ChaosConfig, ChaosReport, replay_hint, run_chaos
from tests.conftest import PostgresServer


def database(backend: str, workdir: Path, server: PostgresServer | None) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'soak.db'}"
    else:
        assert server is not None
        url = server.create("publisher_soak")
    db = Database(url)
    upgrade(db)
    db.dispose()
    return url


def bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--items", type=int, default=20, help="items per run (x5 channels)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--fault-seconds", type=float, default=60.0)
    parser.add_argument("--chaos-every", type=float, default=4.0)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    pg_url = os.environ.get("PUBLISHER_BENCH_POSTGRES_URL")
    if "postgresql" in backends and not pg_url:
        raise SystemExit("set PUBLISHER_BENCH_POSTGRES_URL for the PostgreSQL runs")
    server = PostgresServer(pg_url) if pg_url and "postgresql" in backends else None
    reports: list[ChaosReport] = []
    runs = [(backend, seed) for seed in range(args.start, args.start + args.seeds)
            for backend in backends]
    try:
        for index, (backend, seed) in enumerate(runs):
            print(f"{bar(index, len(runs))} seed {seed} on {backend}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                config = ChaosConfig(seed=seed, items=args.items, workers=args.workers,
                                     fault_seconds=args.fault_seconds,
                                     chaos_every=args.chaos_every, settle_seconds=300)
                report = run_chaos(Path(tmp), database(backend, Path(tmp), server), config)
            reports.append(report)
            print(("  " if report.ok else "  FAILED ") + replay_hint(report).splitlines()[0])
            for problem in report.problems[:20]:
                print("   ", problem.replace("\n", "\n    "))
        print(bar(len(runs), len(runs)))
    finally:
        if server is not None:
            server.drop_all()
    print("\nbackend      runs  publications  faults  kills  pauses  duplicates  lost  "
          "failed-on-peer  verify")
    for backend in backends:
        mine = [r for r in reports if r.database == backend]
        faults: Counter[str] = Counter()
        for r in mine:
            faults.update({k: n for k, n in r.faults.items() if k != "pass"})
        print(f"{backend:<12} {len(mine):>4}  {sum(r.publications for r in mine):>12}  "
              f"{sum(faults.values()):>6}  {sum(r.kills for r in mine):>5}  "
              f"{sum(r.pauses for r in mine):>6}  {sum(r.duplicates for r in mine):>10}  "
              f"{sum(r.lost for r in mine):>4}  {sum(r.failed_but_present for r in mine):>14}  "
              f"{'OK' if all(r.verify_ok for r in mine) else 'FAILED'}")
        print(f"{'':<12} faults by kind: {dict(sorted(faults.items()))}; webhook "
              f"redeliveries (same webhook-id) {sum(r.redeliveries for r in mine)}")
    if not all(r.ok for r in reports):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
