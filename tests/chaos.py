"""The fault-schedule harness: every channel kind against its loopback peer, real worker
processes, a seeded schedule of platform faults and of worker kills and pauses; then the
verdict from the peers' side.

One run (:func:`run_chaos`):

1. starts the peers — the Graph test server (a Facebook Page and its Instagram account), a
   webhook receiver that answers lookups and one that does not, a WordPress REST peer — each
   consulting its own :class:`~tests.faults.FaultSchedule` (transient errors, writes applied
   with their answer lost, dropped connections, rate limits with the platform's signals, slow
   answers);
2. queues items for all five channels (text only, one photo, two photos) and starts
   ``publisher worker`` processes with a short lease;
3. while the faults last, SIGKILLs workers (and starts new ones) and SIGSTOPs them for longer
   than the lease, at seeded moments;
4. stops the faults and waits for every publication to finish;
5. asks the peers what they hold: each publication exists exactly once (a webhook without
   lookup: at least once, under one id), nothing ``failed`` exists on a peer, every published
   row names the object the peer holds, and ``audit verify`` passes.

The seed fixes the faults and the moments of the kills and pauses; the interleaving of
processes still varies, so a failing seed is reported for replay (``PUBLISHER_CHAOS_SEED``).
Used by ``tests/test_chaos.py`` (bounded) and ``bench/soak_exactly_once.py`` (long).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import make_server

from publisher import audit
from publisher import graph as graph_module
from publisher.channels.webhook import new_signing_secret
from publisher.channels.wordpress import post_slug
from publisher.config import Settings
from publisher.models import Channel, Item, Publication, PublicationStatus, Role
from publisher.runtime import Runtime
from publisher.services import items as item_service
from publisher.services.media import store_image
from publisher.timeutil import utcnow

from .conftest import make_settings
from .factories import Factory
from .faults import FaultSchedule, Rates
from .graph_server import GraphServer
from .meta_fixtures import IG_ID, PAGE_ID, jpeg_bytes
from .webhook_receiver import WebhookReceiver
from .wordpress_peer import APP_PASSWORD, USER, WordPressPeer

FINAL = {PublicationStatus.PUBLISHED, PublicationStatus.FAILED, PublicationStatus.BLOCKED,
         PublicationStatus.CANCELLED}
KINDS = ("facebook", "instagram", "webhook+lookup", "webhook", "wordpress")


@dataclass(frozen=True)
class ChaosConfig:
    """One run's size and schedule."""

    seed: int
    items: int = 8
    workers: int = 2
    lease_seconds: int = 2
    fault_seconds: float = 16.0
    #: Mean seconds between two worker kills or pauses.
    chaos_every: float = 4.0
    settle_seconds: float = 120.0
    rates: Rates = field(default_factory=Rates)


@dataclass
class ChaosReport:
    """What a run did and what the peers hold."""

    seed: int
    database: str
    publications: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    pauses: int = 0
    duplicates: int = 0
    lost: int = 0
    failed_but_present: int = 0
    redeliveries: int = 0
    unfinished: int = 0
    verify_ok: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        faults = sum(n for k, n in self.faults.items() if k != "pass")
        return (f"seed {self.seed} on {self.database}: {self.publications} publications, "
                f"{faults} faults ({dict(sorted(self.faults.items()))}), {self.kills} kills, "
                f"{self.pauses} pauses; duplicates {self.duplicates}, lost {self.lost}, "
                f"failed yet on the peer {self.failed_but_present}, unfinished "
                f"{self.unfinished}, webhook redeliveries {self.redeliveries}, verify "
                f"{'OK' if self.verify_ok else 'FAILED'}; {self.seconds:.0f} s")


@dataclass
class _Peers:
    graph: GraphServer
    hook_lookup: WebhookReceiver
    hook_plain: WebhookReceiver
    wordpress: WordPressPeer
    secret: str

    def schedules(self) -> list[FaultSchedule]:
        return [s for s in (self.graph.state.schedule, self.hook_lookup.schedule,
                            self.hook_plain.schedule, self.wordpress.schedule) if s]


@contextmanager
def _peers(seed: int, rates: Rates) -> Iterator[_Peers]:
    with ExitStack() as stack:
        graph = GraphServer()
        stack.callback(graph.close)
        graph.state.add_page(PAGE_ID, "Dinas Kesehatan", ig=(IG_ID, "dinkes_contoh"),
                             quota_total=1000)
        secret = new_signing_secret()
        peers = _Peers(graph, stack.enter_context(WebhookReceiver(secret)),
                       stack.enter_context(WebhookReceiver(secret)),
                       stack.enter_context(WordPressPeer()), secret)
        graph.state.schedule = FaultSchedule(seed * 10 + 1, rates)
        peers.hook_lookup.schedule = FaultSchedule(seed * 10 + 2, rates)
        peers.hook_plain.schedule = FaultSchedule(seed * 10 + 3, rates)
        peers.wordpress.schedule = FaultSchedule(seed * 10 + 4, rates)
        yield peers


@contextmanager
def _media_server(runtime: Runtime) -> Iterator[str]:
    """The app on a loopback port: Meta's fake downloads the images from here."""
    from publisher.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per image fetched
    app = create_app(runtime=runtime, test_config={"TESTING": True})
    web = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{web.server_port}"
    finally:
        web.shutdown()


def _world(make: Factory, peers: _Peers, config: ChaosConfig) -> None:
    """The OPD, its five channels and ``config.items`` approved items due now."""
    runtime = make.runtime
    opd = make.opd("Dinas Kesehatan")
    editor, approver = make.person(Role.EDITOR, opd), make.person(Role.APPROVER, opd)
    token = next(iter(peers.graph.state.pages.values()))["token"]
    channels = [
        make.channel(opd, "facebook", "Facebook", config={"page_id": PAGE_ID},
                     secrets={"page_token": token}),
        make.channel(opd, "instagram", "Instagram",
                     config={"ig_user_id": IG_ID, "poll_seconds": 0.3},
                     secrets={"page_token": token}),
        make.channel(opd, "webhook", "CMS (lookup)",
                     config={"url": peers.hook_lookup.url,
                             "lookup_url": peers.hook_lookup.lookup_url},
                     secrets={"signing_secret": peers.secret}),
        make.channel(opd, "webhook", "CMS", config={"url": peers.hook_plain.url},
                     secrets={"signing_secret": peers.secret}),
        make.channel(opd, "wordpress", "WordPress",
                     config={"url": peers.wordpress.url, "username": USER},
                     secrets={"app_password": APP_PASSWORD}),
    ]
    ids = [c.id for c in channels]
    # Due one after another across the fault window (the first soon after the workers
    # start), so kills and pauses meet sends, not idle workers.
    spread = config.fault_seconds * 0.8 / max(1, config.items)
    first = utcnow() + timedelta(seconds=3)
    for n in range(config.items):
        title = f"Info {config.seed}-{n} jadwal layanan kesehatan"
        due = first + timedelta(seconds=n * spread)
        item = make.item(editor, opd, ids, title=title,
                         body_html=f"<p>{title}: informasi untuk warga.</p>",
                         schedule={"mode": "at", "at": due.isoformat()})
        for photo in range(2 - n % 3):  # two photos, one, none (then a generated card)
            with runtime.db.write() as s:
                store_image(s, editor.principal, runtime.settings, s.get_one(Item, item.id),
                            jpeg_bytes(1200, 900, ("#1f5f8b", "#8b1f3a")[photo]),
                            alt_text=f"Foto {photo + 1} {title}", filename="foto.jpg")
        with runtime.db.write() as s:
            item_service.submit_item(s, editor.principal, runtime.settings, item.id)
        with runtime.db.write() as s:
            item_service.approve_item(s, approver.principal, runtime.settings, item.id)


class _Workers:
    """``publisher worker`` processes, killed, paused and restarted on a seeded schedule."""

    def __init__(self, settings: Settings, config: ChaosConfig, logs: Path) -> None:
        self.settings = settings
        self.config = config
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.paused: set[int] = set()
        self.kills = 0
        self.pauses = 0
        self.lock = threading.Lock()
        self.started = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PUBLISHER_DATABASE_URL": self.settings.database_url,
            "PUBLISHER_SECRET_KEY": self.settings.secret_key,
            "PUBLISHER_INSTANCE_PATH": str(self.settings.instance_path),
            "PUBLISHER_PUBLIC_BASE_URL": self.settings.public_base_url,
            "PUBLISHER_ALLOW_LOOPBACK": "true",
            "PUBLISHER_GRAPH_URL": self.settings.graph_url,
            "PUBLISHER_LEASE_SECONDS": str(self.config.lease_seconds),
            "PUBLISHER_RETRY_BASE_SECONDS": "0.2",
            "PUBLISHER_RETRY_CAP_SECONDS": "2",
            "PUBLISHER_HTTP_TIMEOUT": "2",
            # enough that transient faults alone never exhaust them: the harness asks
            # whether each publication ends exactly once, not how often a storm fails one
            "PUBLISHER_MAX_ATTEMPTS": "30",
            "PUBLISHER_CONCURRENCY": "4",
            "PUBLISHER_LOG_LEVEL": "WARNING",
        }
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        return subprocess.Popen([sys.executable, "-m", "publisher", "worker", "--grace", "5"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.procs = [self._start() for _ in range(self.config.workers)]

    def chaos(self, until: float, stop: threading.Event) -> None:
        """Kill or pause a worker every ``chaos_every`` seconds on average until ``until``."""
        rng = random.Random(self.config.seed)
        while not stop.is_set():
            wait = rng.expovariate(1 / self.config.chaos_every)
            if time.monotonic() + wait >= until or stop.wait(wait):
                return
            slot = rng.randrange(len(self.procs))
            pause_for = self.config.lease_seconds + rng.uniform(1.0, 2.0)
            kill = rng.random() < 0.5
            with self.lock:
                if slot in self.paused:
                    continue
                proc = self.procs[slot]
                if kill:
                    proc.kill()
                    proc.wait(10)
                    self.procs[slot] = self._start()
                    self.kills += 1
                    continue
                proc.send_signal(signal.SIGSTOP)
                self.paused.add(slot)
                self.pauses += 1
            timer = threading.Timer(pause_for, self._resume, args=(slot, proc))
            timer.daemon = True
            timer.start()

    def _resume(self, slot: int, proc: subprocess.Popen[bytes]) -> None:
        with self.lock:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
            self.paused.discard(slot)

    def resume_all(self) -> None:
        with self.lock:
            for slot in list(self.paused):
                if self.procs[slot].poll() is None:
                    self.procs[slot].send_signal(signal.SIGCONT)
            self.paused.clear()

    def stop(self) -> None:
        self.resume_all()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _unfinished(runtime: Runtime) -> list[tuple[int, str]]:
    with runtime.db.read() as s:
        return [(pid, status) for pid, status in s.execute(
            select(Publication.id, Publication.status).where(Publication.status.not_in(FINAL)))]


def run_chaos(tmp_path: Path, database_url: str, config: ChaosConfig) -> ChaosReport:
    """One run; the report names every problem found (``report.ok`` when there is none)."""
    started = time.monotonic()
    graph_module.throttle.reset()
    report = ChaosReport(config.seed, database_url.split(":", 1)[0].split("+")[0])
    logs = tmp_path / "worker-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with _peers(config.seed, config.rates) as peers:
        settings = make_settings(tmp_path, database_url, graph_url=peers.graph.url,
                                 lease_seconds=config.lease_seconds)
        runtime = Runtime(settings)
        try:
            with _media_server(runtime) as base_url:
                settings.public_base_url = base_url
                _world(Factory(runtime), peers, config)
                workers = _Workers(settings, config, logs)
                workers.start()
                stop = threading.Event()
                chaos = threading.Thread(target=workers.chaos, args=(
                    time.monotonic() + config.fault_seconds, stop), daemon=True)
                try:
                    chaos.start()
                    time.sleep(config.fault_seconds)
                    stop.set()
                    chaos.join(30)
                    workers.resume_all()
                    for schedule in peers.schedules():
                        schedule.stop()
                    deadline = time.monotonic() + config.settle_seconds
                    while _unfinished(runtime) and time.monotonic() < deadline:
                        time.sleep(0.5)
                finally:
                    stop.set()
                    workers.stop()
                report.kills, report.pauses = workers.kills, workers.pauses
                for schedule in peers.schedules():
                    report.faults.update(schedule.counts)
                _judge(runtime, peers, report, logs)
        finally:
            runtime.db.dispose()
            graph_module.throttle.reset()
    report.seconds = time.monotonic() - started
    return report


def _judge(runtime: Runtime, peers: _Peers, report: ChaosReport, logs: Path) -> None:
    """Compare what the peers hold with our rows, publication by publication."""
    with runtime.db.read() as s:
        rows = s.execute(
            select(Publication.id, Publication.status, Publication.remote_id,
                   Publication.fingerprint, Channel.kind, Channel.config, Item.title, Item.slug,
                   Publication.last_error)
            .join(Channel, Channel.id == Publication.channel_id)
            .join(Item, Item.id == Publication.item_id)
            .order_by(Publication.id)
        ).all()
        verdict = audit.verify(s)
    report.publications = len(rows)
    report.verify_ok = verdict.ok
    if not verdict.ok:
        report.problems += [f"audit verify: {p}" for p in verdict.problems[:10]]
    graph = peers.graph.state
    for pid, status, remote_id, fingerprint, kind, config, title, slug, error in rows:
        held: list[str]  # the ids of the objects the peer holds for this publication
        if kind == "facebook":
            held = [p["id"] for p in graph.page_posts(PAGE_ID) if title in p["message"]]
        elif kind == "instagram":
            held = [m["id"] for m in graph.ig_media(IG_ID) if title in (m["caption"] or "")]
        elif kind == "wordpress":
            prefix = post_slug(slug or title, fingerprint)
            held = [str(p["id"]) for p in peers.wordpress.posts_with_slug_prefix(prefix)]
        else:
            receiver = peers.hook_lookup if config.get("lookup_url") else peers.hook_plain
            stored = receiver.stored.get(fingerprint)
            held = [stored["post_id"]] if stored else []
            report.redeliveries += max(0, receiver.deliveries[fingerprint] - 1)
        name = f"publication #{pid} ({kind}, {status})"
        if status not in FINAL:
            report.unfinished += 1
            report.problems.append(f"{name} did not finish")
        if len(held) > 1:
            report.duplicates += 1
            report.problems.append(f"{name} exists {len(held)} times on the peer: {held}")
        if status == PublicationStatus.PUBLISHED:
            if not held:
                report.lost += 1
                report.problems.append(f"{name} is not on the peer")
            elif remote_id not in held:
                report.problems.append(f"{name} names {remote_id}, the peer holds {held}")
        elif status == PublicationStatus.FAILED:
            if held:
                report.failed_but_present += 1
                report.problems.append(f"{name} failed, yet the peer holds {held}")
            else:
                report.lost += 1
                report.problems.append(f"{name} failed under transient faults only: {error}")
    if report.problems:
        tails = [p.read_text(errors="replace")[-1500:] for p in sorted(logs.glob("*.log"))]
        report.problems.append("worker logs (tails):\n" + "\n---\n".join(t for t in tails if t))


def replay_hint(report: ChaosReport) -> str:
    return (f"{report.summary()}\nreplay: PUBLISHER_CHAOS_SEED={report.seed} "
            "pytest tests/test_chaos.py")


__all__ = ["ChaosConfig", "ChaosReport", "Rates", "replay_hint", "run_chaos"]
