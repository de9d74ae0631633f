"""Audit events for actions of people and workers, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .. import audit
from ..access import Principal
from ..models import Channel, Item, Opd, Publication


def actor_of(principal: Principal | None) -> audit.Actor:
    """The audit actor for a user (or the system when there is none)."""
    if principal is None:
        return audit.Actor.system()
    return audit.Actor("user", str(principal.user_id), principal.full_name, principal.primary_role)


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    item: Item | None = None,
    opd: Opd | None = None,
    publication: Publication | None = None,
    channel: Channel | None = None,
    result: str = "ok",
    error: str = "",
    detail: dict[str, Any] | None = None,
    actor: audit.Actor | None = None,
) -> None:
    """Append one audit event describing ``action`` on these rows."""
    who = actor or actor_of(principal)
    session.info["audit_actor"] = who  # the rows this flush records are this actor's
    session.flush()  # new rows need their ids before they are named in the event
    extra = dict(detail or {})
    if principal is not None:
        extra.setdefault("nip", principal.nip)
        extra.setdefault("jabatan", principal.jabatan)
    opd_row = opd or (item.opd if item is not None else None) or (
        channel.opd if channel is not None else None
    )
    chan = channel or (publication.channel if publication is not None else None)
    event = audit.make_event(
        who,
        action,
        tz_name=opd_row.timezone if opd_row is not None else "Asia/Jakarta",
        opd_id=opd_row.id if opd_row is not None else None,
        item_id=item.id if item is not None else (publication.item_id if publication else None),
        item_version_hash=item.content_hash if item is not None else "",
        category=item.category if item is not None else "",
        publication_id=publication.id if publication is not None else None,
        channel_id=chan.id if chan is not None else None,
        channel_kind=chan.kind if chan is not None else "",
        result=result,
        error=error,
        detail=extra,
    )
    audit.append(session, [event])
