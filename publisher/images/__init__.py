"""Image pipeline: check uploads, store a clean copy, make per-channel variants and cards.

Public API (everything a caller needs is importable from ``publisher.images``)::

    from publisher.images import (
        ImageError, inspect_upload, normalize_upload, make_variant, make_card, VARIANT_SPECS,
    )

    # 1. Upload (API layer): what is it? Type from the bytes, never the name or client mime.
    info = inspect_upload(data, max_bytes=25 * 1024 * 1024)   # -> ImageInfo
    #    info.format ("JPEG", "PNG", "WEBP", "GIF", "HEIF"), info.mime_type, info.size_bytes,
    #    info.width, info.height (as displayed, EXIF orientation applied)

    # 2. What we store: upright, sRGB, no EXIF/GPS/XMP/ICC, long side <= 4096.
    stored = normalize_upload(data, alt_text="Kepala dinas meninjau ...")  # -> ImageVariant

    # 3. A channel's variant (from the stored copy or the upload).
    ig = make_variant(stored.data, "instagram", alt_text=media.alt_text,
                      fit="pad", background=opd.color)   # or fit="crop"; background=None: edges
    fb = make_variant(stored.data, "facebook", alt_text=media.alt_text)
    web = make_variant(stored.data, "website", alt_text=media.alt_text)
    #    -> ImageVariant(data: bytes, mime_type, width, height, alt_text)

    # 4. No image: a generated card (1080x1350 "portrait" or 1080x1080 "square", JPEG).
    card = make_card(title=item.title, opd_name=opd.name, category=item.category,
                     published=local_date, logo=logo_bytes_or_None, colour=opd.color)

Errors: every unusable input raises :class:`ImageError` with ``code`` (``empty``,
``too_large``, ``unsupported_type``, ``too_many_pixels``, ``broken``, ``variant_too_large``),
``message`` in Bahasa Indonesia naming the problem, and ``http_status`` (413, 415 or 422) for
the API layer. Programming mistakes (unknown variant name, bad colour, bad ``fit``) raise
ValueError. The variant rules are the small table :data:`VARIANT_SPECS`.
"""

from .card import CARD_SIZES, CATEGORY_BADGES, make_card
from .colour import Colour
from .decode import (
    ACCEPTED_FORMATS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_BYTES,
    MIME_TYPES,
    ImageInfo,
    inspect_upload,
)
from .errors import HTTP_STATUS, ImageError
from .geometry import Fit, Limits
from .variants import (
    VARIANT_SPECS,
    ImageVariant,
    VariantSpec,
    make_variant,
    normalize_upload,
    to_pixels,
)

__all__ = [
    "ACCEPTED_FORMATS",
    "CARD_SIZES",
    "CATEGORY_BADGES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "HTTP_STATUS",
    "MIME_TYPES",
    "VARIANT_SPECS",
    "Colour",
    "Fit",
    "ImageError",
    "ImageInfo",
    "ImageVariant",
    "Limits",
    "VariantSpec",
    "inspect_upload",
    "make_card",
    "make_variant",
    "normalize_upload",
    "to_pixels",
]
