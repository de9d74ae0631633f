"""Tulis: compose or edit an item, attach images with alt text, pick channels and a time,
and preview it per channel with the sender's own render code."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import markdown
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..channels import UnknownChannelKind
from ..channels import get as channel_class
from ..channels.base import ChannelError
from ..images import ImageError
from ..models import (
    EXEMPTION_ARTICLES,
    INFO_FORMATS,
    Category,
    Channel,
    Item,
    ItemStatus,
    Role,
    ScheduleMode,
)
from ..payloads import make_context
from ..sanitize import clean_html
from ..services import items as item_service
from ..services import media as media_service
from ..services.errors import Forbidden, Invalid, ServiceError
from ..services.media import StoredImage
from ..timeutil import utcnow
from ..urls import slugify
from ..web.ids import form_id, form_ids, parse_id
from .common import blueprint, editable_opds, local_input, principal, session_

bp = blueprint("ui_compose", __name__)

#: Image slots offered per save (more can be added by saving again).
IMAGE_SLOTS = 3
_TEXT_FIELDS = ("title", "summary", "official_unit", "responsible", "made_place", "retention",
                "link", "exemption_basis")


def markdown_to_html(text: str) -> str:
    """Markdown (HTML also accepted) to sanitised HTML."""
    return clean_html(markdown.markdown(text or "", extensions=["extra", "sane_lists"]))


def _runtime() -> Any:
    from flask import g

    return g.runtime


def item_values(item: Item) -> MultiDict[str, Any]:
    """Form values of an existing item."""
    v: MultiDict[str, Any] = MultiDict()
    v["opd"] = str(item.opd_id)
    for name in _TEXT_FIELDS:
        v[name] = getattr(item, name) or ""
    v["body"] = item.body_html
    v["category"] = item.category
    v["made_at"] = item.made_at.isoformat() if item.made_at else ""
    v["exemption_article"] = item.exemption_article or ""
    v["exemption_until"] = item.exemption_until.isoformat() if item.exemption_until else ""
    for f in item.info_formats or []:
        v.add("info_formats", f)
    for c in item.targets:
        v.add("channel_ids", str(c.id))
    v["schedule_mode"] = item.schedule_mode
    v["schedule_at"] = local_input(item.publish_at, item.opd.timezone)
    return v


def _data(form: MultiDict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {name: form.get(name, "") for name in _TEXT_FIELDS}
    data["body_html"] = markdown_to_html(form.get("body", ""))
    data["category"] = form.get("category") or Category.BERKALA
    data["made_at"] = form.get("made_at") or None
    data["info_formats"] = form.getlist("info_formats")
    if data["category"] == Category.DIKECUALIKAN:
        data["exemption_article"] = form.get("exemption_article") or None
        data["exemption_until"] = form.get("exemption_until") or None
    else:
        data.update(exemption_article=None, exemption_basis="", exemption_until=None)
    return data


def _channel_ids(form: MultiDict[str, Any]) -> list[int]:
    return form_ids(form.getlist("channel_ids"), "channel_ids")


def _schedule(form: MultiDict[str, Any]) -> dict[str, Any] | None:
    mode = form.get("schedule_mode") or ScheduleMode.NOW
    if mode == ScheduleMode.NOW:
        return None
    return {"mode": mode, "at": form.get("schedule_at") or ""}


def _context(values: MultiDict[str, Any], item: Item | None = None, status: int = 200
             ) -> tuple[str, int]:
    s, p = session_(), principal()
    opds = editable_opds(s, p)
    ids = [o.id for o in opds] or ([item.opd_id] if item else [])
    channels = list(s.scalars(select(Channel).where(Channel.opd_id.in_(ids))
                              .order_by(Channel.opd_id, Channel.name)))
    opd_id = parse_id(str(values.get("opd") or "")) or (opds[0].id if opds else 0)
    previews = render_previews(values, item) if item is not None or request.method == "POST" else []
    return render_template(
        "ui/compose.html", v=values, item=item, opds=opds, opd_id=opd_id, channels=channels,
        categories=list(Category), articles=EXEMPTION_ARTICLES, formats=INFO_FORMATS,
        image_slots=range(IMAGE_SLOTS), previews=previews,
        kinds={c.kind: _label(c.kind) for c in channels},
    ), status


def _label(kind: str) -> str:
    try:
        return str(channel_class(kind).label)
    except UnknownChannelKind:
        return kind


@bp.get("/tulis")
def new() -> Any:
    """An empty compose form."""
    values: MultiDict[str, Any] = MultiDict({"schedule_mode": "now", "category": "berkala"})
    if parse_id(request.args.get("opd")):
        values["opd"] = request.args["opd"]
    if not editable_opds(session_(), principal()):
        flash(_("Anda tidak memiliki peran penyusun di OPD mana pun."), "error")
    return _context(values)


def _uploads() -> list[tuple[StoredImage, str]]:
    """The images uploaded with the form, checked and stored, with their file names. Call it
    before the request's session is opened: a large photo takes seconds, and on SQLite the
    request's write transaction would hold every other writer back meanwhile."""
    settings = _runtime().settings
    stored = []
    for slot in range(IMAGE_SLOTS):
        upload = request.files.get(f"image_{slot}")
        if upload is None or not upload.filename:
            continue
        alt = media_service.clean_alt_text(request.form.get(f"image_alt_{slot}", ""))
        try:
            image = media_service.save_image(settings, upload.read(), alt_text=alt)
        except ImageError as exc:
            raise Invalid(f"{upload.filename}: {exc.message}", field="image") from None
        stored.append((image, upload.filename))
        for note in image.notes:
            flash(f"{upload.filename}: {note}", "info")
    return stored


def _attach_images(item: Item, uploads: list[tuple[StoredImage, str]]) -> bool:
    """Attach images stored by :func:`_uploads` and apply alt-text edits and removals; True if
    anything changed."""
    s, p = session_(), principal()
    changed = False
    for m in list(item.media):
        if request.form.get(f"media_remove_{m.id}"):
            item.media.remove(m)
            m.item_id = None
            changed = True
            continue
        alt = request.form.get(f"media_alt_{m.id}")
        if alt is not None and alt.strip() != m.alt_text:
            if not alt.strip():
                raise Invalid("teks alternatif (alt) gambar wajib diisi",
                                           field="alt_text")
            m.alt_text = alt.strip()
            changed = True
    if uploads and not p.has_role(item.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang menambah gambar di OPD ini")
    for image, filename in uploads:
        media_service.add_media(s, image, opd_id=item.opd_id, item=item, principal=p,
                                filename=filename)
        changed = True
    return changed


@bp.post("/tulis")
def create() -> Any:
    """Save a new item as a draft, or save and submit it."""
    try:
        uploads = _uploads()  # before the session: no write lock while images are processed
    except ServiceError as exc:
        flash(_field_message(exc), "error")
        return _context(request.form, None, 422)
    s, p = session_(), principal()
    settings = _runtime().settings
    form = request.form
    try:
        opd_id = form_id(form.get("opd"), "opd")
        item = item_service.create_item(
            s, p, settings, opd_id, _data(form), channel_ids=_channel_ids(form),
            schedule=_schedule(form), source="ui",
        )
        if _attach_images(item, uploads):
            item_service.update_item(s, p, settings, item.id, {})
        if form.get("action") == "submit":
            item_service.submit_item(s, p, settings, item.id)
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(_field_message(exc), "error")
        return _context(form, None, 422)
    flash(_saved_message(item), "success")
    return redirect(url_for("ui_detail.show", item_id=item.id))


@bp.get("/informasi/<id:item_id>/ubah")
def edit(item_id: int) -> Any:
    """The compose form for an existing item."""
    s, p = session_(), principal()
    try:
        item = item_service.get_item(s, p, item_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("ui_dashboard.index"))
    return _context(item_values(item), item)


@bp.post("/informasi/<id:item_id>/ubah")
def save(item_id: int) -> Any:
    """Save changes (and optionally submit); a new schedule reschedules."""
    try:
        uploads = _uploads()  # before the session: no write lock while images are processed
    except ServiceError as exc:
        flash(_field_message(exc), "error")
        return redirect(url_for("ui_compose.edit", item_id=item_id))
    s, p = session_(), principal()
    settings = _runtime().settings
    form = request.form
    item = None
    try:
        item = item_service.get_item(s, p, item_id)
        _attach_images(item, uploads)
        channel_ids = None if item.status == ItemStatus.APPROVED else _channel_ids(form)
        item_service.update_item(s, p, settings, item.id, _data(form), channel_ids=channel_ids)
        schedule = _schedule(form) or {"mode": ScheduleMode.NOW}
        if _schedule_changed(item, schedule) and item.category != Category.DIKECUALIKAN:
            item_service.reschedule_item(s, p, settings, item.id, schedule)
        if form.get("action") == "submit":
            item_service.submit_item(s, p, settings, item.id)
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(_field_message(exc), "error")
        item = s.get(Item, item_id) if item is not None else None
        if item is None:
            return redirect(url_for("ui_dashboard.index"))
        return _context(form, item, 422)
    flash(_saved_message(item), "success")
    return redirect(url_for("ui_detail.show", item_id=item.id))


def _schedule_changed(item: Item, schedule: dict[str, Any]) -> bool:
    mode = schedule.get("mode", ScheduleMode.NOW)
    if mode != item.schedule_mode:
        return True
    return mode == ScheduleMode.AT and schedule.get("at", "") != local_input(
        item.publish_at, item.opd.timezone)


def _field_message(exc: ServiceError) -> str:
    return f"{exc.message} ({exc.field})" if exc.field else exc.message


def _saved_message(item: Item) -> str:
    if item.status == ItemStatus.SUBMITTED:
        return _("Tersimpan dan diajukan untuk persetujuan.")
    if item.status == ItemStatus.APPROVED:
        return _("Tersimpan dan disetujui: publikasi sudah dijadwalkan.")
    return _("Draf tersimpan.")


# --- previews ---------------------------------------------------------------------------------


@bp.post("/tulis/pratinjau")
def preview() -> Any:
    """The previews of the form as it is now (HTML fragment for the live preview)."""
    item = None
    item_id = parse_id(request.form.get("item_id"))
    if item_id is not None:
        try:
            item = item_service.get_item(session_(), principal(), item_id)
        except ServiceError:
            item = None
    return render_template("ui/_previews.html", previews=render_previews(request.form, item))


def render_previews(form: MultiDict[str, Any], item: Item | None) -> list[dict[str, Any]]:
    """One preview per selected channel, rendered exactly as the sender renders it."""
    s, p, runtime = session_(), principal(), _runtime()
    opd_id = parse_id(str(form.get("opd") or (item.opd_id if item else "")))
    if opd_id is None:
        return []
    try:
        opd = item_service.get_opd(s, p, opd_id)
        ids = _channel_ids(form)
    except ServiceError:
        return []
    if not ids:
        return []
    channels = list(s.scalars(select(Channel).where(Channel.id.in_(ids),
                                                    Channel.opd_id == opd.id)))
    body_html = markdown_to_html(form.get("body", ""))
    title = (form.get("title") or "").strip() or _("(tanpa judul)")
    try:
        made_at = date.fromisoformat(form.get("made_at") or "")
    except ValueError:
        made_at = None
    doc = {
        "id": item.id if item else 0, "opd_id": opd.id, "slug": slugify(title), "title": title,
        "body_html": body_html, "summary": form.get("summary", ""),
        "category": form.get("category") or Category.BERKALA, "link": form.get("link", ""),
        "version": item.version if item else 1, "official_unit": form.get("official_unit", ""),
        "responsible": form.get("responsible", ""), "made_at": made_at,
        "made_place": form.get("made_place", ""), "info_formats": form.getlist("info_formats"),
        "retention": form.get("retention", ""),
        "created_at": item.created_at if item else utcnow(),
    }
    doc["content_hash"] = hashlib.sha256(
        json.dumps(doc, default=str, sort_keys=True).encode()).hexdigest()
    media = [
        {"id": m.id, "storage_key": m.storage_key, "mime_type": m.mime_type,
         "alt_text": form.get(f"media_alt_{m.id}", m.alt_text), "width": m.width,
         "height": m.height, "public_token": m.public_token}
        for m in sorted(item.media, key=lambda m: (m.position, m.id))
        if not form.get(f"media_remove_{m.id}")
    ] if item is not None else []
    ctx = make_context(doc, {"id": opd.id, "name": opd.name, "slug": opd.slug,
                             "timezone": opd.timezone, "color": opd.color},
                       media, 0, runtime.settings)
    out = []
    for row in channels:
        entry: dict[str, Any] = {"channel": row, "label": _label(row.kind)}
        try:
            impl = runtime.channel(row)
            payload = impl.render(ctx, runtime.renderer)
            entry["payload"] = payload.preview()
            limit = getattr(impl, "text_limit", None)
            if limit and len(payload.text) > limit:
                entry["warning"] = _("Teks %(n)d karakter, batas saluran ini %(m)d.",
                                     n=len(payload.text), m=limit)
        except ChannelError as exc:
            entry["error"] = exc.message
        except Exception as exc:
            entry["error"] = _("Pratinjau gagal dibuat: %(e)s", e=str(exc)[:300])
        out.append(entry)
    return out
