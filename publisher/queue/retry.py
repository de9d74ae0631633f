"""One retry policy decides what every channel error means for a publication."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..channels.base import AuthError, ChannelError, PermanentError, RateLimited, TransientError
from ..models import ChannelStatus, PublicationStatus


@dataclass(frozen=True)
class Decision:
    """What happens to a publication after a failed attempt."""

    status: str
    due_at: datetime | None
    error_kind: str
    message: str
    needs_reconcile: bool = False
    #: Rate limits are the platform's pacing, not our failure: they do not use up attempts.
    refund_attempt: bool = False
    channel_status: str | None = None


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

    def decide(self, error: BaseException, attempts: int, now: datetime) -> Decision:
        """The decision for ``error`` raised on attempt number ``attempts``."""
        message = error.message if isinstance(error, ChannelError) else (
            f"Kesalahan tak terduga saat mengirim ({type(error).__name__}); akan dicoba lagi."
        )
        if isinstance(error, AuthError):
            return Decision(
                PublicationStatus.HELD, None, "auth",
                f"Saluran perlu disambungkan ulang: {message}",
                channel_status=ChannelStatus.NEEDS_REAUTH,
            )
        if isinstance(error, PermanentError):
            return Decision(PublicationStatus.FAILED, None, "permanent", message)
        if isinstance(error, RateLimited):
            wait = error.retry_after if error.retry_after is not None else self.backoff(attempts)
            return Decision(
                PublicationStatus.RETRYING, now + timedelta(seconds=max(1.0, wait)),
                "rate_limited", message, refund_attempt=True,
            )
        uncertain = error.uncertain if isinstance(error, TransientError) else True
        if attempts >= self.max_attempts:
            return Decision(
                PublicationStatus.FAILED, None, "transient",
                f"Gagal setelah {attempts} kali percobaan. Kesalahan terakhir: {message}",
                needs_reconcile=uncertain,
            )
        return Decision(
            PublicationStatus.RETRYING, now + timedelta(seconds=self.backoff(attempts)),
            "transient", message, needs_reconcile=uncertain,
        )
