"""``publisher run/web/worker`` as real processes: first run, the demo end to end, SIGTERM."""

from __future__ import annotations

import html
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest
import requests
from sqlalchemy import create_engine, select, text

from publisher import demo
from publisher.models import User
from publisher.security import verify_password


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running ``publisher`` process and where its output goes."""

    proc: subprocess.Popen[bytes]
    base: str
    instance: Path
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def stop(self) -> int:
        """SIGTERM, and the exit code (the process must end within 40 s)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=40)


@contextmanager
def publisher(tmp_path: Path, *args: str, port: int | None = None,
              env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start ``python -m publisher <args>`` on a fresh instance folder (SQLite by default)."""
    instance = tmp_path / "instance"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    clean.update({"PUBLISHER_INSTANCE_PATH": str(instance), **(env or {})})
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    extra = ["--port", str(port)] if port else []
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "publisher", *args, *extra],
                                stdout=o, stderr=e, env=clean, cwd=tmp_path)
    served = Served(proc, f"http://127.0.0.1:{port}", instance, out, err)
    try:
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_until_healthy(served: Served, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert served.proc.poll() is None, f"exited early:\n{served.stderr()}"
        try:
            if requests.get(f"{served.base}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"no answer on {served.base}/healthz within {timeout} s:\n{served.stderr()}")


def one_time_password(stdout: str, label: str) -> str:
    line = next(line for line in stdout.splitlines() if label in line)
    return line.split(":", 1)[1].split()[0]


def test_web_creates_the_admin_on_first_run_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with publisher(tmp_path, "web", port=port) as served:
        wait_until_healthy(served)
        assert served.stop() == 0, served.stderr()
        stdout, stderr = served.stdout(), served.stderr()
    password = one_time_password(stdout, "kata sandi")
    assert "publisher user password admin" in stdout
    assert password not in stderr  # secrets never reach the log
    assert "Traceback" not in stderr
    engine = create_engine(f"sqlite:///{served.instance / 'publisher.db'}")
    with engine.connect() as conn:
        row = conn.execute(select(User.password_hash).where(User.username == "admin")).one()
    engine.dispose()
    assert verify_password(row.password_hash, password)


def test_worker_stops_on_sigterm_and_removes_its_heartbeat(tmp_path: Path) -> None:
    with publisher(tmp_path, "worker") as served:
        db = served.instance / "publisher.db"
        deadline = time.monotonic() + 30
        beats = 0
        while time.monotonic() < deadline and not beats:
            assert served.proc.poll() is None, served.stderr()
            if db.exists():
                engine = create_engine(f"sqlite:///{db}")
                try:
                    with engine.connect() as conn:
                        beats = conn.execute(text("SELECT count(*) FROM worker_heartbeat")).scalar()
                except Exception:  # the schema is still being created
                    beats = 0
                engine.dispose()
            time.sleep(0.2)
        assert beats == 1, served.stderr()
        assert served.stop() == 0, served.stderr()
        assert "Traceback" not in served.stderr()
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM worker_heartbeat")).scalar() == 0
    engine.dispose()


@pytest.mark.slow
def test_demo_items_appear_on_the_site_feeds_and_dip_within_a_minute(tmp_path: Path) -> None:
    port = free_port()
    with publisher(tmp_path, "run", "--demo", port=port) as served:
        wait_until_healthy(served)
        stdout = served.stdout()
        for username in ("kominfo.editor", "kominfo.approver", "seirampah.approver"):
            assert username in stdout
        expected = {
            spec.slug: [d.title for d in demo.ITEMS if d.opd == spec.slug] for spec in demo.OPDS
        }
        missing: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            missing = list(_missing(served.base, expected))
            if not missing:
                break
            time.sleep(1)
        assert not missing, f"not published within 60 s: {missing}\n{served.stderr()}"

        assert served.stop() == 0, served.stderr()
        assert "Traceback" not in served.stderr()


def _missing(base: str, expected: dict[str, list[str]]) -> Iterator[str]:
    """Every (page, title) where a demo item is not shown yet."""
    for slug, titles in expected.items():
        page = requests.get(f"{base}/o/{slug}/", timeout=10)
        dip = requests.get(f"{base}/o/{slug}/dip", timeout=10)
        feeds = {kind: feedparser.parse(requests.get(f"{base}/o/{slug}/feed.{kind}",
                                                     timeout=10).content)
                 for kind in ("rss", "atom")}
        for title in titles:
            if page.status_code != 200 or title not in html.unescape(page.text):
                yield f"/o/{slug}/: {title}"
            if dip.status_code != 200 or title not in html.unescape(dip.text):
                yield f"/o/{slug}/dip: {title}"
            for kind, feed in feeds.items():
                entries = [e for e in feed.entries if e.title == title]
                if feed.bozo or not entries:
                    yield f"/o/{slug}/feed.{kind}: {title}"
                    continue
                item_page = requests.get(entries[0].link, timeout=10)
                if item_page.status_code != 200 or title not in html.unescape(item_page.text):
                    yield f"{entries[0].link}: {title}"
