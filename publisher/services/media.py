"""Images attached to items: checked and cleaned by :mod:`publisher.images`, written under
``<instance>/media/`` and recorded as Media rows (served publicly at ``/m/<token>``)."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..access import Principal
from ..images import ImageError, normalize_upload
from ..models import Item, Media, Role
from .errors import Forbidden, Invalid

_EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
}
ALT_MAX = 1000


def store_image(
    session: Session,
    principal: Principal,
    settings: Any,
    item: Item,
    data: bytes,
    *,
    alt_text: str,
    filename: str = "",
) -> Media:
    """Clean an uploaded image (EXIF/GPS removed, upright, sRGB) and attach it to ``item``.

    Alt text is required (people using screen readers read the post too). Raises Invalid
    naming the problem for an unusable file.
    """
    if not principal.has_role(item.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang menambah gambar di OPD ini")
    alt = (alt_text or "").strip()
    if not alt:
        raise Invalid("teks alternatif (alt) gambar wajib diisi", field="alt_text")
    if len(alt) > ALT_MAX:
        raise Invalid(f"teks alternatif paling banyak {ALT_MAX} karakter", field="alt_text")
    try:
        clean = normalize_upload(data, alt_text=alt, max_bytes=settings.max_upload_bytes)
    except ImageError as exc:
        raise Invalid(f"{filename or 'gambar'}: {exc.message}", field="image") from None
    digest = hashlib.sha256(clean.data).hexdigest()
    key = f"uploads/{digest[:2]}/{digest}{_EXTENSIONS.get(clean.mime_type, '.jpg')}"
    _write(Path(settings.instance_path) / "media" / key, clean.data)
    media = Media(
        opd_id=item.opd_id, item_id=item.id, position=len(item.media), sha256=digest,
        storage_key=key, mime_type=clean.mime_type, width=clean.width, height=clean.height,
        size_bytes=len(clean.data), alt_text=alt, original_filename=(filename or "")[:300],
        public_token=secrets.token_urlsafe(32), created_by_id=principal.user_id,
    )
    item.media.append(media)
    session.add(media)
    session.flush()
    return media


def _write(target: Path, data: bytes) -> None:
    if target.exists():
        return  # same bytes, same name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f"{target.suffix}.{uuid.uuid4().hex}.part")
    partial.write_bytes(data)
    os.replace(partial, target)  # atomic: a reader never sees half a file
