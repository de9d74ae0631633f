"""The threads that run remote sends: a fixed set, all started together, fed by one queue.

Not ``ThreadPoolExecutor``: it starts a thread per submission until it has enough, so the
first burst after a quiet spell interleaved thread start-ups with the first sends, and every
send paid for a Future and its callback. Here every thread exists before the first job is
queued, and a job is a plain call. :meth:`SenderPool.close` says exactly which jobs had started:
the dispatcher hands back the others and must leave those to finish under their lease.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

_Job = tuple[int, Callable[..., None], tuple[Any, ...]]


class SenderPool:
    """``size`` daemon threads running queued calls; started by :meth:`start` or on the
    first :meth:`submit`."""

    def __init__(self, size: int, name: str = "send") -> None:
        self.size = size
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._state = _State()
        self._started = False

    def submit(self, key: int, fn: Callable[..., None], *args: Any) -> None:
        """Queue ``fn(*args)`` for the next free thread; ``key`` names the job for
        :meth:`close` (``fn`` must not raise)."""
        if self._state.closed:
            raise RuntimeError("sender pool is closed")
        if not self._started:
            self.start()
        self._jobs.put((key, fn, args))

    def start(self) -> None:
        """Start the threads now (a worker does so at start-up, before anything is due)."""
        if self._started or self._state.closed:
            return
        self._started = True
        for i in range(self.size):
            threading.Thread(target=_run, args=(self._jobs, self._state), daemon=True,
                             name=f"{self.name}-{i}").start()
        # A pool dropped without close() (a dispatcher that was never stopped) still lets
        # its threads go: they hold no reference to the pool.
        weakref.finalize(self, _wake_to_exit, self._jobs, self._state, self.size)

    def close(self) -> set[int]:
        """Start nothing more and return the keys of the jobs already running (they finish;
        then the threads exit). Every other job submitted and not finished never started."""
        with self._state.lock:
            self._state.closed = True
            running = set(self._state.running)
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        if self._started:
            for _ in range(self.size):
                self._jobs.put(None)
        return running


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self.running: set[int] = set()


def _run(jobs: queue.SimpleQueue[_Job | None], state: _State) -> None:
    while True:
        job = jobs.get()
        if job is None:
            return
        key, fn, args = job
        with state.lock:  # a job either started before close() or never starts
            if state.closed:
                return
            state.running.add(key)
        try:
            fn(*args)
        finally:
            with state.lock:
                state.running.discard(key)
        del job, fn, args  # do not keep the last job's objects alive while waiting


def _wake_to_exit(jobs: queue.SimpleQueue[_Job | None], state: _State, size: int) -> None:
    # No lock here: the collector may run this in a sender thread that holds it.
    state.closed = True
    for _ in range(size):
        jobs.put(None)
