"""Writing notifications: in the caller's transaction, one row per event, person and delivery.

The in-app row is delivered as it is written (the bell reads it); an email or Telegram row
waits for a worker (:mod:`publisher.notify.delivery`), at once or, when the person chose the
daily digest for that kind, until their digest hour (:mod:`publisher.notify.digest`). A
person's preference per kind chooses email or Telegram (each with in-app), in-app only, or
nothing; a person without an email address or a linked chat is told in-app only.
Writing the same event twice (a retried transaction) adds nothing: the dedupe key is unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ..db import insert_for
from ..models import (
    Delivery,
    Membership,
    Notification,
    NotificationPreference,
    NotificationStatus,
    Opd,
    Timing,
    User,
)
from ..timeutil import utcnow
from .kinds import KINDS

SUBJECT_MAX = 300
DEFAULT_ZONE = "Asia/Jakarta"


def next_digest_at(now: datetime, hour: int, zone: str) -> datetime:
    """The next ``hour``:00 in ``zone`` after ``now`` (UTC)."""
    local = now.astimezone(ZoneInfo(zone))
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)  # wall-clock arithmetic: the same hour the next day
    return at.astimezone(UTC)


def notify(conn: Connection | Session, kind_name: str, user_ids: Iterable[int], *,
           event_key: str, context: dict[str, Any], link: str = "",
           opd_id: int | None = None, item_id: int | None = None,
           publication_id: int | None = None) -> int:
    """Queue ``kind_name`` for each of ``user_ids`` (inactive users are skipped); returns
    the number of rows written."""
    kind = KINDS[kind_name]
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    people = conn.execute(select(User.id, User.email, User.locale, User.telegram_chat_id,
                                 User.digest_hour).where(
        User.id.in_(ids), User.is_active.is_(True))).all()
    chosen = {row[0]: (row[1], row[2]) for row in conn.execute(select(
        NotificationPreference.user_id, NotificationPreference.delivery,
        NotificationPreference.timing).where(
        NotificationPreference.user_id.in_(ids),
        NotificationPreference.kind == kind.name))}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    zones: dict[int, str] | None = None
    for user_id, email, locale, chat, digest_hour in people:
        delivery, timing = chosen.get(user_id, (kind.default, Timing.IMMEDIATE))
        if delivery == Delivery.OFF:
            continue
        subject, body = kind.render(locale or "id", context)
        base = {"user_id": user_id, "kind": kind.name, "subject": subject[:SUBJECT_MAX],
                "body_text": body, "link": link, "opd_id": opd_id, "item_id": item_id,
                "publication_id": publication_id, "attempts": 0, "due_at": now,
                "last_error": "", "created_at": now}
        rows.append({**base, "delivery": Delivery.INAPP, "status": NotificationStatus.SENT,
                     "sent_at": now,
                     "dedupe_key": f"{kind.name}:{event_key}:{user_id}:inapp"[:200]})
        address = {Delivery.EMAIL: email, Delivery.TELEGRAM: chat}.get(Delivery(delivery))
        if address:
            status, due = NotificationStatus.PENDING, now
            if timing == Timing.DIGEST:
                if zones is None:
                    zones = person_zones(conn, [p[0] for p in people])
                status = NotificationStatus.DIGEST
                due = next_digest_at(now, digest_hour, zones.get(user_id, DEFAULT_ZONE))
            rows.append({**base, "delivery": delivery, "status": status, "sent_at": None,
                         "due_at": due,
                         "dedupe_key": f"{kind.name}:{event_key}:{user_id}:{delivery}"[:200]})
    if not rows:
        return 0
    connection = conn.connection() if isinstance(conn, Session) else conn
    connection.execute(insert_for(connection, Notification).on_conflict_do_nothing(
        index_elements=["dedupe_key"]), rows)
    return len(rows)


def person_zones(conn: Connection | Session, user_ids: list[int]) -> dict[int, str]:
    """Each person's zone: that of their first OPD (admins and auditors: WIB)."""
    zones: dict[int, str] = {}
    for user_id, zone in conn.execute(
            select(Membership.user_id, Opd.timezone).join(Opd, Opd.id == Membership.opd_id)
            .where(Membership.user_id.in_(user_ids)).order_by(Membership.user_id, Opd.id)):
        zones.setdefault(user_id, zone)
    return zones
