"""Response schemas: they document every answer in the OpenAPI document and act as a
whitelist (a field that is not listed here, such as a channel's secrets, never goes out).

Times come in pairs: ``<name>`` (ISO 8601 UTC) and ``<name>_local`` (``2026-11-27 16:00 WIB``).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

f = ma.fields


def _timed(*names: str) -> dict[str, ma.fields.Field]:
    out: dict[str, ma.fields.Field] = {}
    for name in names:
        out[name] = f.String(allow_none=True, metadata={"description": "ISO 8601, UTC"})
        out[f"{name}_local"] = f.String(allow_none=True,
                                        metadata={"description": "waktu setempat OPD + zona"})
    return out


def _schema(name: str, fields: dict[str, Any]) -> type[ma.Schema]:
    return ma.Schema.from_dict(fields, name=name)


def _page(name: str, item: type[ma.Schema]) -> type[ma.Schema]:
    return _schema(name, {"items": f.List(f.Nested(item)), "page": f.Integer(),
                          "per_page": f.Integer(), "total": f.Integer()})


OpdOut = _schema("OpdOut", {
    "id": f.Integer(), "name": f.String(), "slug": f.String(), "timezone": f.String(),
    "timezone_label": f.String(), "parent_id": f.Integer(allow_none=True),
    "approval_required": f.Boolean(), "color": f.String(), **_timed("created_at"),
})
OpdList = _schema("OpdList", {"items": f.List(f.Nested(OpdOut))})

MediaOut = _schema("MediaOut", {
    "id": f.Integer(), "opd_id": f.Integer(), "item_id": f.Integer(allow_none=True),
    "position": f.Integer(), "mime_type": f.String(), "width": f.Integer(allow_none=True),
    "height": f.Integer(allow_none=True), "size_bytes": f.Integer(), "sha256": f.String(),
    "alt_text": f.String(), "original_filename": f.String(),
    "url": f.String(metadata={"description": "alamat publik (token tak tertebak)"}),
    **_timed("created_at"),
    "warnings": f.List(f.String(), metadata={
        "description": "saat unggah: apa yang dilakukan pada gambar (mis. animasi disimpan "
                       "sebagai gambar diam); kosong di tempat lain"}),
})
MediaPage = _page("MediaPage", MediaOut)

PublicationOut = _schema("PublicationOut", {
    "id": f.Integer(), "item_id": f.Integer(), "channel_id": f.Integer(),
    "channel_kind": f.String(), "channel_name": f.String(), "opd_id": f.Integer(),
    "status": f.String(), "priority": f.Integer(), "attempts": f.Integer(),
    "url": f.String(allow_none=True), "remote_id": f.String(allow_none=True),
    "error_kind": f.String(allow_none=True), "last_error": f.String(allow_none=True),
    **_timed("due_at", "started_at", "published_at", "created_at", "updated_at"),
})
PublicationPage = _page("PublicationPage", PublicationOut)

_ITEM_FIELDS: dict[str, Any] = {
    "id": f.Integer(), "opd_id": f.Integer(), "opd_slug": f.String(), "slug": f.String(),
    "title": f.String(), "body_html": f.String(), "summary": f.String(),
    "official_unit": f.String(), "responsible": f.String(),
    "made_at": f.String(allow_none=True), "made_place": f.String(),
    "info_formats": f.List(f.String()), "retention": f.String(), "category": f.String(),
    "exemption_article": f.String(allow_none=True), "exemption_basis": f.String(),
    "exemption_until": f.String(allow_none=True), "link": f.String(), "status": f.String(),
    "schedule_mode": f.String(), "version": f.Integer(), "content_hash": f.String(),
    "review_comment": f.String(), "source": f.String(),
    "created_by_id": f.Integer(allow_none=True), "approved_by_id": f.Integer(allow_none=True),
    "channel_ids": f.List(f.Integer()), "media": f.List(f.Nested(MediaOut)),
    "site_url": f.String(), "timezone": f.String(),
    **_timed("publish_at", "submitted_at", "approved_at", "created_at", "updated_at"),
}
ItemOut = _schema("ItemOut", _ITEM_FIELDS)
ItemPage = _page("ItemPage", ItemOut)
VersionOut = _schema("VersionOut", {
    "version": f.Integer(), "content_hash": f.String(),
    "created_by_id": f.Integer(allow_none=True), **_timed("created_at"),
})
ItemDetailOut = _schema("ItemDetailOut", {
    **_ITEM_FIELDS, "publications": f.List(f.Nested(PublicationOut)),
    "versions": f.List(f.Nested(VersionOut)),
})

PreviewChannelOut = _schema("PreviewChannelOut", {
    "channel_id": f.Integer(), "channel_name": f.String(), "kind": f.String(),
    "publication_id": f.Integer(allow_none=True),
    "payload": f.Dict(metadata={"description": "persis yang akan dikirim (Payload.preview)"}),
    "error": f.String(metadata={"description": "mengapa saluran ini tidak dapat dirender"}),
})
PreviewOut = _schema("PreviewOut", {
    "item_id": f.Integer(), "version": f.Integer(), "content_hash": f.String(),
    "channels": f.List(f.Nested(PreviewChannelOut)),
})

_CHANNEL_FIELDS: dict[str, Any] = {
    "id": f.Integer(), "opd_id": f.Integer(), "kind": f.String(), "name": f.String(),
    "status": f.String(), "status_detail": f.String(), "config": f.Dict(),
    "has_secrets": f.Boolean(),
    "secret_fields": f.List(f.String(), metadata={"description": "nama rahasia saja"}),
    "schedule": f.List(f.Dict()), "min_interval_seconds": f.Integer(),
    "health_ok": f.Boolean(allow_none=True), "health_detail": f.String(),
    **_timed("health_checked_at", "credential_expires_at", "created_at", "updated_at"),
    "health": f.Nested(_schema("ChannelHealthOut", {
        "ok": f.Boolean(allow_none=True, metadata={"description": "null: belum/tidak dapat "
                                                                  "diperiksa"}),
        "detail": f.String(), "expires_soon": f.Boolean(metadata={
            "description": "token berakhir dalam 7 hari (atau sudah)"}),
        **_timed("checked_at", "expires_at"),
        "held": f.Nested(_schema("ChannelHoldOut", {
            "reason": f.String(metadata={
                "description": "needs_reauth (perlu disambungkan ulang), paused (dijeda) atau "
                               "rate_limited (platform meminta menunggu)"}),
            "detail": f.String(),
            **_timed("until"),
        }), allow_none=True, metadata={
            "description": "publikasi saluran ini sedang ditahan (sejak saat itu terjadi, "
                           "tidak menunggu pemeriksaan harian); null: tidak"}),
    })),
    "warnings": f.List(f.String(), metadata={"description": "peringatan untuk operator"}),
}
ChannelOut = _schema("ChannelOut", _CHANNEL_FIELDS)
ChannelList = _schema("ChannelList", {"items": f.List(f.Nested(ChannelOut))})
ChannelResumedOut = _schema("ChannelResumedOut", {
    **_CHANNEL_FIELDS, "released_publications": f.Integer(),
})
ChannelTestOut = _schema("ChannelTestOut", {
    "ok": f.Boolean(), "detail": f.String(), "scopes": f.List(f.String()),
    "expires_at": f.String(allow_none=True), "channel": f.Nested(ChannelOut),
})

AuditEventOut = _schema("AuditEventOut", {
    "seq": f.Integer(), "at": f.String(), "at_local": f.String(), "actor_type": f.String(),
    "actor_id": f.String(), "actor_name": f.String(), "actor_role": f.String(),
    "action": f.String(), "opd_id": f.Integer(allow_none=True),
    "item_id": f.Integer(allow_none=True), "item_version_hash": f.String(),
    "category": f.String(), "publication_id": f.Integer(allow_none=True),
    "channel_id": f.Integer(allow_none=True), "channel_kind": f.String(),
    "result": f.String(), "error": f.String(), "detail": f.Dict(), "prev_hash": f.String(),
    "hash": f.String(),
})
AuditPage = _page("AuditPage", AuditEventOut)
VerifyOut = _schema("VerifyOut", {
    "ok": f.Boolean(), "checked": f.Integer(), "problems": f.List(f.String()),
    "bad_seqs": f.List(f.Integer()),
})

MeOut = _schema("MeOut", {
    "id": f.Integer(), "username": f.String(), "full_name": f.String(), "nip": f.String(),
    "jabatan": f.String(), "email": f.String(), "is_active": f.Boolean(),
    "roles": f.List(f.Dict()), "is_admin": f.Boolean(), "is_auditor": f.Boolean(),
    "opds": f.List(f.Dict()),
})
