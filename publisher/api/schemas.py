"""Request schemas shared by several areas (the services re-check every rule)."""

from __future__ import annotations

import marshmallow as ma

from ..models import Category, ItemStatus, PublicationStatus, ScheduleMode
from ..web.ids import IdField
from .common import OpdRef, PageArgs, TimeRangeArgs

_str = ma.fields.String


class ScheduleSchema(ma.Schema):
    """When an approved item goes out: now, at a time, or the channel's next free slot."""

    mode = _str(validate=ma.validate.OneOf([m.value for m in ScheduleMode]),
                metadata={"description": "now | at | next_slot"})
    at = _str(metadata={"description": "ISO 8601; without an offset: local time of the OPD "
                                       "(or of `timezone`). Must be in the future."})
    timezone = _str(metadata={"description": "Asia/Jakarta, Asia/Pontianak, Asia/Makassar "
                                             "or Asia/Jayapura"})


class ItemFieldsSchema(ma.Schema):
    """Content and DIP columns of an item."""

    title = _str(metadata={"description": "judul (≤ 300 karakter)"})
    body_html = _str(metadata={"description": "HTML isi; disanitasi (script/on* dibuang)"})
    summary = _str(metadata={"description": "ringkasan isi informasi"})
    official_unit = _str(metadata={"description": "pejabat/unit yang menguasai informasi"})
    responsible = _str(metadata={"description": "penanggung jawab"})
    made_at = ma.fields.Date(allow_none=True, metadata={"description": "waktu pembuatan"})
    made_place = _str(metadata={"description": "tempat pembuatan"})
    info_formats = ma.fields.List(_str(), metadata={"description": "cetak, rekam, online"})
    retention = _str(metadata={"description": "jangka waktu penyimpanan"})
    category = _str(validate=ma.validate.OneOf([c.value for c in Category]))
    exemption_article = _str(allow_none=True,
                             metadata={"description": "huruf Pasal 17 UU 14/2008 (a–j)"})
    exemption_basis = _str(metadata={"description": "dasar hukum pengecualian"})
    exemption_until = ma.fields.Date(allow_none=True,
                                     metadata={"description": "berakhirnya pengecualian"})
    link = _str(metadata={"description": "tautan http(s) ke dokumen"})


class ItemCreateSchema(ItemFieldsSchema):
    """A new item (draft)."""

    opd = OpdRef(required=True, metadata={"description": "id atau slug OPD"})
    title = _str(required=True)
    channel_ids = ma.fields.List(IdField(strict=True))
    schedule = ma.fields.Nested(ScheduleSchema)


class ItemPatchSchema(ItemFieldsSchema):
    """A change to an item (only the fields given)."""

    channel_ids = ma.fields.List(IdField(strict=True))


class CommentSchema(ma.Schema):
    """A reviewer's comment."""

    comment = _str(load_default="", validate=ma.validate.Length(max=5000))


class ItemListArgs(PageArgs, TimeRangeArgs):
    """Filters of the item list."""

    opd = _str(metadata={"description": "id atau slug OPD"})
    status = _str(validate=ma.validate.OneOf([s.value for s in ItemStatus]))
    category = _str(validate=ma.validate.OneOf([c.value for c in Category]))
    q = _str(validate=ma.validate.Length(max=200), metadata={"description": "cari judul/ringkasan"})
    date_field = _str(load_default="created_at",
                      validate=ma.validate.OneOf(["created_at", "publish_at", "approved_at",
                                                  "updated_at"]),
                      metadata={"description": "kolom waktu yang disaring from/to"})


class PublicationListArgs(PageArgs, TimeRangeArgs):
    """Filters of the publication list (``from``/``to`` on due time, or publish time)."""

    opd = _str(metadata={"description": "id atau slug OPD"})
    status = _str(validate=ma.validate.OneOf([s.value for s in PublicationStatus]))
    channel = IdField(metadata={"description": "id saluran"})
    item = IdField(metadata={"description": "id informasi"})
    date_field = _str(load_default="due_at",
                      validate=ma.validate.OneOf(["due_at", "published_at", "created_at"]))
