"""A seeded schedule of platform faults that the loopback peers consult on every API request.

Each request gets one of: ``pass``; ``error`` (a transient error answered, nothing applied);
``lost`` (the request is carried out, then the connection is dropped: a write whose answer is
lost); ``drop`` (the connection is dropped before anything happens); ``rate`` (a rate limit
with the platform's own signals); ``slow`` (answered late, within the client's timeout). The
sequence of decisions is fixed by the seed, so a failing run names its seed and replays the
same faults in the same order of requests.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

ACTIONS = ("error", "lost", "drop", "rate", "slow")


@dataclass(frozen=True)
class Rates:
    """The chance of each fault per request (the rest pass)."""

    error: float = 0.12
    lost: float = 0.08
    drop: float = 0.04
    rate: float = 0.05
    slow: float = 0.04

    def total(self) -> float:
        return self.error + self.lost + self.drop + self.rate + self.slow


class FaultSchedule:
    """Decides, request by request, what a peer does; counts what it injected."""

    def __init__(self, seed: int, rates: Rates | None = None, slow_seconds: float = 0.4) -> None:
        self.seed = seed
        self.rates = rates or Rates()
        self.slow_seconds = slow_seconds
        self.active = True
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def decide(self, write: bool) -> str:
        """The action for the next request (``lost`` only for writes: a read has no effect)."""
        with self._lock:
            draw = self._rng.random()
            if not self.active:
                return "pass"
            edge = 0.0
            for action in ACTIONS:
                edge += getattr(self.rates, action)
                if draw < edge:
                    if action == "lost" and not write:
                        action = "drop"
                    self.counts[action] += 1
                    return action
            self.counts["pass"] += 1
            return "pass"

    def stop(self) -> None:
        """No more faults: the platform recovers."""
        with self._lock:
            self.active = False

    def injected(self) -> int:
        """How many faults were injected."""
        return sum(n for action, n in self.counts.items() if action != "pass")
