"""Expired leases: a worker died or hung mid-send. Its publications are not resent blindly:
they are marked for reconciliation, so the next attempt first asks the channel whether the post
already exists (``Channel.find_existing``). The sweep raises each row's fencing token, so the
worker that lost the lease can neither start its send nor apply its result if it wakes up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from .. import audit
from ..db import Database
from ..models import Channel, Item, Opd, Publication, PublicationStatus


def _requeue(
    db: Database, where: Iterable[ColumnElement[bool]], action: str, actor: audit.Actor,
    now: datetime, reason: str, *, maybe_sent: bool,
) -> list[int]:
    """Put claimed rows back as ``retrying``. ``maybe_sent``: their send may have reached the
    platform (a lease ran out mid-send): that owes a reconciliation and uses up an attempt."""
    owes = True if maybe_sent else Publication.needs_reconcile
    with db.write_conn() as conn:
        ids = [
            r.id
            for r in conn.execute(
                update(Publication)
                .where(Publication.status == PublicationStatus.SENDING, *where)
                .values(status=PublicationStatus.RETRYING, needs_reconcile=owes, due_at=now,
                        fence=Publication.fence + 1,
                        attempts=Publication.attempts + (1 if maybe_sent else 0),
                        lease_until=None, claimed_by=None, last_error=reason,
                        error_kind="lease", updated_at=now)
                .returning(Publication.id)
                .execution_options(synchronize_session=False)
            )
        ]
        if ids:
            rows = conn.execute(
                select(Publication.id, Publication.item_id, Publication.opd_id,
                       Publication.channel_id, Item.content_hash, Item.category, Opd.timezone,
                       Channel.kind)
                .join(Item, Item.id == Publication.item_id)
                .join(Opd, Opd.id == Publication.opd_id)
                .join(Channel, Channel.id == Publication.channel_id)
                .where(Publication.id.in_(ids))
            )
            audit.append(conn, [
                audit.make_event(
                    actor, action, at=now, tz_name=r.timezone, opd_id=r.opd_id,
                    item_id=r.item_id, item_version_hash=r.content_hash, category=r.category,
                    publication_id=r.id, channel_id=r.channel_id, channel_kind=r.kind,
                    result=PublicationStatus.RETRYING, error=reason,
                    detail={"reconcile_first": maybe_sent},
                )
                for r in rows
            ])
    return ids


def expire_leases(db: Database, worker_id: str, now: datetime) -> list[int]:
    """Requeue publications whose lease ran out, marked for reconciliation."""
    return _requeue(
        db, [Publication.lease_until < now], "publication.lease_expired",
        audit.Actor.worker(worker_id), now,
        "Pengiriman terputus (pekerja berhenti); dicek ke platform sebelum dikirim ulang",
        maybe_sent=True,
    )


def release(db: Database, worker_id: str, ids: list[int], now: datetime) -> list[int]:
    """Hand back publications this worker claimed and never started sending (shutdown): no
    attempt is used and no new reconciliation is owed (an earlier one still is)."""
    if not ids:
        return []
    return _requeue(
        db, [Publication.id.in_(ids), Publication.claimed_by == worker_id],
        "publication.released", audit.Actor.worker(worker_id), now,
        "Pekerja dihentikan sebelum mengirim; dikirim lagi oleh pekerja lain",
        maybe_sent=False,
    )
