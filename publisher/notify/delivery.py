"""Sending email and Telegram notifications with the publication queue's claim/lease/retry
discipline.

A worker claims due rows of one delivery (``pending``/``retrying`` whose ``due_at`` has come, or
``sending`` whose lease ran out) with one ``UPDATE … RETURNING`` per batch (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), commits, and only then talks SMTP: no
database session is open during the conversation except the short transaction that marks a
row ``sent`` right before the message's last part goes out (:mod:`publisher.notify.email`
and :mod:`publisher.notify.telegram` explain why that sends each message once). Failures
follow the queue's :class:`~publisher.queue.retry.RetryPolicy`: transient → ``retrying`` with
backoff (failed after ``max_attempts``), permanent → ``failed`` with the reason. A refused
login or bot token, or an unreachable server, stops the batch: the row being sent takes the
error (a refused login fails it, naming the settings to fix), the rest go back to the queue
without using up an attempt (after a refused login they wait ``retry_cap_seconds``, so a
wrong password is not tried against the server every few seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection

from ..channels.base import AuthError, ChannelError, RateLimited
from ..config import Settings
from ..models import Delivery, NotificationStatus, PublicationStatus
from ..queue import rawsql
from ..queue.retry import RetryPolicy
from ..runtime import Runtime
from ..timeutil import utcnow
from .email import ConnectFailed, Outgoing, SmtpSender, build_message
from .telegram import TelegramSender

log = logging.getLogger(__name__)

_CLAIM_SQL = """
UPDATE notification
   SET status = 'sending', lease_until = {p}, claimed_by = {p}, attempts = attempts + 1
 WHERE id IN (SELECT id FROM notification
               WHERE delivery = {p}
                 AND ((status IN ('pending', 'retrying') AND due_at <= {p})
                      OR (status = 'sending' AND lease_until < {p}))
               ORDER BY due_at, id
               LIMIT {p}{lock})
RETURNING id, user_id, subject, body_text, link, attempts
"""

#: Where each delivery goes: the person's address for it.
_ADDRESS_SQL = {
    Delivery.EMAIL: "SELECT id, email FROM user_account WHERE id IN ({ids})",
    Delivery.TELEGRAM: "SELECT id, telegram_chat_id FROM user_account WHERE id IN ({ids})",
}
_NO_ADDRESS = {
    Delivery.EMAIL: "Pengguna tidak lagi memiliki alamat email (no email address)",
    Delivery.TELEGRAM: "Pengguna tidak lagi menautkan Telegram (no Telegram chat linked)",
}

_MARK_SENT_SQL = """
UPDATE notification SET status = 'sent', sent_at = {p}, lease_until = NULL, last_error = ''
 WHERE id = {p} AND status = 'sending' AND claimed_by = {p}
"""

# A row we still own (claimed by us; 'sent' when the server refused after the mark-sent).
_RECORD_SQL = """
UPDATE notification
   SET status = {p}, due_at = COALESCE({p}, due_at), attempts = attempts - {p},
       last_error = {p}, lease_until = NULL, claimed_by = NULL, sent_at = NULL
 WHERE id = {p} AND claimed_by = {p} AND status IN ('sending', 'sent')
"""

_warned_unconfigured: set[str] = set()


class Transport(Protocol):
    """One connection to a delivery's server, reused across a batch."""

    def __enter__(self) -> Transport: ...

    def __exit__(self, *_exc: object) -> None: ...

    def deliver(self, n: Outgoing, before_commit: Callable[[], None]) -> None:
        """Send ``n``; ``before_commit`` runs right before the message's last part."""


class EmailTransport:
    """The SMTP sender behind the :class:`Transport` interface."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp = SmtpSender(settings)

    def __enter__(self) -> EmailTransport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.smtp.close()

    def deliver(self, n: Outgoing, before_commit: Callable[[], None]) -> None:
        """Send ``n`` as an email."""
        self.smtp.send(build_message(self.settings, n), n.to, before_commit)


def _configured(settings: Settings, delivery: str) -> str | None:
    """None when ``delivery`` can be sent, else the setting that is missing."""
    if delivery == Delivery.EMAIL:
        return None if settings.smtp_host else "PUBLISHER_SMTP_HOST"
    return None if settings.telegram_bot_token else "PUBLISHER_TELEGRAM_BOT_TOKEN"


def _transport(settings: Settings, delivery: str) -> Transport:
    if delivery == Delivery.EMAIL:
        return EmailTransport(settings)
    return TelegramSender(settings)


class LeaseLost(Exception):
    """Another worker took the row over after our lease ran out: it sends, we must not."""


@dataclass(frozen=True)
class _Claimed:
    outgoing: Outgoing
    attempts: int


def claim_due(runtime: Runtime, worker_id: str, limit: int, now: datetime,
              delivery: str = Delivery.EMAIL) -> list[_Claimed]:
    """Lease up to ``limit`` due notifications of ``delivery`` to ``worker_id`` (one
    statement)."""
    db = runtime.db
    lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
    with db.write_conn() as conn:
        stamp = rawsql.db_datetime(conn, now)
        lease = rawsql.db_datetime(
            conn, now + timedelta(seconds=runtime.settings.lease_seconds))
        raw = rawsql.fetch(conn, _CLAIM_SQL.replace("{lock}", lock),
                           (lease, worker_id, str(delivery), stamp, stamp, limit))
        if not raw:
            return []
        emails = dict(rawsql.select_in(conn, _ADDRESS_SQL[Delivery(delivery)],
                                       sorted({r[1] for r in raw})))
        claimed: list[_Claimed] = []
        lost: list[int] = []
        for nid, user_id, subject, body, link, attempts in raw:
            to = emails.get(user_id) or ""
            if not to:  # the person's address/chat was removed after the row was written
                lost.append(nid)
                continue
            claimed.append(_Claimed(Outgoing(nid, to, subject, body, link or ""), attempts))
        for nid in lost:
            _record(conn, nid, worker_id, NotificationStatus.FAILED, None, 0,
                    _NO_ADDRESS[Delivery(delivery)])
    claimed.sort(key=lambda c: c.outgoing.id)
    return claimed


def _record(conn: Connection, nid: int, worker_id: str, status: str, due_at: datetime | None,
            refund: int, error: str) -> None:
    rawsql.fetch(conn, _RECORD_SQL + " RETURNING id", (
        status, rawsql.db_datetime(conn, due_at), refund, error[:2000], nid, worker_id))


def send_due_notifications(runtime: Runtime, worker_id: str, limit: int = 100,
                           delivery: str = Delivery.EMAIL) -> int:
    """Claim one batch of due notifications of ``delivery`` and send it over one connection;
    returns how many were sent. Without its server's settings nothing is claimed."""
    settings = runtime.settings
    missing = _configured(settings, delivery)
    if missing:
        if delivery not in _warned_unconfigured:
            _warned_unconfigured.add(delivery)
            log.warning("%s notifications stay queued: %s is not set", delivery, missing)
        return 0
    batch = claim_due(runtime, worker_id, limit, utcnow(), delivery)
    if not batch:
        return 0
    policy = RetryPolicy(settings.max_attempts, settings.retry_base_seconds,
                         settings.retry_cap_seconds)
    sent = 0
    with _transport(settings, delivery) as sender:
        for index, item in enumerate(batch):
            n = item.outgoing
            try:
                sender.deliver(n, _mark_sent(runtime, n.id, worker_id))
            except LeaseLost:
                log.warning("notification %s: lease lost, another worker sends it", n.id)
                continue
            except Exception as exc:  # typed errors, or a database error in the mark-sent
                _failed(runtime, policy, item, worker_id, exc)
                if isinstance(exc, AuthError | ConnectFailed):
                    _release(runtime, batch[index + 1:], worker_id, policy, exc)
                    break
                continue
            sent += 1
    return sent


def _mark_sent(runtime: Runtime, nid: int, worker_id: str) -> Callable[[], None]:
    def before_commit() -> None:
        with runtime.db.write_conn() as conn:
            done = rawsql.fetch(conn, _MARK_SENT_SQL + " RETURNING id", (
                rawsql.db_datetime(conn, utcnow()), nid, worker_id))
        if not done:
            raise LeaseLost(nid)

    return before_commit


def _failed(runtime: Runtime, policy: RetryPolicy, item: _Claimed, worker_id: str,
            exc: BaseException) -> None:
    now = utcnow()
    decision = policy.decide(exc, item.attempts, now)
    if isinstance(exc, AuthError):  # a notification has no "held": the reason says what to fix
        status, message = NotificationStatus.FAILED, exc.message
    elif decision.status == PublicationStatus.RETRYING:
        status, message = NotificationStatus.RETRYING, decision.message
    else:
        status, message = NotificationStatus.FAILED, decision.message
    refund = 1 if isinstance(exc, RateLimited) else 0
    log.warning("notification %s not sent (%s): %s", item.outgoing.id, status,
                exc.message if isinstance(exc, ChannelError) else type(exc).__name__)
    try:
        with runtime.db.write_conn() as conn:
            _record(conn, item.outgoing.id, worker_id, status, decision.due_at, refund, message)
    except Exception:  # the lease brings it back
        log.exception("could not record the failure of notification %s", item.outgoing.id)


def _release(runtime: Runtime, rest: list[_Claimed], worker_id: str, policy: RetryPolicy,
             exc: ChannelError) -> None:
    """Put the rest of a stopped batch back, without using up their attempts."""
    if not rest:
        return
    wait = policy.cap_seconds if isinstance(exc, AuthError) else policy.backoff(1)
    due = utcnow() + timedelta(seconds=wait)
    try:
        with runtime.db.write_conn() as conn:
            for item in rest:
                _record(conn, item.outgoing.id, worker_id, NotificationStatus.RETRYING, due, 1,
                        exc.message)
    except Exception:
        log.exception("could not release %d notifications", len(rest))


def drain(runtime: Runtime, worker_id: str, stopping: Callable[[], bool],
          limit: int = 100, max_batches: int = 50) -> int:
    """Send batches of each delivery while full ones keep coming (the periodic job); returns
    how many were sent."""
    total = 0
    for delivery in (Delivery.EMAIL, Delivery.TELEGRAM):
        for _ in range(max_batches):
            if stopping():
                return total
            sent = send_due_notifications(runtime, worker_id, limit, delivery)
            total += sent
            if sent < limit:
                break
    return total
