"""Publications per second through the whole path: claim → render → channel → complete → audit.

Run 1: 10,000 publications all due at one instant, to a no-op channel, on SQLite (and on
PostgreSQL when PUBLISHER_BENCH_POSTGRES_URL is set), one process.
Run 2: 2,000 publications to a loopback HTTP receiver that answers after 50 ms, 32 sends in
flight (the ideal is 32 / 0.05 = 640 per second).
``--scale``: on PostgreSQL, one ``publisher worker`` process against four, with 8 and then 32
sends in flight each, to the same 50 ms receiver (the ideal is in-flight / 0.05 s per worker),
with the workers' CPU time per publication.

    .venv/bin/python bench/queue_throughput.py [--n 10000] [--http-n 2000] [--scale]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import seed_opd_and_channel, seed_publications
from publisher import channels
from publisher.channels.base import Channel, Payload, Receipt, RenderContext
from publisher.checkpoints import JOB_SECONDS as CHECKPOINT_SECONDS
from publisher.config import Settings
from publisher.db import Database
from publisher.jobs import checkpoint_audit
from publisher.migrate import upgrade
from publisher.models import AuditEvent, Publication, PublicationStatus
from publisher.runtime import Runtime
from publisher.scheduler import Worker
from publisher.timeutil import utcnow


@channels.register
class NoopChannel(Channel):
    """Renders like a real channel, sends nowhere."""

    kind: ClassVar[str] = "noop"
    label: ClassVar[str] = "No-op (bench)"
    remote = False

    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        return self.base_payload(ctx, title=ctx.item.title, text=renderer.render("webhook", ctx),
                                 link=ctx.item.site_url)

    def publish(self, payload: Payload) -> Receipt:
        return Receipt(remote_id=payload.fingerprint, url=payload.link)


RECEIVER_DELAY = 0.05
_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
           b'{"ok":true}')


def _answer_slowly(conn: socket.socket) -> None:
    """A keep-alive HTTP/1.1 peer that answers every request 50 ms after reading it, like a
    slow CMS. A thread per connection sleeping in ``time.sleep`` answers after 50.1 ms on
    average; an asyncio receiver answered after 50.6 ms (epoll's timeouts are whole
    milliseconds, rounded up), which moved the ideal itself by 1 %."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffered = b""
    try:
        while True:
            while b"\r\n\r\n" not in buffered:
                data = conn.recv(65536)
                if not data:
                    return
                buffered += data
            head, _, rest = buffered.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            while len(rest) < length:
                data = conn.recv(65536)
                if not data:
                    return
                rest += data
            buffered = rest[length:]
            time.sleep(RECEIVER_DELAY)
            conn.sendall(_ANSWER)
    except OSError:
        pass
    finally:
        conn.close()


def _serve(port_queue: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    port_queue.put(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_answer_slowly, args=(conn,), daemon=True).start()


def client_floor(port: int, n: int, in_flight: int) -> float:
    """Sends per second of a bare client (``http.client``, a connection per thread, as the
    webhook channel sends; no queue, database or signing) with the same number of requests
    in flight against the same receiver: what this machine allows."""
    body = b"x" * 2500
    left = [n]
    lock = threading.Lock()

    def send() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                if not left[0]:
                    conn.close()
                    return
                left[0] -= 1
            conn.request("POST", "/hook", body=body, headers={"Content-Type": "application/json"})
            conn.getresponse().read()

    threads = [threading.Thread(target=send) for _ in range(in_flight)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n / (time.perf_counter() - started)


def fresh_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    base = os.environ["PUBLISHER_BENCH_POSTGRES_URL"]
    name = f"publisher_bench_{os.getpid()}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def start_workers(settings: Settings, processes: int, concurrency: int) -> list[Any]:
    """``publisher worker`` processes sharing ``concurrency`` sends in flight."""
    env = {**os.environ, "PUBLISHER_DATABASE_URL": settings.database_url,
           "PUBLISHER_SECRET_KEY": settings.secret_key,
           "PUBLISHER_INSTANCE_PATH": str(settings.instance_path),
           "PUBLISHER_ALLOW_LOOPBACK": "true", "PUBLISHER_LOG_LEVEL": "ERROR",
           "PUBLISHER_CONCURRENCY": str(concurrency // processes),
           "PUBLISHER_CLAIM_BATCH": "512", "PUBLISHER_LEASE_SECONDS": "300"}
    return [subprocess.Popen([sys.executable, "-m", "publisher", "worker", "--grace", "5"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(processes)]


def run(
    backend: str, kind: str, n: int, concurrency: int, config: dict[str, Any],
    processes: int = 1, checkpoint_seconds: float | None = None, separate: bool = False,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        settings = Settings(instance_path=workdir, database_url=fresh_database(backend, workdir),
                            secret_key="bench-secret-key-0001", allow_loopback=True,
                            concurrency=concurrency,
                            claim_batch=512, lease_seconds=300)
        settings.finish()
        db = Database(settings.database_url)
        upgrade(db)
        rt = Runtime(settings, db)
        opd_id, channel_id = seed_opd_and_channel(rt, kind, config)
        # Everything falls due at one instant, far enough ahead that seeding and the start of
        # an idle worker come first (rows are inserted with that time, as scheduling does).
        due = utcnow() + timedelta(seconds=5 + n / 1000)
        seed_publications(rt, opd_id, channel_id, n, due)
        if backend == "sqlite":  # start from a settled database, as an idle system would be
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        # ...and a settled disk: the kernel writes seeding's dirty pages back some seconds
        # later, which otherwise lands inside the measured window of this run or the next.
        os.sync()
        if utcnow() > due - timedelta(seconds=1):
            raise SystemExit("seeding took longer than planned: raise the lead time")
        worker: Worker | None = None
        children = []
        if processes == 1 and not separate:
            worker = Worker(rt, "bench-worker")
            if checkpoint_seconds:  # the audit checkpoint job, far more often than in service
                worker.add_periodic("audit-checkpoint", lambda: checkpoint_audit(rt),
                                    checkpoint_seconds)
            worker.start()
        else:
            children = start_workers(settings, processes, concurrency)
        deadline = time.monotonic() + 600
        with db.engine.connect() as conn:
            while time.monotonic() < deadline:
                done = conn.execute(select(func.count()).where(
                    Publication.status == PublicationStatus.PUBLISHED)).scalar_one()
                conn.rollback()
                if done >= n:
                    break
                time.sleep(0.2)
        if worker is not None:
            worker.stop(5)
        for child in children:
            child.send_signal(signal.SIGTERM)
            child.wait(30)
        with db.read() as s:
            rows = s.execute(select(Publication.started_at, Publication.published_at,
                                    Publication.due_at)).all()
            events = s.scalar(select(func.count()).select_from(AuditEvent))
        db.dispose()
    finished = [r.published_at for r in rows if r.published_at is not None]
    lateness = sorted((r.published_at - r.due_at).total_seconds() for r in rows if r.published_at)
    span = (max(finished) - due).total_seconds()
    return {
        "n": float(len(finished)),
        "per_second": len(finished) / span,
        "span_s": span,
        "p50_late_s": statistics.median(lateness),
        "p99_late_s": lateness[int(len(lateness) * 0.99) - 1],
        "audit_events": float(events or 0),
        "first_claim_s": min((r.started_at - due).total_seconds() for r in rows if r.started_at),
    }


def interpreter_speed() -> float:
    """Millions of iterations per second of a plain Python loop: a yardstick for how fast this
    VM is today (on this VM kind it has varied by a factor of two between days)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return 2.0 / best


def show(label: str, r: dict[str, float]) -> None:
    print(f"{label:<34} {int(r['n']):>6} published in {r['span_s']:6.2f} s = "
          f"{r['per_second']:7.0f}/s   lateness p50 {r['p50_late_s']:.3f} s "
          f"p99 {r['p99_late_s']:.3f} s   first claim +{r['first_claim_s'] * 1000:.0f} ms   "
          f"audit events {int(r['audit_events'])}")


def repeated(label: str, times: int, once: Any) -> list[float]:
    """Run a case ``times`` times (this 2-core VM is noisy), print each and the median."""
    rates = []
    for i in range(times):
        r = once()
        show(f"{label} #{i + 1}", r)
        rates.append(r["per_second"])
    print(f"{label + ': median':<34} {statistics.median(rates):7.0f}/s "
          f"(min {min(rates):.0f}, max {max(rates):.0f})")
    return rates


def checkpoint_cost(n: int, times: int, seconds: float) -> None:
    """No-op runs without and with the checkpoint writer, alternating (this VM drifts)."""
    plain: list[float] = []
    with_job: list[float] = []
    for i in range(times):
        for rates, every, label in ((plain, None, "no-op, sqlite"),
                                    (with_job, seconds, f"no-op + checkpoint/{seconds:g} s")):
            r = run("sqlite", "noop", n, 32, {}, checkpoint_seconds=every)
            show(f"{label} #{i + 1}", r)
            rates.append(r["per_second"])
    a, b = statistics.median(plain), statistics.median(with_job)
    print(f"median without {a:.0f}/s, with the checkpoint job every {seconds:g} s {b:.0f}/s: "
          f"{(a - b) / a * 100:+.1f} % (in service it runs every "
          f"{CHECKPOINT_SECONDS:.0f} s)")


def scale(n: int, times: int, in_flight: int) -> float:
    """One ``publisher worker`` against four on PostgreSQL, ``in_flight`` sends each, with the
    workers' CPU time per publication (the machine's two cores are shared with PostgreSQL and
    the receiver). Returns how many times one worker's rate four reach."""
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    receiver = ctx.Process(target=_serve, args=(ports,), daemon=True)
    receiver.start()
    hook = {"url": f"http://127.0.0.1:{ports.get(timeout=10)}/hook"}
    ideal = in_flight / RECEIVER_DELAY
    medians = []
    try:
        for processes in (1, 4):
            count = n * processes
            rates, cpu = [], []
            for i in range(times):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                r = run("postgresql", "webhook", count, in_flight * processes, hook,
                        processes=processes, separate=True)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                show(f"{processes} worker(s) x{in_flight} #{i + 1}", r)
                rates.append(r["per_second"])
                cpu.append(used / count * 1000)
            medians.append(statistics.median(rates))
            print(f"{f'{processes} worker(s) x{in_flight}: median':<34} {medians[-1]:7.0f}/s "
                  f"(ideal {ideal * processes:.0f}/s); workers' CPU "
                  f"{statistics.median(cpu):.2f} ms per publication")
    finally:
        receiver.terminate()
    factor = medians[1] / medians[0]
    print(f"4 workers x{in_flight}: {factor:.2f} x one worker")
    return factor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--http-n", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-noop", action="store_true")
    parser.add_argument("--scale", action="store_true",
                        help="PostgreSQL only: one worker process against four")
    parser.add_argument("--checkpoint-seconds", type=float, default=None,
                        help="only the no-op case on SQLite, alternating runs without and with "
                             "the audit checkpoint job every this many seconds")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
          f"{interpreter_speed():.1f} M loop iterations/s (same VM kind, different days: "
          "compare figures only at a similar speed)")
    if args.checkpoint_seconds:
        checkpoint_cost(args.n, args.repeat, args.checkpoint_seconds)
        return
    if args.scale:
        if not os.environ.get("PUBLISHER_BENCH_POSTGRES_URL"):
            raise SystemExit("--scale needs PUBLISHER_BENCH_POSTGRES_URL")
        for in_flight in (8, 32):
            scale(args.http_n, args.repeat, in_flight)
        return
    backends = ["sqlite"]
    if os.environ.get("PUBLISHER_BENCH_POSTGRES_URL"):
        backends.append("postgresql")
    for backend in [] if args.skip_noop else backends:
        repeated(f"no-op, {backend}", args.repeat,
                 lambda backend=backend: run(backend, "noop", args.n, 32, {}))
    if args.skip_http:
        return
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    receiver = ctx.Process(target=_serve, args=(ports,), daemon=True)
    receiver.start()
    port = ports.get(timeout=10)
    hook = {"url": f"http://127.0.0.1:{port}/hook"}
    try:
        floor = statistics.median(client_floor(port, args.http_n, 32) for _ in range(3))
        print(f"{'bare http.client x32: median':<34} {floor:7.0f}/s (the machine's floor)")
        for backend in backends:
            rates = repeated(f"webhook 50 ms x32, {backend}", args.repeat,
                             lambda backend=backend: run(backend, "webhook", args.http_n, 32,
                                                         hook))
            median = statistics.median(rates)
            print(f"{'':<34} {median / 640 * 100:.1f} % of the ideal 640/s, "
                  f"{median / floor * 100:.1f} % of the bare-client floor")
            rates = repeated(f"webhook 50 ms x32, {backend}, 2 workers", args.repeat,
                             lambda backend=backend: run(backend, "webhook", args.http_n, 32,
                                                         hook, processes=2))
            print(f"{'':<34} {statistics.median(rates) / 640 * 100:.1f} % of the ideal 640/s "
                  "(two `publisher worker` processes, 16 in flight each)")
    finally:
        receiver.terminate()


if __name__ == "__main__":
    main()
