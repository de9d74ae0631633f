"""The sender threads: all there before the first send, nothing started after close."""

from __future__ import annotations

import gc
import threading

from publisher.queue.senders import SenderPool

from .waiting import eventually


def _names(prefix: str) -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(prefix + "-")}


def test_start_brings_up_every_thread_before_any_job() -> None:
    pool = SenderPool(6, name="warm")
    assert not _names("warm")
    pool.start()
    assert _names("warm") == {f"warm-{i}" for i in range(6)}
    pool.close()
    assert eventually(lambda: not _names("warm"))


def test_jobs_run_in_parallel_on_the_pool_threads() -> None:
    pool = SenderPool(4, name="par")
    barrier = threading.Barrier(4, timeout=5)
    ran: list[str] = []

    def job() -> None:
        barrier.wait()  # only passes when four jobs run at once
        ran.append(threading.current_thread().name)

    for _ in range(4):
        pool.submit(0, job)
    assert eventually(lambda: len(ran) == 4)
    assert set(ran) == {f"par-{i}" for i in range(4)}
    pool.close()


def test_close_drops_queued_jobs_and_lets_the_running_one_finish() -> None:
    pool = SenderPool(1, name="close")
    release = threading.Event()
    started, finished, late = threading.Event(), threading.Event(), threading.Event()

    def running() -> None:
        started.set()
        release.wait(5)
        finished.set()

    pool.submit(1, running)
    pool.submit(2, late.set)  # queued behind the running job
    assert started.wait(5)
    assert pool.close() == {1}, "close() names the jobs already running, and only those"
    release.set()
    assert finished.wait(5), "the running job was cut off"
    assert eventually(lambda: not _names("close"))
    assert not late.is_set(), "a queued job started after close()"


def test_submit_after_close_is_refused() -> None:
    pool = SenderPool(2, name="shut")
    pool.close()
    try:
        pool.submit(1, lambda: None)
    except RuntimeError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed pool accepted a job")
    pool.start()
    assert not _names("shut"), "a closed pool started threads"


def test_a_pool_dropped_without_close_lets_its_threads_exit() -> None:
    pool = SenderPool(3, name="dropped")
    done = threading.Event()
    pool.submit(1, done.set)
    assert done.wait(5)
    del pool
    gc.collect()
    assert eventually(lambda: not _names("dropped")), "threads outlived their pool"
