"""Channels of an OPD: create, change, pause, reconnect (which releases held publications)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..access import Principal
from ..channels import UnknownChannelKind, kinds
from ..channels import get as channel_class
from ..channels.base import ChannelError, ConfigError, Health
from ..models import Channel, ChannelStatus, Publication, PublicationStatus, Role
from ..queue import signals
from ..slots import parse_schedule
from ..timeutil import utcnow
from . import text as text_policy
from .auditing import record
from .errors import Conflict, Forbidden, Invalid, NotFound
from .items import get_opd

log = logging.getLogger(__name__)

#: The longest minimum gap between two posts of a channel (30 days).
MAX_INTERVAL_SECONDS = 30 * 24 * 3600


def get_channel(session: Session, principal: Principal, channel_id: int) -> Channel:
    """A channel the user may read; NotFound otherwise."""
    channel = session.get(Channel, channel_id)
    if channel is None or not principal.can_read(channel.opd_id):
        raise NotFound(f"saluran #{channel_id} tidak ditemukan", field="channel_id")
    return channel


def require_manager(principal: Principal, opd_id: int) -> None:
    """Only the OPD's approver (PPID Pelaksana) or an admin sets up its channels."""
    if not principal.has_role(opd_id, Role.APPROVER):
        raise Forbidden("hanya PPID Pelaksana (approver) atau admin yang mengatur saluran")


def _check_interval(seconds: int) -> None:
    if not 0 <= seconds <= MAX_INTERVAL_SECONDS:
        raise Invalid(f"jarak minimum harus 0 sampai {MAX_INTERVAL_SECONDS} detik",
                      field="min_interval_seconds")


def _validated(kind: str, config: dict[str, Any], secrets: dict[str, Any], settings: Any
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        cls = channel_class(kind)
    except UnknownChannelKind:
        raise Invalid(f"jenis saluran {kind!r} tidak dikenal: {', '.join(kinds())}",
                      field="kind") from None
    try:
        return cls.validate_config(dict(config or {}), dict(secrets or {}), settings)
    except ConfigError as exc:
        part = "secrets" if exc.field in cls.secret_fields else "config"
        raise Invalid(exc.message, field=f"{part}.{exc.field}") from None


def create_channel(
    session: Session,
    principal: Principal,
    runtime: Any,
    opd_ref: int | str,
    kind: str,
    name: str,
    *,
    config: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    schedule: Any = None,
    min_interval_seconds: int = 0,
) -> Channel:
    """A new channel; secrets are encrypted at rest and never returned."""
    opd = get_opd(session, principal, opd_ref)
    require_manager(principal, opd.id)
    name = text_policy.line(name, "name")
    if not name:
        raise Invalid("nama saluran wajib diisi", field="name")
    _check_interval(min_interval_seconds)
    clean_config, clean_secrets = _validated(kind, config or {}, secrets or {}, runtime.settings)
    channel = Channel(
        opd_id=opd.id, opd=opd, kind=kind, name=name, config=clean_config,
        secrets_encrypted=runtime.secret_box.encrypt(clean_secrets) if clean_secrets else None,
        schedule=parse_schedule(schedule), min_interval_seconds=min_interval_seconds,
    )
    session.add(channel)
    record(session, principal, "channel.created", channel=channel,
           detail={"kind": kind, "name": channel.name, "config": clean_config})
    return channel


def update_channel(
    session: Session,
    principal: Principal,
    runtime: Any,
    channel_id: int,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    schedule: Any = None,
    min_interval_seconds: int | None = None,
) -> Channel:
    """Change a channel; new secrets mean reconnecting, which releases held publications."""
    channel = get_channel(session, principal, channel_id)
    require_manager(principal, channel.opd_id)
    if name is not None:
        name = text_policy.line(name, "name")
        if not name:
            raise Invalid("nama saluran wajib diisi", field="name")
        channel.name = name
    if config is not None or secrets is not None:
        merged_config = {**channel.config, **(config or {})}
        old_secrets = runtime.secret_box.decrypt(channel.secrets_encrypted)
        merged_secrets = {**old_secrets, **(secrets or {})}
        clean_config, clean_secrets = _validated(channel.kind, merged_config, merged_secrets,
                                                 runtime.settings)
        channel.config = clean_config
        channel.secrets_encrypted = (
            runtime.secret_box.encrypt(clean_secrets) if clean_secrets else None
        )
    if schedule is not None:
        channel.schedule = parse_schedule(schedule)
    if min_interval_seconds is not None:
        _check_interval(min_interval_seconds)
        channel.min_interval_seconds = min_interval_seconds
    channel.updated_at = utcnow()
    record(session, principal, "channel.updated", channel=channel,
           detail={"config": channel.config, "secrets_changed": secrets is not None})
    if secrets and channel.status == ChannelStatus.NEEDS_REAUTH:
        resume_channel(session, principal, channel)
    return channel


def pause_channel(session: Session, principal: Principal, channel_id: int) -> Channel:
    """Stop sending to a channel; its publications are held, not dropped."""
    channel = get_channel(session, principal, channel_id)
    require_manager(principal, channel.opd_id)
    if channel.status == ChannelStatus.PAUSED:
        raise Conflict("saluran sudah dijeda", field="status")
    channel.status = ChannelStatus.PAUSED
    channel.updated_at = utcnow()
    record(session, principal, "channel.paused", channel=channel)
    return channel


def resume_channel(session: Session, principal: Principal | None, channel: Channel) -> int:
    """Mark a channel active again (after pause or reconnect) and reschedule its held
    publications; returns how many were released."""
    channel.status = ChannelStatus.ACTIVE
    channel.status_detail = ""
    channel.updated_at = now = utcnow()
    released = [
        row.id
        for row in session.execute(
            update(Publication)
            .where(Publication.channel_id == channel.id,
                   Publication.status == PublicationStatus.HELD)
            .values(status=PublicationStatus.SCHEDULED, updated_at=now, error_kind=None,
                    last_error=None)
            .returning(Publication.id)
            .execution_options(synchronize_session=False)
        )
    ]
    session.execute(
        update(Publication)
        .where(Publication.id.in_(released), Publication.due_at < now)
        .values(due_at=now)
        .execution_options(synchronize_session=False)
    )
    record(session, principal, "channel.resumed", channel=channel,
           detail={"released_publications": released})
    if released:
        signals.notify(now)
    return len(released)


def resume_channel_by_id(session: Session, principal: Principal, channel_id: int) -> int:
    """Resume a paused channel (a needs_reauth channel is resumed by new credentials)."""
    channel = get_channel(session, principal, channel_id)
    require_manager(principal, channel.opd_id)
    if channel.status == ChannelStatus.ACTIVE:
        raise Conflict("saluran sudah aktif", field="status")
    return resume_channel(session, principal, channel)


def list_channels(
    session: Session, principal: Principal, opd_id: int | None = None
) -> list[Channel]:
    """Channels the user may see, optionally of one OPD."""
    query = select(Channel).where(principal.scope(Channel.opd_id)).order_by(Channel.id)
    if opd_id is not None:
        query = query.where(Channel.opd_id == opd_id)
    return list(session.scalars(query))


def check_channel(runtime: Any, principal: Principal, channel_id: int) -> Health:
    """Run a channel's check and store its health: the one path for the API and the UI.

    Only the channel's manager (approver or admin) may run it. What the check needs is copied
    out of the session, which is closed before the network call.
    """
    with runtime.db.read() as session:
        channel = get_channel(session, principal, channel_id)
        require_manager(principal, channel.opd_id)
        impl = runtime.channel(channel)
    try:
        health = impl.check()
    except ChannelError as exc:
        health = Health(ok=False, detail=exc.message)
    except Exception as exc:  # a broken channel must not break the caller
        log.warning("channel %s check failed", channel_id, exc_info=True)
        health = Health(ok=False, detail=f"pemeriksaan gagal: {type(exc).__name__}")
    with runtime.db.write() as session:
        channel = get_channel(session, principal, channel_id)
        channel.health_ok = health.ok
        channel.health_detail = health.detail[:2000]
        channel.health_checked_at = utcnow()
        if health.expires_at is not None:
            channel.credential_expires_at = health.expires_at
        record(session, principal, "channel.tested", channel=channel,
               result="ok" if health.ok else "failed",
               error="" if health.ok else health.detail[:500])
    return health
