"""A ``publisher worker`` subprocess on a test's database, and polling until something holds:
for the tests that kill and restart workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from publisher.config import Settings


def start_worker(settings: Settings, extra_env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    """``publisher worker`` on ``settings``' database and instance, plus ``extra_env``."""
    env = {
        **os.environ,
        "PUBLISHER_DATABASE_URL": settings.database_url,
        "PUBLISHER_SECRET_KEY": settings.secret_key,
        "PUBLISHER_INSTANCE_PATH": str(settings.instance_path),
        "PUBLISHER_PUBLIC_BASE_URL": settings.public_base_url,
        "PUBLISHER_ALLOW_LOOPBACK": "true",
        "PUBLISHER_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    return subprocess.Popen([sys.executable, "-m", "publisher", "worker", "--grace", "10"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
