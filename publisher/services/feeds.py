"""Feed sources of an OPD (its website's RSS/Atom feed) and the items made from their entries.

Managing a source needs the editor or approver role in its OPD; a source that publishes
without approval needs the approver role (it skips the approval step for every entry).
:func:`check_feed_url` resolves the host (DNS), so call it *before* opening a session.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import Principal
from ..feeds.parse import FeedEntry
from ..feeds.rules import SKIP_REASONS, key_hash
from ..models import (
    Category,
    Channel,
    DikEntry,
    FeedEntrySeen,
    FeedSource,
    Item,
    ItemStatus,
    Role,
    ScheduleMode,
)
from ..netguard import OutboundError, check_url, split_url
from ..render import Renderer
from ..sanitize import clean_html
from ..timeutil import utcnow
from ..urls import slugify
from . import dik
from . import items as item_service
from .auditing import record
from .errors import Forbidden, Invalid, NotFound
from .media import StoredImage, add_media

MIN_POLL_SECONDS = 60
DEFAULT_POLL_SECONDS = 900
#: The slowest polling allowed (30 days).
MAX_POLL_SECONDS = 30 * 24 * 3600
FEED_CATEGORIES = (Category.BERKALA, Category.SERTA_MERTA, Category.SETIAP_SAAT)
_SANDBOX = SandboxedEnvironment(autoescape=True)

DEFAULT_BODY = (
    "{% if entry.content %}{{ entry.content | safe }}"
    "{% else %}<p>{{ entry.summary_text }}</p>{% endif %}\n"
    "{% if entry.link %}<p>Selengkapnya di situs {{ source.opd_name }}: "
    '<a href="{{ entry.link }}">{{ entry.link }}</a></p>{% endif %}'
)


# --- sources ----------------------------------------------------------------------------------


def check_feed_url(url: str, settings: Any) -> str:
    """The URL, stripped, if it is http(s) and its host passes the SSRF guard (DNS lookup)."""
    url = (url or "").strip()
    try:
        check_url(url, settings)
    except OutboundError as exc:
        raise Invalid(exc.message, field="url") from None
    return url


def get_feed_source(session: Session, principal: Principal, source_id: int) -> FeedSource:
    """A feed source the user may read; NotFound otherwise."""
    source = session.get(FeedSource, source_id)
    if source is None or not principal.can_read(source.opd_id):
        raise NotFound(f"sumber feed #{source_id} tidak ditemukan", field="source_id")
    return source


def list_feed_sources(session: Session, principal: Principal,
                      opd_id: int | None = None) -> list[FeedSource]:
    """Feed sources in the user's OPDs (optionally one OPD), by name."""
    query = select(FeedSource).where(principal.scope(FeedSource.opd_id)).order_by(
        FeedSource.opd_id, FeedSource.name)
    if opd_id is not None:
        query = query.where(FeedSource.opd_id == opd_id)
    return list(session.scalars(query))


def _may_manage(principal: Principal, opd_id: int, requires_approval: bool) -> None:
    if not principal.has_role(opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang mengatur sumber feed di OPD ini")
    if not requires_approval and not principal.has_role(opd_id, Role.APPROVER):
        raise Forbidden("hanya PPID Pelaksana (approver) yang boleh membuat sumber feed yang "
                        "terbit tanpa persetujuan")


def _clean(session: Session, opd_id: int, data: dict[str, Any], partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            raise Invalid("nama sumber feed wajib diisi (paling banyak 200 karakter)",
                          field="name")
        out["name"] = name
    if "url" in data or not partial:
        url = str(data.get("url") or "").strip()
        try:
            split_url(url)
        except OutboundError as exc:
            raise Invalid(exc.message, field="url") from None
        if len(url) > 1000:
            raise Invalid("URL feed paling banyak 1000 karakter", field="url")
        out["url"] = url
    if "target_channel_ids" in data or not partial:
        ids = data.get("target_channel_ids") or []
        if not isinstance(ids, list) or not ids:
            raise Invalid("pilih minimal satu saluran tujuan", field="target_channel_ids")
        for raw in ids:
            channel = session.get(Channel, raw) if isinstance(raw, int) else None
            if channel is None or channel.opd_id != opd_id:
                raise Invalid(f"saluran #{raw} tidak ada di OPD ini", field="target_channel_ids")
        out["target_channel_ids"] = sorted(set(ids))
    if "category" in data or not partial:
        category = data.get("category") or Category.BERKALA
        if category not in FEED_CATEGORIES:
            raise Invalid("kategori bawaan harus berkala, serta_merta atau setiap_saat "
                          "(informasi dikecualikan tidak boleh dari feed)", field="category")
        out["category"] = str(category)
    if "poll_interval_seconds" in data or not partial:
        raw_interval = data.get("poll_interval_seconds") or DEFAULT_POLL_SECONDS
        if not isinstance(raw_interval, int) or not (
                MIN_POLL_SECONDS <= raw_interval <= MAX_POLL_SECONDS):
            raise Invalid(f"interval pemeriksaan harus {MIN_POLL_SECONDS} sampai "
                          f"{MAX_POLL_SECONDS} detik", field="poll_interval_seconds")
        out["poll_interval_seconds"] = raw_interval
    if "body_template" in data:
        body = str(data.get("body_template") or "")
        try:
            Renderer.check_template(body)
        except TemplateError as exc:
            raise Invalid(f"template isi tidak valid: {exc}", field="body_template") from None
        out["body_template"] = body
    for flag in ("requires_approval", "enabled", "recurring"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise Invalid(f"{flag} harus true atau false", field=flag)
            out[flag] = data[flag]
    return out


def create_feed_source(session: Session, principal: Principal, settings: Any,
                       opd_ref: int | str, data: dict[str, Any]) -> FeedSource:
    """Add a feed source; its first poll (soon) only records the entries already there."""
    opd = item_service.get_opd(session, principal, opd_ref)
    fields = _clean(session, opd.id, data, partial=False)
    fields.setdefault("requires_approval", True)
    _may_manage(principal, opd.id, fields["requires_approval"])
    source = FeedSource(opd_id=opd.id, opd=opd, created_by_id=principal.user_id,
                        next_poll_at=utcnow(), seeded=False, **fields)
    session.add(source)
    session.flush()
    record(session, principal, "feed.created", opd=opd, detail=describe_feed_source(source))
    return source


def update_feed_source(session: Session, principal: Principal, settings: Any, source_id: int,
                       data: dict[str, Any]) -> FeedSource:
    """Change a source. A new URL starts over: the next poll seeds again (no flood)."""
    source = get_feed_source(session, principal, source_id)
    fields = _clean(session, source.opd_id, data, partial=True)
    _may_manage(principal, source.opd_id,
                fields.get("requires_approval", source.requires_approval))
    if "url" in fields and fields["url"] != source.url:
        source.seeded = False
        source.etag = source.last_modified = None
        source.next_poll_at = utcnow()
    for name, value in fields.items():
        setattr(source, name, value)
    record(session, principal, "feed.updated", opd=source.opd,
           detail={"source_id": source.id, "fields": sorted(fields)})
    return source


def delete_feed_source(session: Session, principal: Principal, source_id: int) -> None:
    """Remove a source (items already made stay, with their history)."""
    source = get_feed_source(session, principal, source_id)
    _may_manage(principal, source.opd_id, True)
    record(session, principal, "feed.deleted", opd=source.opd,
           detail={"source_id": source.id, "url": source.url})
    session.delete(source)


def poll_soon(session: Session, principal: Principal, source_id: int) -> FeedSource:
    """"Periksa sekarang": the next worker tick polls this source."""
    source = get_feed_source(session, principal, source_id)
    _may_manage(principal, source.opd_id, True)
    source.next_poll_at = utcnow()
    return source


def describe_feed_source(source: FeedSource) -> dict[str, Any]:
    """A JSON-safe view of a source (for the API, the UI and the audit)."""
    return {
        "id": source.id, "opd_id": source.opd_id, "name": source.name, "url": source.url,
        "enabled": source.enabled, "target_channel_ids": list(source.target_channel_ids or []),
        "category": source.category, "requires_approval": source.requires_approval,
        "poll_interval_seconds": source.poll_interval_seconds,
        "body_template": source.body_template or "", "seeded": source.seeded,
        "recurring": bool(source.recurring),
        "next_poll_at": _iso(source.next_poll_at), "last_polled_at": _iso(source.last_polled_at),
        "last_success_at": _iso(source.last_success_at), "last_error": source.last_error,
        "error_count": source.error_count,
    }


def skipped_entries(session: Session, principal: Principal, source_id: int,
                    limit: int = 20) -> list[dict[str, Any]]:
    """The latest entries of a source recorded without being posted, each with why."""
    source = get_feed_source(session, principal, source_id)
    rows = session.scalars(
        select(FeedEntrySeen).where(FeedEntrySeen.source_id == source.id,
                                    FeedEntrySeen.skip_reason.is_not(None))
        .order_by(FeedEntrySeen.first_seen_at.desc(), FeedEntrySeen.id.desc()).limit(limit))
    return [{"title": row.title, "seen_at": row.first_seen_at,
             "link": row.link if row.link.startswith(("http://", "https://")) else "",
             "reason": row.skip_reason,
             "reason_text": SKIP_REASONS.get(row.skip_reason or "", row.skip_reason or "")}
            for row in rows]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- items from entries -------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compiled(body: str) -> Template:
    return _SANDBOX.from_string(body)


def render_body(source: FeedSource, entry: FeedEntry, opd_name: str) -> str:
    """The item body: the source's template (sandboxed) or the built-in one, sanitised."""
    template = _compiled(source.body_template or DEFAULT_BODY)
    view = {
        "title": entry.title, "link": entry.link, "summary": entry.summary_html,
        "summary_text": entry.text, "content": entry.content_html or entry.summary_html,
        "published": entry.published,
    }
    return clean_html(template.render(entry=view, source={"name": source.name,
                                                          "opd_name": opd_name}))


def _unique_slug(session: Session, opd_id: int, title: str, key: str) -> str:
    base = f"{slugify(title, 70)}-{key_hash(key)[:8]}"
    slug, n = base, 1
    while session.scalar(select(Item.id).where(Item.opd_id == opd_id, Item.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _exempting_entry(session: Session, opd_id: int, source_ref: str) -> DikEntry | None:
    """The DIK entry that exempts an earlier item of the same article (same link), if any."""
    if not source_ref:
        return None
    entry_id = session.scalar(select(Item.dik_entry_id).where(
        Item.opd_id == opd_id, Item.source == "feed", Item.source_ref == source_ref,
        Item.dik_entry_id.is_not(None), Item.dik_redacted.is_(False)).limit(1))
    return session.get(DikEntry, entry_id) if entry_id is not None else None


def create_item_from_entry(
    session: Session,
    source: FeedSource,
    entry: FeedEntry,
    image: StoredImage | None,
    settings: Any,
    *,
    actor: audit.Actor,
    publish_at: datetime | None = None,
) -> Item:
    """Make an item of a new feed entry, in the caller's write transaction.

    With ``requires_approval`` the item waits for an approver (submitted); otherwise it is
    approved at once and fanned out to the source's channels, due at ``publish_at`` (or now).
    """
    opd = source.opd
    body = render_body(source, entry, opd.name)
    if len(body.encode()) > settings.max_body_bytes:
        body = clean_html(f"<p>{entry.text[:2000]}</p>")
    title = (entry.title or entry.text[:120] or "(tanpa judul)")[: item_service.TITLE_MAX]
    data: dict[str, Any] = {
        "title": title, "body_html": body, "summary": entry.text[:1000],
        "link": entry.link if entry.link.startswith(("http://", "https://")) else "",
        "category": source.category, "info_formats": ["online"],
        "made_at": (entry.published.astimezone(ZoneInfo(opd.timezone)).date()
                    if entry.published else None),
    }
    fields = item_service.clean_fields(data, settings, partial=False)
    item = Item(
        opd_id=opd.id, opd=opd, slug=_unique_slug(session, opd.id, title, entry.key),
        status=ItemStatus.DRAFT, schedule_mode=ScheduleMode.AT if publish_at else ScheduleMode.NOW,
        publish_at=publish_at, source="feed", source_ref=(entry.link or entry.key)[:1000],
        **fields,
    )
    item.targets = [c for c in (session.get(Channel, cid) for cid in source.target_channel_ids)
                    if c is not None and c.opd_id == opd.id]
    exempting = _exempting_entry(session, opd.id, item.source_ref)
    if exempting is not None:
        # The article was exempted once (its item points at a DIK entry): a republished or
        # edited copy of it in the feed is exempt too, and never goes out by itself.
        version = dik.approved_of(exempting) or dik.version_of(exempting)
        item.dik_entry_id = exempting.id
        item.category = Category.DIKECUALIKAN
        item.exemption_article = version.article
        item.exemption_basis = version.legal_basis or f"Pasal 17 huruf {version.article}"
        item.exemption_until = version.period_end
        item.targets = []
    session.add(item)
    if image is not None:
        add_media(session, image, opd_id=opd.id, item=item,
                  filename=urlsplit(image.source_url).path.rsplit("/", 1)[-1])
    session.flush()
    item_service.record_version(session, item, None)
    origin = {"source": "feed", "feed_source_id": source.id, "entry_key": entry.key[:500],
              "entry_link": entry.link, "image": image.source_url if image else None}
    if exempting is not None:
        origin["dik_entry_id"] = exempting.id
    record(session, None, "item.created", item=item, actor=actor, detail=origin)
    if exempting is not None:
        return item  # a draft, dikecualikan: a person decides (see services.dik.unlink_item)
    now = utcnow()
    item.submitted_at = now
    if source.requires_approval or not item.targets:
        item.status = ItemStatus.SUBMITTED
        record(session, None, "item.submitted", item=item, actor=actor,
               detail={"feed_source_id": source.id})
        return item
    item.status = ItemStatus.APPROVED
    item.approved_at = now
    record(session, None, "item.approved", item=item, actor=actor,
           detail={"feed_source_id": source.id,
                   "reason": "sumber feed diatur terbit tanpa persetujuan"})
    item_service.fan_out(session, item, None)
    return item
