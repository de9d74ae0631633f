"""Write pixels out as JPEG, PNG or WebP with no metadata, within a byte cap."""

from __future__ import annotations

import io

from PIL import Image

from .decode import format_bytes
from .errors import ImageError

#: Lower JPEG/WebP qualities tried, in order, when a file is over its byte cap.
_FALLBACK_QUALITIES = (75, 65, 55, 45)


def _save(im: Image.Image, fmt: str, quality: int, subsampling: int) -> bytes:
    buf = io.BytesIO()
    # Explicitly empty metadata: some encoders copy ICC/EXIF from ``im.info`` when not told.
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling, exif=b"", icc_profile=None)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=quality, method=4, exif=b"", icc_profile=None, xmp=b"")
    elif fmt == "PNG":
        im.save(buf, "PNG", compress_level=6, icc_profile=None)
    else:
        raise ValueError(f"unsupported output format {fmt!r}")
    return buf.getvalue()


def encode(
    im: Image.Image,
    fmt: str,
    quality: int,
    max_bytes: int | None = None,
    *,
    subsampling: int = -1,
) -> bytes:
    """``im`` encoded as ``fmt``, stepping the quality down until it fits ``max_bytes``.

    ``subsampling`` is JPEG chroma subsampling (-1 libjpeg's 4:2:0, 0 for 4:4:4: crisp text)."""
    im.info = {}
    data = _save(im, fmt, quality, subsampling)
    if max_bytes is None or len(data) <= max_bytes:
        return data
    if fmt != "PNG":
        for q in (q for q in _FALLBACK_QUALITIES if q < quality):
            data = _save(im, fmt, q, subsampling)
            if len(data) <= max_bytes:
                return data
    raise ImageError(
        "variant_too_large",
        f"Gambar hasil olahan tetap terlalu besar ({format_bytes(len(data))}, batas"
        f" {format_bytes(max_bytes)}). Gunakan gambar dengan resolusi lebih kecil.",
        detail=f"{fmt} {im.size} {len(data)} > {max_bytes} bytes",
    )
