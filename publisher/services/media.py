"""Stored images: every picture (API upload, admin UI upload, feed entry) is checked and cleaned
by :mod:`publisher.images`, written once under ``<instance>/media/`` by its content, and
recorded as a Media row served publicly only by an unguessable token (``/m/<token>``).

:func:`save_image` does the file part (no database: the feed poller calls it between network
calls); :func:`add_media` records the row in the caller's transaction; :func:`store_image` is
both, for an upload attached to an item.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..access import Principal
from ..images import ImageError, normalize_upload
from ..media_variants import write_atomic
from ..models import Item, Media, Role
from . import text as text_policy
from .errors import Forbidden, Invalid

_EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
}
ALT_MAX = 1000
#: Folder (under ``<instance>/media/``) of the cleaned originals; variants and cards live
#: beside it.
FOLDER = "images"


@dataclass(frozen=True)
class StoredImage:
    """A cleaned image written to ``<instance>/media/<storage_key>``."""

    storage_key: str
    sha256: str
    mime_type: str
    width: int
    height: int
    size_bytes: int
    alt_text: str
    #: Where it came from (a feed image's URL); empty for uploads.
    source_url: str = ""
    #: What the operator should know about the cleaning (an animation kept as one frame).
    notes: tuple[str, ...] = ()


def clean_alt_text(alt_text: str | None) -> str:
    """The alt text, stripped; Invalid (naming ``alt_text``) when empty or too long."""
    alt = text_policy.line(alt_text, "alt_text")
    if not alt:
        raise Invalid("teks alternatif (alt) gambar wajib diisi: jelaskan isi gambar",
                      field="alt_text")
    if len(alt) > ALT_MAX:
        raise Invalid(f"teks alternatif paling banyak {ALT_MAX} karakter", field="alt_text")
    return alt


def save_image(settings: Any, data: bytes, *, alt_text: str,
               source_url: str = "") -> StoredImage:
    """Check and clean ``data`` (upright, sRGB, EXIF/GPS removed) and write it by content.

    Raises :class:`~publisher.images.ImageError` (413 too large, 415 not an image, 422 broken)
    naming the problem. The same bytes always land in the same file, so a retried or repeated
    picture is stored once; no database session is needed (or should be open).
    """
    max_bytes = int(settings.max_upload_bytes)
    clean = normalize_upload(data, alt_text=alt_text, max_bytes=max_bytes)
    digest = hashlib.sha256(clean.data).hexdigest()
    key = f"{FOLDER}/{digest[:2]}/{digest}{_EXTENSIONS.get(clean.mime_type, '.jpg')}"
    target = Path(settings.instance_path) / "media" / key
    if not target.exists():  # same bytes, same name
        write_atomic(target, clean.data)
    return StoredImage(key, digest, clean.mime_type, clean.width, clean.height,
                       len(clean.data), clean.alt_text, source_url, clean.notes)


def add_media(session: Session, image: StoredImage, *, opd_id: int, item: Item | None = None,
              principal: Principal | None = None, filename: str = "") -> Media:
    """Record a stored image as a Media row of an OPD (and, if given, the last image of
    ``item``), with a fresh unguessable public token. Does not commit."""
    media = Media(
        opd_id=opd_id, position=len(item.media) if item is not None else 0,
        sha256=image.sha256, storage_key=image.storage_key, mime_type=image.mime_type,
        width=image.width, height=image.height, size_bytes=image.size_bytes,
        alt_text=image.alt_text, original_filename=(filename or "")[:300],
        public_token=secrets.token_urlsafe(32),
        created_by_id=principal.user_id if principal is not None else None,
    )
    if item is not None:
        item.media.append(media)
    session.add(media)
    session.flush()
    return media


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
    """Clean an uploaded image and attach it to ``item`` (admin UI).

    Alt text is required (people using screen readers read the post too). Raises Invalid
    naming the problem (field ``image``) for an unusable file.
    """
    if not principal.has_role(item.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang menambah gambar di OPD ini")
    alt = clean_alt_text(alt_text)
    try:
        image = save_image(settings, data, alt_text=alt)
    except ImageError as exc:
        raise Invalid(f"{filename or 'gambar'}: {exc.message}", field="image") from None
    return add_media(session, image, opd_id=item.opd_id, item=item, principal=principal,
                     filename=filename)

