"""Server time of the admin pages with 10,000 items and 30,000 publications (SQLite).

    .venv/bin/python -m bench.ui_pages [--items 10000] [--publications 30000] [--runs 20]

Seeds a fresh SQLite database (Core bulk inserts), signs in as the admin (who sees every OPD:
the largest queries) and as an OPD operator, requests each page ``--runs`` times through the
Flask test client and prints p50/p95 in milliseconds. The target is < 300 ms per page.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from publisher.app import create_app
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.models import AuditEvent, Item, ItemStatus, Opd, Publication
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

from ._ui_seed import (
    PASSWORD,
    Seeded,
    ensure_model_indexes,
    seed_items,
    seed_people_and_channels,
)

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    page = client.get("/admin/masuk").get_data(as_text=True)
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    answer = client.post("/admin/masuk", data={"username": username, "password": PASSWORD,
                                               "csrf_token": token})
    assert answer.status_code == 302, answer.status_code
    return client


def _time(client: Any, path: str, runs: int) -> tuple[float, float, float, int]:
    """Wall-clock p50 and p95 and the median CPU time of this process, in ms."""
    samples, cpu = [], []
    status = 0
    for _ in range(runs + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        status = response.status_code
    samples, cpu = sorted(samples[1:]), cpu[1:]  # the first run warms caches
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, statistics.median(cpu), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--publications", type=int, default=30_000)
    parser.add_argument("--opds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", type=Path, help="a folder seeded by an earlier run")
    parser.add_argument("--no-analyze", action="store_true",
                        help="skip ANALYZE after seeding (no planner statistics)")
    args = parser.parse_args()

    tmp = args.reuse or Path(tempfile.mkdtemp(prefix="ui-bench-"))
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
        seeded = Seeded(opd_ids=list(runtime.db.session().scalars(select(Opd.id).order_by(Opd.id))))
    else:
        seeded = seed_people_and_channels(runtime, args.opds)
        seed_items(runtime, seeded, args.items, args.publications)
    if not args.no_analyze:
        with runtime.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # planner statistics, as PRAGMA optimize keeps them
    print(f"database: {tmp / 'publisher.db'}")
    with runtime.db.read() as s:
        n_items = s.scalar(select(func.count()).select_from(Item))
        n_pubs = s.scalar(select(func.count()).select_from(Publication))
        n_events = s.scalar(select(func.count()).select_from(AuditEvent))
        some_item = s.scalar(select(Item.id).where(Item.status == ItemStatus.APPROVED,
                                                   Item.opd_id == seeded.opd_ids[0])
                             .order_by(Item.id.desc()))
        first_opd = seeded.opd_ids[0]
    print(f"seeded {n_items} items, {n_pubs} publications, {n_events} audit events "
          f"in {time.perf_counter() - started:.1f} s")
    app = create_app(runtime=runtime)
    today = utcnow().date().isoformat()
    pages = [
        ("Beranda", "/admin/"),
        ("Tulis", "/admin/tulis"),
        ("Kalender (minggu)", f"/admin/kalender?date={today}"),
        ("Kalender (bulan)", f"/admin/kalender?view=month&date={today}"),
        ("Antrean", "/admin/antrean"),
        ("Antrean (gagal)", "/admin/antrean?status=failed"),
        ("Antrean (halaman 100)", "/admin/antrean?page=100"),
        ("Detail informasi", f"/admin/informasi/{some_item}"),
        ("Ubah informasi", f"/admin/informasi/{some_item}/ubah"),
        ("Persetujuan", "/admin/persetujuan"),
        ("Saluran", "/admin/saluran"),
        ("Register (OPD)", f"/admin/register?opd={first_opd}"),
        ("Register (default OPD)", "/admin/register"),
        ("Audit", "/admin/audit"),
        ("Audit (filter)", "/admin/audit?action=item"),
        ("Pengguna & OPD", "/admin/pengguna"),
    ]
    print(f"machine: {platform.node()} · {platform.processor() or platform.machine()} · "
          f"Python {platform.python_version()} · SQLite")
    print(f"load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'page':28} {'user':9} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8}")
    worst = 0.0
    for who in (seeded.admin_user, seeded.editor_user):
        client = _client(app, who)
        for name, path in pages:
            if who != seeded.admin_user and path.startswith("/admin/pengguna"):
                continue
            p50, p95, cpu, status = _time(client, path, args.runs)
            assert status == 200, (path, status)
            worst = max(worst, p95)
            print(f"{name:28} {who:9} {p50:8.1f} {p95:8.1f} {cpu:8.1f}")
    print(f"worst p95: {worst:.1f} ms ({'OK' if worst < 300 else 'OVER'} the 300 ms target)")
    runtime.db.dispose()


if __name__ == "__main__":
    main()
