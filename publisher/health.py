"""Daily channel health: token validity, permissions and expiry, checked once a day per channel.

A scheduler job (:func:`check_due_channels`, registered in :mod:`publisher.jobs`) runs every
few minutes in every worker. A channel is *claimed* by one conditional UPDATE of
``Channel.health_checked_at`` (due: never checked, checked 24 h ago, or — when the last check
could not reach the platform — an hour ago), so N workers never check it twice. The check
itself runs with no database session open. Outcomes:

* healthy or not, the verdict is stored (``health_ok``, ``health_detail``,
  ``credential_expires_at``);
* the platform could not be reached (TransientError): recorded as "could not check"
  (``health_ok`` NULL), the token is not flagged, and the check is tried again an hour later;
* the credentials are bad (AuthError, or a Health with ``reauth``): the channel becomes
  ``needs_reauth`` — the queue then holds its publications until it is reconnected — and that
  is audited.

:func:`health_out` and :func:`channel_warnings` give the API what to show, including the
warning from 7 days before a token expires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from . import audit
from .channels.base import AuthError, ChannelError, Health, TransientError
from .channels.base import Channel as ChannelImpl
from .channels.meta_connect import EXPIRY_WARNING, expiry_warning
from .channels.meta_media import public_base_url_problem
from .models import Channel, ChannelStatus, Publication, PublicationStatus
from .runtime import Runtime
from .services.auditing import record
from .timeutil import format_local, utcnow

log = logging.getLogger(__name__)

#: How often each channel is checked.
CHECK_EVERY = timedelta(hours=24)
#: When the last check could not reach the platform, try again this much later.
RETRY_UNKNOWN_AFTER = timedelta(hours=1)
#: How often the job looks for due channels (seconds).
JOB_SECONDS = 600.0
#: Channels checked per run of the job at most (the rest wait for the next run).
BATCH = 200


@dataclass(frozen=True)
class CheckResult:
    """What one check found (for logs and tests)."""

    channel_id: int
    ok: bool | None
    detail: str
    needs_reauth: bool = False


def _due(now: datetime) -> Any:
    """SQL condition: the channel's health check is due at ``now``."""
    return and_(
        Channel.status != ChannelStatus.NEEDS_REAUTH,
        or_(
            Channel.health_checked_at.is_(None),
            Channel.health_checked_at <= now - CHECK_EVERY,
            and_(Channel.health_ok.is_(None),
                 Channel.health_checked_at <= now - RETRY_UNKNOWN_AFTER),
        ),
    )


def claim(runtime: Runtime, channel_id: int, now: datetime) -> bool:
    """Take the check of one channel for this worker (False: not due, or another took it)."""
    with runtime.db.write_conn() as conn:
        taken = conn.execute(
            update(Channel)
            .where(Channel.id == channel_id, _due(now))
            .values(health_checked_at=now)
        ).rowcount
    return bool(taken)


def _check(impl: ChannelImpl, channel_id: int) -> Health | TransientError:
    """Call ``check()``; a TransientError is returned (not a verdict), other errors become one."""
    try:
        return impl.check()
    except TransientError as exc:
        return exc
    except AuthError as exc:
        return Health(ok=False, detail=exc.message, reauth=True)
    except ChannelError as exc:
        return Health(ok=False, detail=exc.message)
    except Exception as exc:  # a broken channel must not stop the others' checks
        log.warning("health check of channel %s failed", channel_id, exc_info=True)
        return Health(ok=False, detail=f"Pemeriksaan gagal: {type(exc).__name__}")


def check_channel(runtime: Runtime, channel_id: int, worker_id: str) -> CheckResult | None:
    """Claim, check and record one channel; None when it was not due (or taken)."""
    now = utcnow()
    if not claim(runtime, channel_id, now):
        return None
    with runtime.db.read() as session:
        row = session.get(Channel, channel_id)
        if row is None:
            return None
        impl = runtime.channel(row)
    # No session from here until the answer is in.
    outcome = _check(impl, channel_id)
    return store(runtime, channel_id, outcome, worker_id, now)


def store(
    runtime: Runtime, channel_id: int, outcome: Health | TransientError, worker_id: str,
    checked_at: datetime,
) -> CheckResult | None:
    """Write a check's outcome on the channel (and flag it needs_reauth when due)."""
    with runtime.db.write() as session:
        channel = session.get(Channel, channel_id)
        if channel is None:
            return None
        channel.health_checked_at = checked_at
        if isinstance(outcome, TransientError):
            channel.health_ok = None
            channel.health_detail = (
                f"Tidak dapat diperiksa: {outcome.message} Diperiksa lagi dalam satu jam; "
                "token tidak dianggap rusak."
            )
            return CheckResult(channel_id, None, channel.health_detail)
        channel.health_ok = outcome.ok
        channel.health_detail = outcome.detail
        if outcome.expires_at is not None:
            channel.credential_expires_at = outcome.expires_at
        flagged = False
        if not outcome.ok and outcome.reauth and channel.status == ChannelStatus.ACTIVE:
            channel.status = ChannelStatus.NEEDS_REAUTH
            channel.status_detail = outcome.detail
            channel.updated_at = utcnow()
            record(session, None, "channel.needs_reauth", channel=channel,
                   result=ChannelStatus.NEEDS_REAUTH, error=outcome.detail,
                   detail={"source": "health_check"}, actor=audit.Actor.worker(worker_id))
            flagged = True
        return CheckResult(channel_id, outcome.ok, outcome.detail, needs_reauth=flagged)


def due_channel_ids(runtime: Runtime, now: datetime, limit: int = BATCH) -> list[int]:
    """Channels whose check is due, longest unchecked first."""
    with runtime.db.read() as session:
        return list(session.scalars(
            select(Channel.id).where(_due(now))
            .order_by(Channel.health_checked_at.is_not(None), Channel.health_checked_at,
                      Channel.id)
            .limit(limit)
        ))


def check_due_channels(runtime: Runtime, worker_id: str) -> list[CheckResult]:
    """The periodic job: check every channel that is due (each by one worker only)."""
    results = []
    for channel_id in due_channel_ids(runtime, utcnow()):
        result = check_channel(runtime, channel_id, worker_id)
        if result is not None:
            results.append(result)
            if result.needs_reauth:
                log.warning("channel %s needs reconnecting: %s", channel_id, result.detail)
    return results


# --- what the API shows ---------------------------------------------------------------------


def expires_soon(expires_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a credential expires within 7 days (or already has)."""
    if expires_at is None:
        return False
    return expires_at - (now or utcnow()) <= EXPIRY_WARNING


@dataclass(frozen=True)
class PlatformWait:
    """The platform asked a channel's publications to wait (a rate limit or a spent quota)."""

    until: datetime
    detail: str


def platform_waits(
    session: Session, channel_ids: list[int], now: datetime | None = None
) -> dict[int, PlatformWait]:
    """For each of these channels that the platform is holding back right now: until when
    and why (read from its waiting publications, so it shows the moment a send is told)."""
    if not channel_ids:
        return {}
    moment = now or utcnow()
    latest = (
        select(Publication.channel_id, func.max(Publication.due_at).label("until"))
        .where(Publication.status == PublicationStatus.RETRYING,
               Publication.error_kind == "rate_limited", Publication.due_at > moment,
               Publication.channel_id.in_(channel_ids))
        .group_by(Publication.channel_id)
        .subquery()
    )
    rows = session.execute(
        select(latest.c.channel_id, latest.c.until, func.max(Publication.last_error))
        .join(Publication, and_(Publication.channel_id == latest.c.channel_id,
                                Publication.due_at == latest.c.until))
        .group_by(latest.c.channel_id, latest.c.until)
    )
    return {cid: PlatformWait(until, detail or "") for cid, until, detail in rows}


def health_out(
    channel: Channel, now: datetime | None = None, wait: PlatformWait | None = None
) -> dict[str, Any]:
    """A channel's health: ok (None: unknown), detail, times, ``expires_soon``, and ``held``
    when its publications are held right now (needs reconnecting, or the platform asked to
    wait): the stored check may be older than that."""
    held: dict[str, Any] | None = None
    ok = channel.health_ok
    detail = channel.health_detail or ""
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        ok = False
        held = {"reason": "needs_reauth", "detail": channel.status_detail or detail,
                "until": None}
    elif channel.status == ChannelStatus.PAUSED:
        held = {"reason": "paused", "detail": "Saluran dijeda.", "until": None}
    elif wait is not None:
        held = {"reason": "rate_limited", "detail": wait.detail, "until": wait.until}
    return {
        "ok": ok,
        "detail": detail,
        "checked_at": channel.health_checked_at,
        "expires_at": channel.credential_expires_at,
        "expires_soon": expires_soon(channel.credential_expires_at, now),
        "held": held,
    }


def channel_warnings(channel: Channel, settings: Any, now: datetime | None = None,
                     wait: PlatformWait | None = None) -> list[str]:
    """What an operator should know about a channel, in Bahasa Indonesia."""
    warnings: list[str] = []
    if wait is not None and channel.status == ChannelStatus.ACTIVE:
        warnings.append(
            "Platform meminta pengiriman ditunda sampai "
            f"{format_local(wait.until, channel.opd.timezone)}; publikasinya menunggu, "
            f"tidak gagal. ({wait.detail})"
        )
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        warnings.append(
            "Kanal perlu disambungkan ulang; publikasinya ditahan sampai itu dilakukan."
            + (f" ({channel.status_detail})" if channel.status_detail else "")
        )
    expiry = expiry_warning(channel.credential_expires_at, now)
    if expiry:
        warnings.append(expiry)
    if channel.health_ok is False and channel.status != ChannelStatus.NEEDS_REAUTH:
        warnings.append(f"Pemeriksaan kanal terakhir gagal: {channel.health_detail}")
    if channel.kind == "instagram":
        problem = public_base_url_problem(settings.public_base_url, settings)
        if problem:
            warnings.append(problem)
    return warnings

