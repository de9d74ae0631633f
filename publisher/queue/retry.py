"""One retry policy decides what every channel error means for a publication.

Two rules carry the exactly-once promise (see design.md):

* **The reconcile obligation is state.** A write that may have reached the platform sets it;
  only a completed reconciliation clears it (the caller passes ``owes_reconcile``: the
  obligation still open after this attempt). A failed check, or a failure on any later step,
  keeps it.
* **Never ``failed`` while the platform may hold the post.** A publication that owes a
  reconciliation and runs out of attempts (or meets a permanent error while it cannot check)
  becomes ``unconfirmed``: it keeps reconciling on the slow schedule (the backoff cap) and the
  OPD is told what to check.

Attempts count only real send failures: rate limits, quota waits and work the platform is
still doing (``consumes_attempt = False`` on the error) never use one up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..channels.base import AuthError, ChannelError, PermanentError, TransientError
from ..models import ChannelStatus, PublicationStatus


@dataclass(frozen=True)
class Decision:
    """What happens to a publication after a failed attempt."""

    status: str
    due_at: datetime | None
    error_kind: str
    message: str
    needs_reconcile: bool = False
    #: The attempt did not fail for real (a wait, a hold): it does not use one up.
    refund_attempt: bool = False
    channel_status: str | None = None

    @property
    def consumes_attempt(self) -> bool:
        """Whether this outcome counts as one of the publication's failed attempts."""
        return not self.refund_attempt


class RetryPolicy:
    """Exponential backoff with jitter, capped; typed errors decide the outcome."""

    def __init__(
        self,
        max_attempts: int = 8,
        base_seconds: float = 30.0,
        cap_seconds: float = 3600.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds
        self.rng = rng

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` tries: half fixed, half random (equal jitter)."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return ceiling / 2 + self.rng() * ceiling / 2

    def recheck_at(self, now: datetime, wait: float = 0.0) -> datetime:
        """When an unconfirmed publication asks the platform again: the slow schedule."""
        return now + timedelta(seconds=max(wait, self.cap_seconds))

    def decide(
        self, error: BaseException, attempts: int, now: datetime, *,
        owes_reconcile: bool = False, unconfirmed: bool = False,
    ) -> Decision:
        """The decision for ``error``; ``attempts`` counts this attempt if it fails for real.

        ``owes_reconcile``: a write of an earlier attempt may have reached the platform and no
        reconciliation has completed since. ``unconfirmed``: the attempt was a reconciliation
        of an ``unconfirmed`` publication (it never sends).
        """
        message = error.message if isinstance(error, ChannelError) else (
            f"Kesalahan tak terduga saat mengirim ({type(error).__name__}); akan dicoba lagi."
        )
        uncertain = error.uncertain if isinstance(error, TransientError) else (
            not isinstance(error, ChannelError)  # an unexpected crash may follow a write
        )
        owes = owes_reconcile or uncertain
        if isinstance(error, AuthError):
            return Decision(
                PublicationStatus.HELD, None, "auth",
                f"Saluran perlu disambungkan ulang: {message}", needs_reconcile=owes,
                refund_attempt=True, channel_status=ChannelStatus.NEEDS_REAUTH,
            )
        if isinstance(error, PermanentError):
            if owes:  # the platform refused the check itself: a person has to look
                return self._unconfirmed(now, message, 0.0)
            return Decision(PublicationStatus.FAILED, None, "permanent", message)
        waiting = isinstance(error, TransientError) and not error.consumes_attempt
        if unconfirmed:
            wait = float(getattr(error, "retry_after", None) or 0.0) if waiting else 0.0
            return self._unconfirmed(now, message, wait)
        if waiting:
            asked: float | None = getattr(error, "retry_after", None)
            wait = self.backoff(max(1, attempts)) if asked is None else asked
            kind = error.kind if isinstance(error, ChannelError) else "transient"
            return Decision(
                PublicationStatus.RETRYING, now + timedelta(seconds=max(1.0, wait)),
                kind, message, needs_reconcile=owes, refund_attempt=True,
            )
        if attempts >= self.max_attempts:
            if owes:
                return self._unconfirmed(
                    now, f"Belum dapat dipastikan setelah {attempts} kali percobaan. "
                         f"Kesalahan terakhir: {message}", 0.0, consumed=True)
            return Decision(
                PublicationStatus.FAILED, None, "transient",
                f"Gagal setelah {attempts} kali percobaan. Kesalahan terakhir: {message}",
            )
        return Decision(
            PublicationStatus.RETRYING, now + timedelta(seconds=self.backoff(attempts)),
            "transient", message, needs_reconcile=owes,
        )

    def _unconfirmed(
        self, now: datetime, message: str, wait: float, *, consumed: bool = False
    ) -> Decision:
        return Decision(
            PublicationStatus.UNCONFIRMED, self.recheck_at(now, wait), "unconfirmed",
            f"Perlu dicek: kiriman mungkin sudah terbit di platform. {message}",
            needs_reconcile=True, refund_attempt=not consumed,
        )

    def confirmed_absent(self, attempts: int) -> Decision:
        """An unconfirmed publication whose reconciliation found nothing on the platform: it
        failed for good, and a person may send it again."""
        return Decision(
            PublicationStatus.FAILED, None, "transient",
            f"Gagal setelah {attempts} kali percobaan; dipastikan tidak ada di platform. "
            "Kirim ulang bila masih diperlukan.",
            refund_attempt=True,
        )
