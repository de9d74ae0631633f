"""Kill a notification worker mid-batch and let a second one finish: the shared part of the
email and Telegram exactly-once tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from publisher.models import Notification, NotificationStatus
from publisher.runtime import Runtime


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_worker(runtime: Runtime, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``publisher worker`` on ``runtime``'s database with a 3 s lease, plus ``env``."""
    settings = runtime.settings
    full = {**os.environ,
            "PUBLISHER_DATABASE_URL": settings.database_url,
            "PUBLISHER_SECRET_KEY": settings.secret_key,
            "PUBLISHER_INSTANCE_PATH": str(settings.instance_path),
            "PUBLISHER_PUBLIC_BASE_URL": settings.public_base_url,
            "PUBLISHER_LOG_LEVEL": "WARNING",
            "PUBLISHER_LEASE_SECONDS": "3",
            **env}
    return subprocess.Popen([sys.executable, "-m", "publisher", "worker", "--grace", "10"],
                            env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_then_resume(runtime: Runtime, env: dict[str, str], delivery: str, n: int,
                     holding: threading.Event, received: Callable[[], int]) -> None:
    """Start a worker, SIGKILL it once the peer sets ``holding`` (a sent message's answer
    outstanding), check it left claimed rows and unsent messages behind, then run a second
    worker until all ``n`` rows of ``delivery`` are sent and stop it with SIGTERM."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        first = start_worker(runtime, env)
        procs.append(first)
        assert holding.wait(60), "the first worker sent nothing"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with runtime.db.read() as s:
            stranded = s.scalar(select(func.count()).where(
                Notification.status == NotificationStatus.SENDING)) or 0
        assert stranded > 0, "the kill should leave claimed notifications behind"
        assert received() < n
        second = start_worker(runtime, env)
        procs.append(second)

        def all_sent() -> bool:
            with runtime.db.read() as s:
                return (s.scalar(select(func.count()).where(
                    Notification.delivery == delivery,
                    Notification.status == NotificationStatus.SENT)) or 0) >= n

        wait_for(all_sent, 120, f"every {delivery} notification sent")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, second.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
