"""The real WordPress of ``../shared/wordpress`` for integration tests.

``wordpress`` (session fixture) runs ``start.sh`` (idempotent: installs what is missing, starts
what is not running; as root) and returns the site and its application password. Where it
cannot run, the test is skipped with the reason, unless ``PUBLISHER_TEST_REQUIRE`` is set (CI),
where it fails instead. ``PUBLISHER_TEST_WP_START`` points at another start.sh.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
START = Path(os.environ.get("PUBLISHER_TEST_WP_START")
             or REPO.parent / "shared" / "wordpress" / "start.sh")


@dataclass(frozen=True)
class WordPressSite:
    """A running WordPress and the credentials start.sh printed."""

    url: str
    user: str
    app_password: str
    rest: str
    feed: str


def _unavailable(reason: str) -> None:
    if os.environ.get("PUBLISHER_TEST_REQUIRE"):
        pytest.fail(f"real WordPress needed but unavailable: {reason} (PUBLISHER_TEST_REQUIRE "
                    "is set)")
    pytest.skip(f"real WordPress unavailable: {reason}")


@pytest.fixture(scope="session")
def wordpress() -> WordPressSite:
    """Start (or reuse) the real WordPress on 127.0.0.1:8089 and return its credentials."""
    if not START.is_file():
        _unavailable(f"{START} not found (shared/ must sit beside the repository)")
    if os.geteuid() != 0:
        _unavailable("start.sh needs root (apt-get, MariaDB socket, /etc/wordpress)")
    try:
        done = subprocess.run(["bash", str(START)], capture_output=True, text=True,
                              timeout=900, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"start.sh did not finish: {exc}")
        raise AssertionError("unreachable") from exc
    if done.returncode != 0:
        _unavailable(f"start.sh exited {done.returncode}: {done.stderr[-800:]}")
    values = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if "=" in line
    )
    missing = {"WP_URL", "WP_USER", "WP_APP_PASSWORD"} - set(values)
    if missing:
        _unavailable(f"start.sh printed no {', '.join(sorted(missing))}")
    url = values["WP_URL"].rstrip("/")
    return WordPressSite(
        url=url, user=values["WP_USER"], app_password=values["WP_APP_PASSWORD"],
        rest=values.get("WP_REST", url + "/wp-json/"), feed=values.get("WP_FEED", url + "/feed/"),
    )
