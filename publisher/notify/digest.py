"""The daily digest: the email/Telegram rows a person chose to receive once a day, gathered at
their hour into one message that the delivery worker then sends like any other.

Gathering is one transaction: the waiting rows are taken with a conditional UPDATE (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never gather the same row), marked sent
with the id of the digest row that carries them, and the digest row is written (pending).
A crash rolls all of it back; a digest is never lost nor gathered twice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select, update

from ..models import Notification, NotificationStatus, User
from ..runtime import Runtime
from ..timeutil import utcnow
from .email import absolute_link
from .kinds import DIGEST

#: Digests gathered per run (the job runs every minute).
BATCH = 500


def gather_due_digests(runtime: Runtime) -> int:
    """Turn every person's due digest rows into one digest notification per delivery;
    returns the number of digests written."""
    now = utcnow()
    written = 0
    with runtime.db.write() as session:
        query = (select(Notification.id, Notification.user_id, Notification.delivery,
                        Notification.subject, Notification.link)
                 .where(Notification.status == NotificationStatus.DIGEST,
                        Notification.due_at <= now)
                 .order_by(Notification.user_id, Notification.id).limit(BATCH))
        if runtime.db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            return 0
        groups: dict[tuple[int, str], list[Any]] = defaultdict(list)
        for row in rows:
            groups[(row.user_id, row.delivery)].append(row)
        locales = dict(session.execute(select(User.id, User.locale).where(
            User.id.in_({u for u, _d in groups}))).all())
        for (user_id, delivery), items in groups.items():
            lang = locales.get(user_id) or "id"
            entries = "\n".join(
                f"- {r.subject}" + (f"\n  {absolute_link(runtime.settings, r.link)}"
                                    if r.link else "") for r in items)
            subject, body = DIGEST.render(lang, {"count": len(items), "entries": entries})
            digest = Notification(
                user_id=user_id, kind=DIGEST.name, delivery=delivery,
                dedupe_key=f"digest:{user_id}:{delivery}:{items[0].id}",
                subject=subject, body_text=body, link="/admin/notifikasi",
                status=NotificationStatus.PENDING, attempts=0, due_at=now, last_error="",
                created_at=now)
            session.add(digest)
            session.flush()
            session.execute(
                update(Notification)
                .where(Notification.id.in_([r.id for r in items]),
                       Notification.status == NotificationStatus.DIGEST)
                .values(status=NotificationStatus.SENT, sent_at=now, digest_id=digest.id)
                .execution_options(synchronize_session=False))
            written += 1
    return written
