"""Writing notifications: in the caller's transaction, one row per event, person and delivery.

The in-app row is delivered as it is written (the bell reads it); an email row waits for a
worker (:mod:`publisher.notify.delivery`). A person's preference per kind chooses email (and
in-app), in-app only, or nothing; a person without an email address is told in-app only.
Writing the same event twice (a retried transaction) adds nothing: the dedupe key is unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import (
    Delivery,
    Notification,
    NotificationPreference,
    NotificationStatus,
    User,
)
from ..timeutil import utcnow
from .kinds import KINDS

SUBJECT_MAX = 300


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
    people = conn.execute(select(User.id, User.email, User.locale).where(
        User.id.in_(ids), User.is_active.is_(True))).all()
    chosen = dict(conn.execute(select(NotificationPreference.user_id,
                                      NotificationPreference.delivery).where(
        NotificationPreference.user_id.in_(ids),
        NotificationPreference.kind == kind.name)).all())
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for user_id, email, locale in people:
        delivery = chosen.get(user_id, kind.default)
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
        if delivery == Delivery.EMAIL and email:
            rows.append({**base, "delivery": Delivery.EMAIL,
                         "status": NotificationStatus.PENDING, "sent_at": None,
                         "dedupe_key": f"{kind.name}:{event_key}:{user_id}:email"[:200]})
    if not rows:
        return 0
    connection = conn.connection() if isinstance(conn, Session) else conn
    make = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = make(Notification).on_conflict_do_nothing(index_elements=["dedupe_key"])
    connection.execute(statement, rows)
    return len(rows)
