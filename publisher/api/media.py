"""``/api/v1/media``: image uploads (checked and normalised by :mod:`publisher.images`).

The stored copy is upright, sRGB and stripped of metadata (GPS included); it is written by
:func:`publisher.services.media.save_image` under ``<instance>/media/`` and served publicly
only by its unguessable token. Media rows belong to one OPD.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Request, url_for
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from sqlalchemy import select
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from werkzeug.utils import secure_filename

from ..access import Principal
from ..models import Media, Opd, Role
from ..services import items as item_service
from ..services import media as media_service
from ..services.auditing import record
from ..services.errors import Forbidden, Invalid, NotFound
from ..web.ids import IdField
from . import common
from . import outputs as out
from .common import OpdRef, PageArgs
from .serialize import media_out


class _MultipartParser(FlaskParser):
    """webargs parser with a ``multipart`` location: form fields and files as one input,
    so one schema validates (and documents) the whole upload."""

    __location_map__ = dict(multipart="load_multipart", **FlaskParser.__location_map__)

    def load_multipart(self, req: Request, schema: ma.Schema) -> Any:
        """Form fields and files of a multipart/form-data request."""
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class _UploadBlueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "multipart": "multipart/form-data",
    }


class ImageFile(Upload):
    """A file part of the multipart body (a plain text field of that name is refused)."""

    default_error_messages = {"invalid": "harus berkas gambar (bagian file multipart)"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


class UploadSchema(ma.Schema):
    """A multipart upload: the image and what it shows."""

    file = ImageFile(required=True, metadata={"description": "JPEG, PNG, WebP, GIF atau HEIC"})
    alt_text = ma.fields.String(required=True, metadata={
        "description": "teks alternatif: apa yang tampak di gambar (wajib, aksesibilitas)"})
    item_id = IdField(metadata={"description": "lampirkan ke informasi ini"})
    opd = OpdRef(metadata={"description": "id atau slug OPD (tanpa item_id)"})


blp = _UploadBlueprint("media", __name__, url_prefix="/api/v1/media",
                       description="Unggah gambar (dengan teks alternatif) untuk informasi publik")


class MediaListArgs(PageArgs):
    """Filters of the media list."""

    opd = ma.fields.String(metadata={"description": "id atau slug OPD"})
    item = IdField(metadata={"description": "id informasi"})


def _target_opd(sess: Session, who: Principal, form: dict[str, Any]) -> tuple[int, int | None]:
    """The OPD (and item) an upload belongs to; 422 naming the field when unusable."""
    item_id = form.get("item_id")
    if item_id is not None:
        try:
            item = item_service.get_item(sess, who, item_id)
        except NotFound as exc:
            raise Invalid(exc.message, field="item_id") from None
        if form.get("opd") is not None and common.opd_ref(sess, who, form["opd"]).id != item.opd_id:
            raise Invalid("informasi ini milik OPD lain", field="opd")
        opd_id = item.opd_id
    elif form.get("opd") is not None:
        opd_id = common.opd_ref(sess, who, form["opd"]).id
    else:
        editable = list(who.editable_opds() or [])
        if len(set(editable)) != 1:
            raise Invalid("sebutkan opd atau item_id tujuan gambar", field="opd")
        opd_id = editable[0]
    if not who.has_role(opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang mengunggah gambar di OPD ini")
    return opd_id, item_id


@blp.route("", methods=["POST"])
@common.requires(Role.EDITOR, Role.APPROVER, what="mengunggah gambar")
@blp.arguments(UploadSchema, location="multipart")
@blp.response(201, out.MediaOut)
def upload(form: dict[str, Any]) -> Any:
    """Upload an image with its alt text, optionally attached to an item."""
    rt, who = common.runtime(), common.principal()
    settings = rt.settings
    alt_text = media_service.clean_alt_text(form["alt_text"])
    with rt.db.read() as sess:
        opd_id, item_id = _target_opd(sess, who, form)
    storage = form["file"]
    # The pipeline's ImageError (413/415/422) becomes a problem naming the file.
    image = media_service.save_image(
        settings, storage.read(settings.max_upload_bytes + 1), alt_text=alt_text)
    sess = common.session()
    item = item_service.get_item(sess, who, item_id) if item_id is not None else None
    media = media_service.add_media(sess, image, opd_id=opd_id, item=item, principal=who,
                                    filename=secure_filename(storage.filename or ""))
    record(sess, who, "media.uploaded", item=item, opd=sess.get(Opd, opd_id),
           detail={"media_id": media.id, "sha256": media.sha256,
                   "mime_type": media.mime_type, "size_bytes": media.size_bytes})
    if item is not None:
        # The images are part of the item's content: a new version (and re-approval of
        # a submitted draft) follows, as for any other change.
        item_service.update_item(sess, who, settings, item.id, {})
    sess.commit()
    body = media_out(media, settings.public_base_url, _zone(sess, opd_id), image.notes)
    return body, 201, {"Location": url_for("media.get_media", media_id=media.id)}


def _zone(sess: Session, opd_id: int) -> str:
    return sess.scalar(select(Opd.timezone).where(Opd.id == opd_id)) or "Asia/Jakarta"


@blp.route("", methods=["GET"])
@blp.arguments(MediaListArgs, location="query")
@blp.response(200, out.MediaPage)
def list_media(args: dict[str, Any]) -> dict[str, Any]:
    """Images of the OPDs the user may see (filters: opd, item)."""
    sess, who = common.session(), common.principal()
    query = select(Media).where(who.scope(Media.opd_id))
    opd_id = common.opd_filter(sess, who, args)
    if opd_id is not None:
        query = query.where(Media.opd_id == opd_id)
    if args.get("item") is not None:
        query = query.where(Media.item_id == args["item"])
    rows, page = common.paged(sess, query.order_by(Media.id.desc()), args)
    zones = dict(sess.execute(select(Opd.id, Opd.timezone)).all())
    base = common.runtime().settings.public_base_url
    return {"items": [media_out(m, base, zones[m.opd_id]) for m in rows], **page}


@blp.route("/<id:media_id>", methods=["GET"])
@blp.response(200, out.MediaOut)
def get_media(media_id: int) -> dict[str, Any]:
    """One image's metadata and public URL."""
    sess, who = common.session(), common.principal()
    media = sess.get(Media, media_id)
    if media is None or not who.can_read(media.opd_id):
        raise NotFound(f"gambar #{media_id} tidak ditemukan", field="media_id")
    return media_out(media, common.runtime().settings.public_base_url, _zone(sess, media.opd_id))

