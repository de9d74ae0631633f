"""Rows as JSON: every time in UTC plus ``*_local`` in the OPD's zone; never a secret."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..health import channel_warnings, health_out, platform_waits
from ..models import AuditEvent, Channel, Item, ItemVersion, Media, Opd, Publication
from ..runtime import Runtime
from ..timeutil import zone_label
from ..urls import item_url, media_url
from .common import iso, put_time


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def opd_out(opd: Opd) -> dict[str, Any]:
    """An OPD."""
    out: dict[str, Any] = {
        "id": opd.id, "name": opd.name, "slug": opd.slug, "timezone": opd.timezone,
        "timezone_label": zone_label(opd.timezone), "parent_id": opd.parent_id,
        "approval_required": opd.approval_required, "color": opd.color,
    }
    put_time(out, "created_at", opd.created_at, opd.timezone)
    return out


def media_out(media: Media, base_url: str, tz_name: str,
              warnings: tuple[str, ...] = ()) -> dict[str, Any]:
    """An uploaded image (its public URL is unguessable); ``warnings``: what the upload's
    cleaning did that the uploader should know (only when it was just uploaded)."""
    out: dict[str, Any] = {
        "id": media.id, "opd_id": media.opd_id, "item_id": media.item_id,
        "position": media.position, "mime_type": media.mime_type, "width": media.width,
        "height": media.height, "size_bytes": media.size_bytes, "sha256": media.sha256,
        "alt_text": media.alt_text, "original_filename": media.original_filename,
        "url": media_url(base_url, media.public_token), "warnings": list(warnings),
    }
    put_time(out, "created_at", media.created_at, tz_name)
    return out


def publication_out(pub: Publication, tz_name: str) -> dict[str, Any]:
    """One item on one channel, with its queue state."""
    out: dict[str, Any] = {
        "id": pub.id, "item_id": pub.item_id, "channel_id": pub.channel_id,
        "channel_kind": pub.channel.kind, "channel_name": pub.channel.name,
        "opd_id": pub.opd_id, "status": pub.status, "priority": pub.priority,
        "attempts": pub.attempts, "url": pub.url, "remote_id": pub.remote_id,
        "error_kind": pub.error_kind, "last_error": pub.last_error,
    }
    for name in ("due_at", "started_at", "published_at", "created_at", "updated_at"):
        put_time(out, name, getattr(pub, name), tz_name)
    return out


def item_out(item: Item, base_url: str) -> dict[str, Any]:
    """An item with its DIP columns, category, schedule and targets."""
    tz_name = item.opd.timezone
    out: dict[str, Any] = {
        "id": item.id, "opd_id": item.opd_id, "opd_slug": item.opd.slug, "slug": item.slug,
        "title": item.title, "body_html": item.body_html, "summary": item.summary,
        "official_unit": item.official_unit, "responsible": item.responsible,
        "made_at": _day(item.made_at), "made_place": item.made_place,
        "info_formats": list(item.info_formats or []), "retention": item.retention,
        "category": item.category, "exemption_article": item.exemption_article,
        "exemption_basis": item.exemption_basis, "exemption_until": _day(item.exemption_until),
        "link": item.link, "status": item.status, "schedule_mode": item.schedule_mode,
        "version": item.version, "content_hash": item.content_hash,
        "review_comment": item.review_comment, "source": item.source,
        "created_by_id": item.created_by_id, "approved_by_id": item.approved_by_id,
        "channel_ids": sorted(c.id for c in item.targets),
        "media": [media_out(m, base_url, tz_name) for m in item.media],
        "site_url": item_url(base_url, item.opd.slug, item.id, item.slug),
        "timezone": tz_name,
    }
    for name in ("publish_at", "submitted_at", "approved_at", "created_at", "updated_at"):
        put_time(out, name, getattr(item, name), tz_name)
    return out


def item_detail(session: Session, item: Item, base_url: str) -> dict[str, Any]:
    """An item with its publications and versions."""
    out = item_out(item, base_url)
    tz_name = item.opd.timezone
    pubs = session.scalars(
        select(Publication).where(Publication.item_id == item.id).order_by(Publication.id)
    ).all()
    out["publications"] = [publication_out(p, tz_name) for p in pubs]
    versions = session.scalars(
        select(ItemVersion).where(ItemVersion.item_id == item.id).order_by(ItemVersion.version)
    ).all()
    out["versions"] = []
    for v in versions:
        entry: dict[str, Any] = {"version": v.version, "content_hash": v.content_hash,
                                 "created_by_id": v.created_by_id}
        put_time(entry, "created_at", v.created_at, tz_name)
        out["versions"].append(entry)
    return out


def channel_out(channel: Channel, runtime: Runtime) -> dict[str, Any]:
    """A channel. Secrets are never returned: only whether there are any, and their names."""
    secret_names = sorted(runtime.secret_box.decrypt(channel.secrets_encrypted)) if (
        channel.secrets_encrypted
    ) else []
    tz_name = channel.opd.timezone
    out: dict[str, Any] = {
        "id": channel.id, "opd_id": channel.opd_id, "kind": channel.kind, "name": channel.name,
        "status": channel.status, "status_detail": channel.status_detail,
        "config": dict(channel.config or {}), "has_secrets": bool(secret_names),
        "secret_fields": secret_names, "schedule": list(channel.schedule or []),
        "min_interval_seconds": channel.min_interval_seconds, "health_ok": channel.health_ok,
        "health_detail": channel.health_detail,
    }
    for name in ("health_checked_at", "credential_expires_at", "created_at", "updated_at"):
        put_time(out, name, getattr(channel, name), tz_name)
    session = object_session(channel)
    wait = platform_waits(session, [channel.id]).get(channel.id) if session else None
    health = health_out(channel, wait=wait)
    for name in ("checked_at", "expires_at"):
        put_time(health, name, health[name], tz_name)
    if health["held"] is not None:
        put_time(health["held"], "until", health["held"]["until"], tz_name)
    out["health"] = health
    out["warnings"] = channel_warnings(channel, runtime.settings, wait=wait)
    return out


def audit_out(event: AuditEvent) -> dict[str, Any]:
    """An audit event as stored (``at_local`` was fixed when it was written)."""
    return {
        "seq": event.seq, "at": iso(event.at), "at_local": event.at_local,
        "actor_type": event.actor_type, "actor_id": event.actor_id,
        "actor_name": event.actor_name, "actor_role": event.actor_role, "action": event.action,
        "opd_id": event.opd_id, "item_id": event.item_id,
        "item_version_hash": event.item_version_hash, "category": event.category,
        "publication_id": event.publication_id, "channel_id": event.channel_id,
        "channel_kind": event.channel_kind, "result": event.result, "error": event.error,
        "detail": event.detail, "prev_hash": event.prev_hash, "hash": event.hash,
    }
