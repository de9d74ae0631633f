"""Items of public information: drafting, approval, scheduling, fan-out to publications."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..access import Principal
from ..config import ConfigError, validate_timezone
from ..dik_rules import dik_allows
from ..models import (
    CANCELLABLE,
    EXEMPTION_ARTICLES,
    INFO_FORMATS,
    Category,
    Channel,
    ChannelStatus,
    Item,
    ItemStatus,
    ItemVersion,
    Opd,
    Priority,
    Publication,
    PublicationStatus,
    Role,
    ScheduleMode,
)
from ..queue import signals
from ..sanitize import clean_html
from ..slots import next_free_slot
from ..timeutil import parse_local, utcnow
from ..urls import slugify
from ..web.ids import is_id
from . import text as text_policy
from .auditing import record
from .errors import Conflict, ExemptInformation, Forbidden, Invalid, NotFound

#: Fields that make up an item's content (and its version hash).
CONTENT_FIELDS = (
    "title", "body_html", "summary", "official_unit", "responsible", "made_at", "made_place",
    "info_formats", "retention", "category", "exemption_article", "exemption_basis",
    "exemption_until", "link",
)
TITLE_MAX = 300


def content_hash(item: Item) -> str:
    """SHA-256 of the item's content fields and its images (id and alt text)."""
    doc = {name: _jsonable(getattr(item, name)) for name in CONTENT_FIELDS}
    doc["media"] = [[m.id, m.alt_text] for m in item.media]
    data = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(item: Item) -> dict[str, Any]:
    """The item's content as JSON, kept in ItemVersion."""
    doc = {name: _jsonable(getattr(item, name)) for name in CONTENT_FIELDS}
    doc["media"] = [{"id": m.id, "alt_text": m.alt_text} for m in item.media]
    doc["targets"] = sorted(c.id for c in item.targets)
    return doc


# --- lookups --------------------------------------------------------------------------------


def get_opd(session: Session, principal: Principal, opd_ref: int | str) -> Opd:
    """An OPD the user may read, by id or slug; NotFound otherwise."""
    query = select(Opd)
    query = query.where(Opd.id == opd_ref) if isinstance(opd_ref, int) else query.where(
        Opd.slug == opd_ref
    )
    opd = None if isinstance(opd_ref, int) and not is_id(opd_ref) else (
        session.scalars(query).first())
    if opd is None or not principal.can_read(opd.id):
        raise NotFound(f"OPD {opd_ref!r} tidak ditemukan", field="opd")
    return opd


def get_item(session: Session, principal: Principal, item_id: int) -> Item:
    """An item the user may read; NotFound for other OPDs' items (never Forbidden)."""
    item = session.get(Item, item_id) if is_id(item_id) else None
    if item is None or not principal.can_read(item.opd_id):
        raise NotFound(f"informasi #{item_id} tidak ditemukan", field="item_id")
    return item


def _require(principal: Principal, opd_id: int, *roles: Role, what: str) -> None:
    if not principal.has_role(opd_id, *roles):
        raise Forbidden(f"Anda tidak berwenang {what} di OPD ini")


# --- validation -----------------------------------------------------------------------------


def clean_fields(data: dict[str, Any], settings: Any, partial: bool) -> dict[str, Any]:
    """Validate and normalise item content fields; raise Invalid naming the field."""
    out: dict[str, Any] = {}
    if "title" in data or not partial:
        title = text_policy.line(data.get("title"), "title")
        if not title:
            raise Invalid("judul wajib diisi", field="title")
        if len(title) > TITLE_MAX:
            raise Invalid(f"judul paling banyak {TITLE_MAX} karakter", field="title")
        out["title"] = title
    if "body_html" in data:
        body = text_policy.text(data.get("body_html"), "body_html")
        if len(body.encode()) > settings.max_body_bytes:
            raise Invalid(
                f"isi terlalu panjang ({len(body.encode())} byte; paling banyak "
                f"{settings.max_body_bytes})",
                field="body_html",
            )
        out["body_html"] = clean_html(body)
    for name in ("summary", "official_unit", "responsible", "made_place", "retention", "link"):
        if name in data:
            value = (text_policy.text(data.get(name), name).strip() if name == "summary"
                     else text_policy.line(data.get(name), name))
            if name == "summary" and len(value) > 5000:
                raise Invalid("ringkasan paling banyak 5000 karakter", field=name)
            if name == "link" and value and not value.startswith(("http://", "https://")):
                raise Invalid("tautan harus diawali http:// atau https://", field=name)
            out[name] = value
    if "made_at" in data:
        out["made_at"] = parse_date(data.get("made_at"), "made_at")
    if "info_formats" in data:
        formats = data.get("info_formats") or []
        if isinstance(formats, str):
            formats = [f.strip() for f in formats.split(",") if f.strip()]
        bad = [f for f in formats if f not in INFO_FORMATS]
        if bad:
            raise Invalid(
                f"bentuk informasi {bad[0]!r} tidak dikenal: pilih cetak, rekam atau online",
                field="info_formats",
            )
        out["info_formats"] = sorted(set(formats), key=INFO_FORMATS.index)
    if "category" in data or not partial:
        category = data.get("category") or Category.BERKALA
        if category not in set(Category):
            raise Invalid(
                f"kategori {category!r} tidak dikenal: berkala, serta_merta, setiap_saat "
                "atau dikecualikan",
                field="category",
            )
        out["category"] = category
    for name in ("exemption_article", "exemption_basis"):
        if name in data:
            value = (text_policy.text(data.get(name), name).strip() if name == "exemption_basis"
                     else text_policy.line(data.get(name), name))
            out[name] = value or (None if name == "exemption_article" else "")
    if "exemption_until" in data:
        out["exemption_until"] = parse_date(data.get("exemption_until"), "exemption_until")
    return out


def parse_date(value: Any, field: str) -> date | None:
    """``YYYY-MM-DD`` (or a date) → date; None for empty; Invalid naming ``field``."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"{value!r} bukan tanggal (YYYY-MM-DD)", field=field) from None


def _check_exemption(item: Item) -> None:
    if item.category != Category.DIKECUALIKAN:
        if item.dik_entry_id is not None and not item.dik_redacted:
            raise Invalid("informasi ini dikecualikan oleh entri DIK: reklasifikasi lewat "
                          "DIK, bukan dengan mengubah kategori", field="category")
        return
    if item.dik_entry_id is not None and not item.dik_redacted:
        return  # the entry is the basis, its period may end with an event
    if item.exemption_article not in EXEMPTION_ARTICLES:
        raise Invalid(
            "informasi dikecualikan wajib menyebut huruf Pasal 17 UU 14/2008 (a–j)",
            field="exemption_article",
        )
    if not item.exemption_basis:
        raise Invalid("dasar hukum pengecualian wajib diisi", field="exemption_basis")
    if item.exemption_until is None:
        raise Invalid("tanggal berakhirnya pengecualian wajib diisi", field="exemption_until")


def refuse_exempt(item: Item, doing: str) -> None:
    """Raise ExemptInformation when ``item`` is dikecualikan, or the DIK entry it points at
    does not let it out (see :func:`publisher.dik_rules.dik_allows`)."""
    if item.category == Category.DIKECUALIKAN:
        raise ExemptInformation(
            f"informasi dikecualikan (Pasal 17 huruf {item.exemption_article}) tidak boleh "
            f"{doing}",
            field="category",
        )
    entry = item.dik_entry
    if entry is not None and not dik_allows(entry.status, entry.conclusion, item.dik_redacted):
        raise ExemptInformation(
            f"informasi ini tertaut ke entri DIK #{entry.id} ({entry.status}) dan tidak boleh "
            f"{doing}",
            field="dik_entry_id",
        )


def _targets(session: Session, opd_id: int, ids: list[Any] | None) -> list[Channel]:
    if ids is None:
        return []
    channels = []
    for raw in ids:
        if not isinstance(raw, int):
            raise Invalid(f"saluran {raw!r} bukan id saluran", field="channel_ids")
        channel = session.get(Channel, raw)
        if channel is None or channel.opd_id != opd_id:
            raise Invalid(f"saluran #{raw} tidak ada di OPD ini", field="channel_ids")
        channels.append(channel)
    return channels


def parse_schedule_input(raw: dict[str, Any] | None, tz_name: str) -> tuple[str, datetime | None]:
    """``{"mode": "now" | "at" | "next_slot", "at": "2026-12-01T08:00"}`` → (mode, UTC time).

    ``at`` without an offset is local time in the OPD's zone; a time in the past is refused.
    """
    if not raw:
        return ScheduleMode.NOW, None
    mode = raw.get("mode") or (ScheduleMode.AT if raw.get("at") else ScheduleMode.NOW)
    if mode not in set(ScheduleMode):
        raise Invalid(f"mode jadwal {mode!r} tidak dikenal: now, at atau next_slot",
                      field="schedule.mode")
    if raw.get("timezone"):
        try:
            tz_name = validate_timezone(str(raw["timezone"]))
        except ConfigError as exc:
            raise Invalid(str(exc), field="schedule.timezone") from None
    if mode != ScheduleMode.AT:
        return mode, None
    if not raw.get("at"):
        raise Invalid("waktu terbit wajib diisi untuk mode 'at'", field="schedule.at")
    try:
        moment = parse_local(raw["at"], tz_name)
    except ValueError as exc:
        raise Invalid(str(exc), field="schedule.at") from None
    if moment <= utcnow():
        raise Invalid("waktu terbit sudah lewat: pilih waktu di masa depan", field="schedule.at")
    return mode, moment


# --- versions -------------------------------------------------------------------------------


def record_version(session: Session, item: Item, principal: Principal | None) -> None:
    """Recompute the content hash and keep a snapshot of this version."""
    item.content_hash = content_hash(item)
    session.add(
        ItemVersion(
            item_id=item.id,
            version=item.version,
            content_hash=item.content_hash,
            snapshot=snapshot(item),
            created_by_id=principal.user_id if principal else None,
        )
    )


# --- operations -----------------------------------------------------------------------------


def create_item(
    session: Session,
    principal: Principal,
    settings: Any,
    opd_ref: int | str,
    data: dict[str, Any],
    *,
    channel_ids: list[Any] | None = None,
    schedule: dict[str, Any] | None = None,
    source: str = "api",
    source_ref: str = "",
) -> Item:
    """Draft a new item in an OPD the user edits."""
    opd = get_opd(session, principal, opd_ref)
    _require(principal, opd.id, Role.EDITOR, Role.APPROVER, what="menyusun informasi")
    fields = clean_fields(data, settings, partial=False)
    fields.setdefault("body_html", "")
    mode, publish_at = parse_schedule_input(schedule, opd.timezone)
    item = Item(
        opd_id=opd.id,
        opd=opd,
        slug=slugify(fields["title"]),
        status=ItemStatus.DRAFT,
        schedule_mode=mode,
        publish_at=publish_at,
        source=source,
        source_ref=source_ref,
        created_by_id=principal.user_id,
        **fields,
    )
    item.targets = _targets(session, opd.id, channel_ids)
    _check_exemption(item)
    if item.category == Category.DIKECUALIKAN and (schedule or item.targets):
        refuse_exempt(item, "dijadwalkan atau diberi saluran")
    session.add(item)
    session.flush()
    record_version(session, item, principal)
    record(session, principal, "item.created", item=item, detail={"source": source})
    return item


def update_item(
    session: Session,
    principal: Principal,
    settings: Any,
    item_id: int,
    data: dict[str, Any],
    *,
    channel_ids: list[Any] | None = None,
) -> Item:
    """Change an item's content. Approved items may be changed by approvers only; a change
    to dikecualikan blocks every publication that has not gone out yet."""
    item = get_item(session, principal, item_id)
    if item.status == ItemStatus.CANCELLED:
        raise Conflict("informasi ini sudah dibatalkan", field="status")
    if item.status == ItemStatus.APPROVED:
        _require(principal, item.opd_id, Role.APPROVER, what="mengubah informasi yang disetujui")
    else:
        _require(principal, item.opd_id, Role.EDITOR, Role.APPROVER, what="mengubah informasi")
    fields = clean_fields(data, settings, partial=True)
    for name, value in fields.items():
        setattr(item, name, value)
    if channel_ids is not None:
        if item.status == ItemStatus.APPROVED:
            raise Conflict("saluran tidak dapat diubah setelah disetujui", field="channel_ids")
        item.targets = _targets(session, item.opd_id, channel_ids)
    _check_exemption(item)
    exempt = item.category == Category.DIKECUALIKAN
    if exempt and item.targets and item.status != ItemStatus.APPROVED:
        refuse_exempt(item, "diberi saluran publikasi")
    if item.status == ItemStatus.SUBMITTED:
        item.status = ItemStatus.DRAFT  # a changed draft needs approval again
    new_hash = content_hash(item)
    changed = new_hash != item.content_hash
    withdrawn: list[int] = []
    if changed and item.status == ItemStatus.APPROVED and not exempt:
        withdrawn = _withdraw_for_reapproval(session, item, principal)
    if changed:
        item.version += 1
        record_version(session, item, principal)
    record(session, principal, "item.updated", item=item,
           detail={"fields": sorted(fields), "status": item.status,
                   **({"publications_withdrawn": withdrawn} if withdrawn else {})})
    if item.category == Category.DIKECUALIKAN:
        block_publications(session, item, principal)
    return item


#: error_kind of a publication taken back because its approved item changed; re-approval
#: schedules exactly these again (a publication a user cancelled stays cancelled).
REAPPROVAL = "reapproval"


def _withdraw_for_reapproval(
    session: Session, item: Item, principal: Principal | None
) -> list[int]:
    """Four-eyes: an approved item whose content changes goes back for approval, and its
    publications that have not started wait for it. Refused while one is being sent."""
    pubs = session.scalars(
        select(Publication).where(Publication.item_id == item.id).with_for_update()
    ).all()
    if any(p.status in (PublicationStatus.SENDING, PublicationStatus.PROCESSING) for p in pubs):
        raise Conflict("informasi sedang dikirim; tunggu sampai selesai sebelum mengubah isinya",
                       field="status")
    pending = [p for p in pubs if p.status in CANCELLABLE]
    if not pending:
        return []  # everything already went out: the change is recorded, nothing to hold back
    for pub in pending:
        pub.status = PublicationStatus.CANCELLED
        pub.error_kind = REAPPROVAL
        pub.last_error = "Isi diubah setelah disetujui: menunggu persetujuan ulang"
        record(session, principal, "publication.withdrawn", item=item, publication=pub,
               result=pub.status, detail={"reason": REAPPROVAL})
    item.status = ItemStatus.SUBMITTED
    item.submitted_at = utcnow()
    item.approved_by_id = None
    item.approved_at = None
    return [p.id for p in pending]


def block_publications(session: Session, item: Item, principal: Principal | None) -> int:
    """Block every publication of an exempt item that has not been published."""
    pubs = session.scalars(
        select(Publication).where(
            Publication.item_id == item.id,
            Publication.status.not_in(
                [PublicationStatus.PUBLISHED, PublicationStatus.BLOCKED, PublicationStatus.SENDING]
            ),
        ).with_for_update()
    ).all()
    for pub in pubs:
        pub.status = PublicationStatus.BLOCKED
        pub.last_error = "Informasi dikecualikan: tidak boleh dipublikasikan"
        record(session, principal, "publication.blocked", item=item, publication=pub,
               result="blocked", detail={"dik_check": "dikecualikan"})
    return len(pubs)


def submit_item(session: Session, principal: Principal, settings: Any, item_id: int) -> Item:
    """Send a draft for approval; where the OPD needs no approval it is approved at once."""
    item = get_item(session, principal, item_id)
    _require(principal, item.opd_id, Role.EDITOR, Role.APPROVER, what="mengajukan informasi")
    refuse_exempt(item, "diajukan untuk publikasi")
    if item.status not in (ItemStatus.DRAFT, ItemStatus.RETURNED):
        raise Conflict(f"informasi berstatus {item.status}, tidak dapat diajukan", field="status")
    if not item.targets:
        raise Invalid("pilih minimal satu saluran publikasi", field="channel_ids")
    item.status = ItemStatus.SUBMITTED
    item.submitted_at = utcnow()
    record(session, principal, "item.submitted", item=item)
    if item.opd.approval_required:
        _tell_approvers(session, principal, item)
    else:
        _approve(session, principal, item, "persetujuan tidak diwajibkan di OPD ini")
    return item


def _tell_approvers(session: Session, principal: Principal, item: Item) -> None:
    """The OPD's approvers (never the one who submitted) hear that an item awaits them."""
    from ..models import Membership
    from ..notify.outbox import notify

    approvers = session.scalars(select(Membership.user_id).where(
        Membership.opd_id == item.opd_id, Membership.role == Role.APPROVER,
        Membership.user_id != principal.user_id)).all()
    notify(session, "item_submitted", approvers,
           event_key=f"item-{item.id}-v{item.version}-{item.submitted_at:%Y%m%d%H%M%S%f}",
           context={"actor": principal.full_name, "title": item.title, "opd": item.opd.name},
           link=f"/admin/informasi/{item.id}#approval", opd_id=item.opd_id, item_id=item.id)


def approve_item(
    session: Session, principal: Principal, settings: Any, item_id: int, comment: str = ""
) -> Item:
    """Approve a submitted item (never one you drafted) and fan it out to publications."""
    item = get_item(session, principal, item_id)
    _require(principal, item.opd_id, Role.APPROVER, what="menyetujui informasi")
    refuse_exempt(item, "disetujui untuk publikasi")
    if item.status != ItemStatus.SUBMITTED:
        raise Conflict(f"informasi berstatus {item.status}, bukan menunggu persetujuan",
                       field="status")
    if item.created_by_id == principal.user_id:
        raise Forbidden("Anda tidak boleh menyetujui informasi yang Anda susun sendiri")
    if last_author_id(session, item) == principal.user_id:
        raise Forbidden("Anda tidak boleh menyetujui informasi yang terakhir Anda ubah sendiri")
    _approve(session, principal, item, text_policy.text(comment, "comment").strip())
    return item


def last_author_id(session: Session, item: Item) -> int | None:
    """Who wrote the item's current version (the drafter, or whoever edited it last)."""
    return session.scalar(
        select(ItemVersion.created_by_id).where(
            ItemVersion.item_id == item.id, ItemVersion.version == item.version
        )
    )


def _approve(session: Session, principal: Principal, item: Item, comment: str) -> None:
    item.status = ItemStatus.APPROVED
    item.approved_by_id = principal.user_id
    item.approved_at = utcnow()
    item.review_comment = comment
    record(session, principal, "item.approved", item=item, detail={"comment": comment})
    fan_out(session, item, principal)


def return_item(
    session: Session, principal: Principal, settings: Any, item_id: int, comment: str
) -> Item:
    """Send a submitted item back to its drafter with a comment."""
    item = get_item(session, principal, item_id)
    _require(principal, item.opd_id, Role.APPROVER, what="mengembalikan informasi")
    if item.status != ItemStatus.SUBMITTED:
        raise Conflict(f"informasi berstatus {item.status}, bukan menunggu persetujuan",
                       field="status")
    comment = text_policy.text(comment, "comment").strip()
    if not comment:
        raise Invalid("tuliskan alasan pengembalian", field="comment")
    item.status = ItemStatus.RETURNED
    item.review_comment = comment
    record(session, principal, "item.returned", item=item, detail={"comment": comment})
    if item.created_by_id is not None:
        from ..notify.outbox import notify

        notify(session, "item_returned", [item.created_by_id],
               event_key=f"item-{item.id}-v{item.version}-returned-{utcnow():%Y%m%d%H%M%S%f}",
               context={"actor": principal.full_name, "title": item.title,
                        "comment": item.review_comment},
               link=f"/admin/informasi/{item.id}", opd_id=item.opd_id, item_id=item.id)
    return item


def _taken_slots(session: Session, channel_id: int) -> list[datetime]:
    return list(
        session.scalars(
            select(Publication.due_at).where(
                Publication.channel_id == channel_id,
                Publication.status.in_(
                    [PublicationStatus.SCHEDULED, PublicationStatus.RETRYING,
                     PublicationStatus.HELD, PublicationStatus.PUBLISHED]
                ),
                Publication.due_at >= utcnow() - timedelta(minutes=1),
            )
        )
    )


def due_time(session: Session, item: Item, channel: Channel) -> datetime:
    """When ``item`` goes out on ``channel``, from its schedule (serta-merta: now)."""
    now = utcnow()
    if item.category == Category.SERTA_MERTA or item.schedule_mode == ScheduleMode.NOW:
        return now
    if item.schedule_mode == ScheduleMode.AT and item.publish_at is not None:
        return max(item.publish_at, now)
    return next_free_slot(channel.schedule or [], item.opd.timezone, now,
                          _taken_slots(session, channel.id))


def fan_out(session: Session, item: Item, principal: Principal | None) -> list[Publication]:
    """One publication per target channel, due per the item's schedule."""
    refuse_exempt(item, "dipublikasikan")
    priority = Priority.SERTA_MERTA if item.category == Category.SERTA_MERTA else Priority.NORMAL
    existing = {
        p.channel_id: p
        for p in session.scalars(select(Publication).where(Publication.item_id == item.id))
    }
    created = []
    for channel in item.targets:
        held = channel.status != ChannelStatus.ACTIVE
        status = PublicationStatus.HELD if held else PublicationStatus.SCHEDULED
        pub = existing.get(channel.id)
        if pub is not None:
            if pub.status != PublicationStatus.CANCELLED or pub.error_kind != REAPPROVAL:
                continue
            pub.status, pub.error_kind, pub.last_error = status, None, None
            pub.priority, pub.due_at = priority, due_time(session, item, channel)
        else:
            pub = Publication(
                item_id=item.id,
                channel_id=channel.id,
                opd_id=item.opd_id,
                status=status,
                priority=priority,
                due_at=due_time(session, item, channel),
                channel=channel,
            )
            session.add(pub)
        session.flush()
        pub.fingerprint = f"pub-{pub.id}-{item.content_hash[:12]}"
        created.append(pub)
        record(session, principal, "publication.scheduled", item=item, publication=pub,
               channel=channel, result=pub.status,
               detail={"due_at": pub.due_at.isoformat(), "priority": priority})
    if created:
        signals.notify(min(p.due_at for p in created))
    return created


def reschedule_item(
    session: Session, principal: Principal, settings: Any, item_id: int, schedule: dict[str, Any]
) -> Item:
    """Move every publication of the item that has not started sending."""
    item = get_item(session, principal, item_id)
    _require(principal, item.opd_id, Role.EDITOR, Role.APPROVER, what="menjadwalkan ulang")
    refuse_exempt(item, "dijadwalkan")
    if item.status == ItemStatus.CANCELLED:
        raise Conflict("informasi ini sudah dibatalkan", field="status")
    mode, publish_at = parse_schedule_input(schedule, item.opd.timezone)
    item.schedule_mode, item.publish_at = mode, publish_at
    moved = 0
    if item.status == ItemStatus.APPROVED:
        pubs = session.scalars(
            select(Publication).where(
                Publication.item_id == item.id,
                Publication.status.in_([PublicationStatus.SCHEDULED, PublicationStatus.RETRYING]),
            ).with_for_update()
        ).all()
        for pub in pubs:
            pub.due_at = due_time(session, item, pub.channel)
            moved += 1
            record(session, principal, "publication.rescheduled", item=item, publication=pub,
                   detail={"due_at": pub.due_at.isoformat()})
        if pubs:
            signals.notify(min(p.due_at for p in pubs))
    record(session, principal, "item.rescheduled", item=item,
           detail={"mode": mode, "publish_at": publish_at.isoformat() if publish_at else None,
                   "publications_moved": moved})
    return item


def cancel_item(session: Session, principal: Principal, settings: Any, item_id: int) -> Item:
    """Cancel an item and each of its publications that has not started sending."""
    item = get_item(session, principal, item_id)
    _require(principal, item.opd_id, Role.EDITOR, Role.APPROVER, what="membatalkan informasi")
    if item.status == ItemStatus.CANCELLED:
        raise Conflict("informasi ini sudah dibatalkan", field="status")
    result = session.execute(
        update(Publication)
        .where(Publication.item_id == item.id, Publication.status.in_(CANCELLABLE))
        .values(status=PublicationStatus.CANCELLED, updated_at=utcnow())
        .returning(Publication.id)
    )
    cancelled = [row.id for row in result]
    item.status = ItemStatus.CANCELLED
    record(session, principal, "item.cancelled", item=item,
           detail={"publications_cancelled": cancelled})
    return item
