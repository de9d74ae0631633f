"""Login attempt limiting, kept in memory.

Failed sign-ins are counted per (username, client IP) and per IP within a sliding window.
The counters live in this process only: they reset on restart, and with several web processes
each one counts on its own (so the effective limit is multiplied by the process count). At most
``max_keys`` keys are remembered; the oldest are forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class LoginLimiter:
    """``per_user`` failures per username+IP and ``per_ip`` per IP within ``window`` seconds."""

    def __init__(self, per_user: int = 5, per_ip: int = 30, window: float = 900.0,
                 max_keys: int = 10_000) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str]:
        return f"u:{username.strip().lower()}|{ip}", f"ip:{ip}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked_for(self, username: str, ip: str) -> float:
        """Seconds until this user+IP may try again (0: allowed now)."""
        now = time.monotonic()
        user_key, ip_key = self._keys(username, ip)
        with self._lock:
            wait = 0.0
            for key, limit in ((user_key, self.per_user), (ip_key, self.per_ip)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[0] + self.window - now)
            return wait

    def failed(self, username: str, ip: str) -> None:
        """Count one failed sign-in."""
        now = time.monotonic()
        with self._lock:
            for key in self._keys(username, ip):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, ip: str) -> None:
        """Forget this user+IP's failures after a good sign-in."""
        with self._lock:
            self._failures.pop(self._keys(username, ip)[0], None)
