"""A memory budget for image work, shared by every thread of the process.

Decoding is where memory goes: Pillow keeps 4 bytes a pixel, and a pipeline holds a few copies
(decoded, converted, resized), so a 64-megapixel PNG needs about a gigabyte while its variants
are made. On the 1–2 GB machine a Diskominfo typically has, two phone uploads at the wrong
moment would end the service. So each decode first reserves what it will need
(:func:`reserve`, estimated from the header: pixels after any reduced decode × 4 bytes ×
:data:`COPIES`); a job waits while the reservations of the others would exceed the budget, and
a job larger than the whole budget runs alone. When a large job ends, memory the allocator
kept is handed back to the system (glibc ``malloc_trim``), so an upload burst does not leave
the process at its peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

#: Copies of the decoded picture a pipeline holds at once (decoded, converted or resized, the
#: colour-managed result and the canvas being encoded).
COPIES = 3
#: Bytes Pillow keeps per pixel (RGB is stored as RGBX).
BYTES_PER_PIXEL = 4
#: Jobs at or above this many bytes hand memory back to the system when they end.
TRIM_ABOVE = 64 * 1024 * 1024


#: The default budget; the service sets its own from PUBLISHER_IMAGE_MEMORY_MB.
DEFAULT_LIMIT = 320 * 1024 * 1024


class MemoryBudget:
    """Reservations of bytes, granted while their sum stays within ``limit`` (one job larger
    than the limit is granted when it is alone)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reserved = 0
        self.peak = 0
        self._cond = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Wait until ``nbytes`` fit, hold them for the block, then release (and trim)."""
        nbytes = max(0, int(nbytes))
        with self._cond:
            while self.reserved and self.reserved + nbytes > self.limit:
                self._cond.wait()
            self.reserved += nbytes
            self.peak = max(self.peak, self.reserved)
        try:
            yield
        finally:
            with self._cond:
                self.reserved -= nbytes
                self._cond.notify_all()
            if nbytes >= TRIM_ABOVE:
                trim()


budget = MemoryBudget(DEFAULT_LIMIT)


def estimate(pixels: int) -> int:
    """Bytes a pipeline needs for a picture of ``pixels`` decoded pixels."""
    return pixels * BYTES_PER_PIXEL * COPIES


@contextmanager
def reserve(pixels: int) -> Iterator[None]:
    """Reserve the memory for decoding and working on ``pixels`` pixels (see module doc)."""
    with budget.reserve(estimate(pixels)):
        yield


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def trim() -> None:
    """Give memory the allocator keeps free back to the system (glibc; elsewhere a no-op)."""
    if _LIBC is not None:
        try:
            _LIBC.malloc_trim(0)
        except Exception:  # never let housekeeping break an upload
            log.debug("malloc_trim failed", exc_info=True)
