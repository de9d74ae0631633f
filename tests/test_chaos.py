"""Exactly once under a seeded fault schedule (bounded): every channel kind against its
loopback peer, worker processes killed and paused past their lease, on SQLite and on
PostgreSQL; the verdict comes from what the peers hold (see :mod:`tests.chaos`).

``PUBLISHER_CHAOS_SEED`` replays a seed; ``bench/soak_exactly_once.py`` runs the long soak.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .chaos import ChaosConfig, replay_hint, run_chaos

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("PUBLISHER_CHAOS_SEED") or 20261205)


def test_every_publication_exists_exactly_once_on_its_peer(tmp_path: Path,
                                                           database_url: str) -> None:
    report = run_chaos(tmp_path, database_url, ChaosConfig(seed=SEED))
    assert report.ok, replay_hint(report) + "\n" + "\n".join(report.problems)
    assert report.publications == 40
    assert sum(n for k, n in report.faults.items() if k != "pass") > 20
    assert report.kills + report.pauses >= 2
