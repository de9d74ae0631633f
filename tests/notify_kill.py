"""Kill a notification worker mid-batch and let a second one finish: the shared part of the
email and Telegram exactly-once tests."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable

from sqlalchemy import func, select

from publisher.models import Notification, NotificationStatus
from publisher.runtime import Runtime

from .worker_process import start_worker, wait_for

#: Short leases: the second worker takes the killed one's claims over within seconds.
_LEASE = {"PUBLISHER_LEASE_SECONDS": "3"}


def kill_then_resume(runtime: Runtime, env: dict[str, str], delivery: str, n: int,
                     holding: threading.Event, received: Callable[[], int]) -> None:
    """Start a worker, SIGKILL it once the peer sets ``holding`` (a sent message's answer
    outstanding), check it left claimed rows and unsent messages behind, then run a second
    worker until all ``n`` rows of ``delivery`` are sent and stop it with SIGTERM."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        first = start_worker(runtime.settings, {**_LEASE, **env})
        procs.append(first)
        assert holding.wait(60), "the first worker sent nothing"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with runtime.db.read() as s:
            stranded = s.scalar(select(func.count()).where(
                Notification.status == NotificationStatus.SENDING)) or 0
        assert stranded > 0, "the kill should leave claimed notifications behind"
        assert received() < n
        second = start_worker(runtime.settings, {**_LEASE, **env})
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
