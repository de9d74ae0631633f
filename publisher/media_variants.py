"""Channel variants of stored images, and generated cards, as files with public URLs.

Meta downloads Instagram images itself, so each one needs a URL under
``PUBLISHER_PUBLIC_BASE_URL`` that answers with a JPEG within Instagram's rules:

* an item's image: ``/m/<token>/<variant>.jpg`` (e.g. ``instagram``), made from the stored copy
  by :func:`ensure_variant` on first request and kept under ``<instance>/media/variants/``;
* an item without an image: a generated card (:func:`card_media`), written when the post is
  rendered to ``<instance>/media/cards/<name>.jpg`` and served at ``/m/c/<name>.jpg``; the name
  is an HMAC of the card's bytes under the secret key, so it cannot be guessed.

``publisher.site.variants`` serves both.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from .channels.base import MediaView, PermanentError, RenderContext
from .images import VARIANT_SPECS, ImageError, make_card, make_variant
from .timeutil import to_local, utcnow

VARIANTS = tuple(VARIANT_SPECS)
CARD_NAME = re.compile(r"^[0-9a-f]{32}$")


def variant_url(public_url: str, variant: str) -> str:
    """``…/m/<token>`` → ``…/m/<token>/<variant>.jpg``."""
    if variant not in VARIANT_SPECS:
        raise ValueError(f"unknown image variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return f"{public_url.rstrip('/')}/{variant}.jpg"


def media_dir(settings: Any) -> Path:
    """Where stored uploads, variants and cards live."""
    return Path(settings.instance_path) / "media"


def private_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 0700 (``mkdir(parents=True)``
    would give the parents the umask's 0755), as the instance folder itself is."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir(mode=0o700, exist_ok=True)


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` (mode 0600, in folders of mode 0700) through a temporary
    file and a rename: a reader never sees half a file."""
    private_folder(target.parent)
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, target)


def local_variant(image: MediaView, variant: str) -> bytes | None:
    """The ``variant`` JPEG of a stored image, made from its file on this machine; None when
    the file is not here (then the platform or the caller fetches the variant URL). An image
    that cannot be used is a PermanentError naming it."""
    if not image.path or not os.path.isfile(image.path):
        return None
    try:
        return make_variant(Path(image.path).read_bytes(), variant, alt_text=image.alt_text).data
    except ImageError as exc:
        raise PermanentError(f"Gambar #{image.id} tidak dapat dipakai: {exc.message}") from None


def ensure_variant(settings: Any, token: str, storage_key: str, variant: str) -> Path:
    """The ``variant`` file of a stored upload, made once (raises ImageError if unusable)."""
    if variant not in VARIANT_SPECS:
        raise ValueError(f"unknown image variant {variant!r}")
    folder = media_dir(settings)
    target = folder / "variants" / variant / f"{token}.jpg"
    if not target.exists():
        source = (folder / storage_key).read_bytes()
        write_atomic(target, make_variant(source, variant, alt_text="").data)
    return target


def card_path(settings: Any, name: str) -> Path | None:
    """The file of a generated card, or None for a malformed name."""
    if not CARD_NAME.match(name):
        return None
    return media_dir(settings) / "cards" / f"{name}.jpg"


def card_media(ctx: RenderContext, settings: Any) -> MediaView:
    """A card for an item without an image, written to disk, as a MediaView with its URL."""
    moment = ctx.due_at or ctx.item.created_at or utcnow()
    day: date = to_local(moment, ctx.opd.timezone).date()  # the date as the OPD reads it
    card = make_card(
        title=ctx.item.title,
        opd_name=ctx.opd.name,
        category=ctx.item.category,
        published=day,
        colour=ctx.opd.color,
    )
    key = str(settings.secret_key).encode()
    name = hmac.new(key, card.data, hashlib.sha256).hexdigest()[:32]
    target = card_path(settings, name)
    assert target is not None
    if not target.exists():
        write_atomic(target, card.data)
    return MediaView(
        id=0,
        public_url=f"{ctx.public_base_url.rstrip('/')}/m/c/{name}.jpg",
        path=str(target),
        mime_type="image/jpeg",
        alt_text=card.alt_text,
        width=card.width,
        height=card.height,
    )
