"""Read an upload safely: detect its type from the bytes, enforce byte and pixel limits, decode.

The type is decided by Pillow's content detection restricted to :data:`ACCEPTED_FORMATS`; the
file name and the client's mime type are never consulted. Every Pillow failure on the way comes
out as :class:`~publisher.images.errors.ImageError`.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pillow_heif
from PIL import ExifTags, Image, ImageOps

from .budget import reserve
from .errors import ImageError

log = logging.getLogger(__name__)

#: Pillow format ids we accept (HEIF comes from pillow-heif), and the mime type of each.
MIME_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "HEIF": "image/heic",
}
ACCEPTED_FORMATS: tuple[str, ...] = tuple(MIME_TYPES)

#: Default cap on an upload's size (a 48 MP phone photo is ~15 MB).
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
#: Default cap on decoded pixels: 64 MP (8000×8000) is above any phone camera and ~256 MB RGBA.
DEFAULT_MAX_PIXELS = 64_000_000

# Pillow's own bomb guard as a backstop, far above our limit: it refuses in Image.open, before
# open_image can name the picture's size and the limit (a 30000×30000 upload is refused by
# open_image with both; only one beyond 2 gigapixels meets Pillow's guard).
Image.MAX_IMAGE_PIXELS = 1_000_000_000
pillow_heif.register_heif_opener()

_ORIENTATION = ExifTags.Base.Orientation
#: EXIF orientations that swap width and height.
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageInfo:
    """What an upload is, from its content. ``width``/``height`` are as displayed (after the
    EXIF orientation is applied)."""

    format: str
    mime_type: str
    size_bytes: int
    width: int
    height: int


def format_bytes(n: int) -> str:
    """``12,3 MB`` — a byte count as an Indonesian reader writes it."""
    return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")


def check_size(data: bytes, max_bytes: int) -> None:
    """Refuse an empty upload or one over ``max_bytes``."""
    if not data:
        raise ImageError("empty", "Berkas kosong: tidak ada isi gambar yang diterima.")
    if len(data) > max_bytes:
        raise ImageError(
            "too_large",
            f"Berkas terlalu besar: {format_bytes(len(data))}, batasnya {format_bytes(max_bytes)}."
            " Perkecil gambar lalu unggah lagi.",
            detail=f"{len(data)} > {max_bytes} bytes",
        )


# Magic bytes of accepted formats: a file that starts like one but Pillow cannot read is broken
# (422), anything else is an unsupported type (415).
_ACCEPTED_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "dokumen PDF"),
    (b"PK\x03\x04", "arsip ZIP atau dokumen Office"),
    (b"II*\x00", "gambar TIFF"),
    (b"MM\x00*", "gambar TIFF"),
    (b"8BPS", "berkas Photoshop (PSD)"),
    (b"%!PS", "berkas PostScript/EPS"),
    (b"\x1f\x8b", "arsip gzip"),
    (b"\x00\x00\x01\x00", "ikon ICO"),
    (b"BM", "gambar BMP"),
)


def _looks_accepted(head: bytes) -> bool:
    if head.startswith(_ACCEPTED_MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def describe_content(head: bytes) -> str:
    """A short Indonesian name for what a non-image upload actually is (from its first bytes)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in stripped):
        return "gambar vektor SVG"
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "halaman HTML"
    if head[4:8] == b"ftyp":
        if head[8:12] in (b"avif", b"avis"):
            return "gambar AVIF"
        return "video atau berkas media"
    for magic, name in _OTHER_SIGNATURES:
        if head.startswith(magic):
            return name
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "berkas teks"
    return "berkas dengan format tidak dikenal"


def _unsupported(head: bytes) -> ImageError:
    kind = describe_content(head)
    return ImageError(
        "unsupported_type",
        f"Jenis berkas tidak didukung: isinya {kind}, bukan gambar."
        " Unggah gambar JPEG, PNG, WebP, GIF, atau HEIC.",
        detail=f"first bytes {head[:16]!r}",
    )


def _broken(exc: BaseException) -> ImageError:
    return ImageError(
        "broken",
        "Gambar rusak atau terpotong sehingga tidak bisa dibaca. Unggah ulang berkas aslinya.",
        detail=f"{type(exc).__name__}: {exc}",
    )


def _too_many_pixels(width: int, height: int, max_pixels: int) -> ImageError:
    return ImageError(
        "too_many_pixels",
        f"Ukuran gambar terlalu besar: {width}×{height} piksel, batasnya"
        f" {max_pixels / 1_000_000:g} megapiksel. Perkecil gambar lalu unggah lagi.",
        detail=f"{width * height} > {max_pixels} pixels (possible decompression bomb)",
    )


@contextmanager
def pillow_errors() -> Iterator[None]:
    """Turn whatever Pillow raises while parsing or decoding into an :class:`ImageError`."""
    try:
        yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = (f" ({int(found.group(1)) / 1_000_000:,.0f} megapiksel)".replace(",", ".")
                if found else "")
        raise ImageError(
            "too_many_pixels",
            f"Ukuran gambar terlalu besar{size}, batasnya "
            f"{DEFAULT_MAX_PIXELS / 1_000_000:g} megapiksel: ditolak demi keamanan. Perkecil "
            "gambar lalu unggah lagi.",
            detail=str(exc),
        ) from exc
    except Exception as exc:
        # Pillow's plugins raise many types on malformed input (OSError, SyntaxError,
        # ValueError, struct.error, EOFError, IndexError, ...): all mean "cannot be read".
        raise _broken(exc) from exc


def open_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Identify ``data`` and check its limits; the image is opened (header read) but not decoded,
    so a caller may still call ``draft()`` before :func:`load`."""
    check_size(data, max_bytes)
    head = data[:64]
    with pillow_errors():
        try:
            im = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except Image.UnidentifiedImageError as exc:
            raise (_broken(exc) if _looks_accepted(head) else _unsupported(head)) from exc
    if source_format(im) not in MIME_TYPES:  # defensive: formats= already restricts this
        raise _unsupported(head)
    width, height = im.size
    if width <= 0 or height <= 0:
        raise _broken(ValueError(f"size {im.size}"))
    if width * height > max_pixels:
        raise _too_many_pixels(width, height, max_pixels)
    return im


def source_format(im: Image.Image) -> str:
    """The accepted format id of an opened image. Pillow calls a JPEG with a multi-picture
    extension (many phone cameras write one) "MPO"; it is a JPEG."""
    return "JPEG" if im.format == "MPO" else str(im.format)


def load(im: Image.Image) -> None:
    """Decode the (first frame of the) image; broken or truncated data raises ImageError."""
    with pillow_errors():
        im.load()


def orientation(im: Image.Image) -> int:
    """The EXIF orientation (1–8), 1 when absent or unreadable."""
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not make a good picture unusable
        log.warning("unreadable EXIF block; orientation ignored", exc_info=True)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def oriented_size(im: Image.Image, orient: int) -> tuple[int, int]:
    """The image's size as displayed under EXIF orientation ``orient``."""
    width, height = im.size
    return (height, width) if orient in _SWAPPING_ORIENTATIONS else (width, height)


def apply_orientation(im: Image.Image, orient: int) -> None:
    """Rotate/flip a loaded image upright, in place (no copy when already upright)."""
    if orient == 1:
        return
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:
        log.warning("EXIF orientation could not be applied", exc_info=True)


def inspect_upload(
    data: bytes,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageInfo:
    """Check an upload and say what it is: format, mime type, size and displayed dimensions.

    The picture is decoded (JPEG at 1/8 scale, which still reads every byte) so a truncated
    or corrupt file is refused here, at upload time. Raises :class:`ImageError`.
    """
    im = open_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    fmt = source_format(im)
    orient = orientation(im)
    width, height = oriented_size(im, orient)
    if fmt == "JPEG":
        im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
    with reserve(im.width * im.height):
        load(im)
        im.close()
    return ImageInfo(fmt, MIME_TYPES[fmt], len(data), width, height)
