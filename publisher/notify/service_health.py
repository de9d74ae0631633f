"""The health of the notification services (email over SMTP, the Telegram bot) in words an
admin can act on: what is configured (never the password or the token), the queue of each
delivery, the latest error a message met, and an on-demand check that connects, secures and
logs in (SMTP) or asks the bot who it is (``getMe``), with no database session open during
the network call. The last check's result is kept in :class:`~publisher.models.ServiceState`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..channels.base import ChannelError
from ..config import Settings
from ..models import Delivery, Notification, NotificationStatus, ServiceState
from ..timeutil import utcnow
from .email import SmtpSender
from .telegram import TelegramSender

DELIVERIES = (Delivery.EMAIL, Delivery.TELEGRAM)
_STATE = "health.{delivery}"
#: Waiting longer than this means the service is not keeping up (or is not reachable).
SLOW_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Probe:
    """The result of one check."""

    ok: bool
    message: str
    checked_at: datetime


@dataclass(frozen=True)
class DeliveryHealth:
    """What the health page shows for one delivery."""

    delivery: str
    configured: bool
    missing: str  # the setting to fill in when not configured
    settings: list[tuple[str, str]]  # (label, value), never a secret
    waiting: int
    retrying: int
    failed_week: int
    sent_day: int
    oldest_waiting: datetime | None
    last_error: str
    last_error_at: datetime | None
    probe: Probe | None

    @property
    def state(self) -> str:
        """``off``, ``error``, ``slow`` or ``ok``: one word for the badge."""
        if not self.configured:
            return "off"
        if (self.probe is not None and not self.probe.ok) or self.retrying:
            return "error"
        if self.oldest_waiting is not None and utcnow() - self.oldest_waiting > SLOW_AFTER:
            return "slow"
        return "ok"


def _settings_shown(settings: Settings, delivery: str) -> tuple[bool, str, list[tuple[str, str]]]:
    if delivery == Delivery.EMAIL:
        shown = [("PUBLISHER_SMTP_HOST", settings.smtp_host or ""),
                 ("PUBLISHER_SMTP_PORT", str(settings.smtp_port)),
                 ("PUBLISHER_SMTP_SECURITY", settings.smtp_security),
                 ("PUBLISHER_SMTP_USERNAME", settings.smtp_username or ""),
                 ("PUBLISHER_SMTP_PASSWORD", "••••••" if settings.smtp_password else ""),
                 ("PUBLISHER_SMTP_FROM", settings.smtp_from or "")]
        return bool(settings.smtp_host), "PUBLISHER_SMTP_HOST", shown
    shown = [("PUBLISHER_TELEGRAM_BOT_TOKEN", "••••••" if settings.telegram_bot_token else ""),
             ("PUBLISHER_TELEGRAM_BOT_USERNAME", settings.telegram_bot_username or ""),
             ("PUBLISHER_TELEGRAM_API_URL", settings.telegram_api_url)]
    return bool(settings.telegram_bot_token), "PUBLISHER_TELEGRAM_BOT_TOKEN", shown


def _probe(session: Session, delivery: str) -> Probe | None:
    raw = session.scalar(select(ServiceState.value).where(
        ServiceState.name == _STATE.format(delivery=delivery)))
    try:
        data = json.loads(raw) if raw else None
        return Probe(bool(data["ok"]), str(data["message"]),
                     datetime.fromisoformat(data["checked_at"])) if data else None
    except (ValueError, KeyError, TypeError):
        return None


def delivery_health(session: Session, settings: Settings) -> list[DeliveryHealth]:
    """Email and Telegram, each with its settings, queue, latest error and last check."""
    now = utcnow()
    counts: dict[tuple[str, str], int] = {
        (delivery, status): int(n) for delivery, status, n in session.execute(
            select(Notification.delivery, Notification.status, func.count())
            .where(Notification.delivery.in_(DELIVERIES),
                   Notification.status.in_((NotificationStatus.PENDING,
                                            NotificationStatus.RETRYING,
                                            NotificationStatus.SENDING)))
            .group_by(Notification.delivery, Notification.status))}
    result = []
    for delivery in DELIVERIES:
        configured, missing, shown = _settings_shown(settings, delivery)
        oldest = session.scalar(select(func.min(Notification.due_at)).where(
            Notification.delivery == delivery,
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.RETRYING)),
            Notification.due_at <= now))
        failed = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.delivery == delivery, Notification.status == NotificationStatus.FAILED,
            Notification.created_at >= now - timedelta(days=7)))
        sent = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.delivery == delivery, Notification.status == NotificationStatus.SENT,
            Notification.sent_at >= now - timedelta(days=1)))
        latest = session.execute(select(Notification.last_error, Notification.due_at).where(
            Notification.delivery == delivery, Notification.last_error != "",
            Notification.status.in_((NotificationStatus.RETRYING, NotificationStatus.FAILED)))
            .order_by(Notification.id.desc()).limit(1)).first()
        result.append(DeliveryHealth(
            delivery=delivery, configured=configured, missing=missing, settings=shown,
            waiting=counts.get((delivery, NotificationStatus.PENDING), 0)
            + counts.get((delivery, NotificationStatus.SENDING), 0),
            retrying=counts.get((delivery, NotificationStatus.RETRYING), 0),
            failed_week=int(failed or 0), sent_day=int(sent or 0), oldest_waiting=oldest,
            last_error=latest[0] if latest else "",
            last_error_at=latest[1] if latest else None,
            probe=_probe(session, delivery)))
    return result


def check(settings: Settings, delivery: str) -> Probe:
    """Connect to the service of ``delivery`` as a send would (a network call: hold no
    database session)."""
    now = utcnow()
    configured, missing, _shown = _settings_shown(settings, delivery)
    if not configured:
        return Probe(False, f"Belum diatur: isi {missing} (not configured).", now)
    try:
        if delivery == Delivery.EMAIL:
            with SmtpSender(settings) as smtp:
                smtp.check()
            who = f" sebagai {settings.smtp_username}" if settings.smtp_username else ""
            return Probe(True, f"Tersambung ke {settings.smtp_host}:{settings.smtp_port} "
                               f"({settings.smtp_security}){who}.", now)
        with TelegramSender(settings) as bot:
            me: Any = bot.call("getMe", {}) or {}
        name = me.get("username") if isinstance(me, dict) else None
        hint = ""
        if name and settings.telegram_bot_username and (
                name.lower() != settings.telegram_bot_username.lower()):
            hint = (f" PUBLISHER_TELEGRAM_BOT_USERNAME berisi @{settings.telegram_bot_username}"
                    f", padahal token ini milik @{name}: tautan t.me akan salah.")
            return Probe(False, f"Bot @{name} menjawab.{hint}", now)
        return Probe(True, f"Bot @{name or '?'} menjawab.", now)
    except ChannelError as exc:
        return Probe(False, exc.message, now)


def store(session: Session, delivery: str, probe: Probe) -> None:
    """Keep ``probe`` as the last check of ``delivery``."""
    name = _STATE.format(delivery=delivery)
    value = json.dumps({"ok": probe.ok, "message": probe.message,
                        "checked_at": probe.checked_at.isoformat()})
    row = session.get(ServiceState, name)
    if row is None:
        session.add(ServiceState(name=name, value=value, updated_at=probe.checked_at))
    else:
        row.value, row.updated_at = value, probe.checked_at
