"""In-process wake-ups: services call :func:`notify` when work becomes due soon, so a
scheduler in the same process starts it at once instead of at its next tick."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

_listeners: list[Callable[[datetime], None]] = []
_lock = threading.Lock()


def subscribe(listener: Callable[[datetime], None]) -> None:
    """Call ``listener(due_at)`` whenever new work is scheduled in this process."""
    with _lock:
        _listeners.append(listener)


def unsubscribe(listener: Callable[[datetime], None]) -> None:
    """Stop calling ``listener``."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def notify(due_at: datetime) -> None:
    """Tell listeners that a publication is due at ``due_at``."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(due_at)
