"""Per-channel variants of an image, and the normalised copy we store.

One pipeline serves both: open safely → (JPEG) DCT-scaled decode when the output is much
smaller → upright → crop/scale → sRGB, metadata dropped → flatten alpha for JPEG → pad → encode.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from . import colour as colour_mod
from .budget import reserve
from .colour import Colour
from .decode import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_BYTES,
    apply_orientation,
    load,
    open_image,
    orientation,
    oriented_size,
    source_format,
)
from .encode import encode
from .geometry import Fit, Layout, Limits, plan
from .resample import resize

OutputFormat = Literal["JPEG", "PNG", "WEBP"]

#: Pixels of the largest output canvas (a 2048 × 2048 Facebook photo): the reservation of a
#: small source still covers the picture made from it.
_OUTPUT_PIXELS = 2048 * 2048

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class VariantSpec:
    """What one channel accepts. ``limits`` are geometric rules, ``max_bytes`` the file cap."""

    name: str
    format: OutputFormat
    quality: int
    limits: Limits
    max_bytes: int | None = None


#: The variants we make, one per channel kind. Instagram's rules are Meta's (JPEG, 4:5…1.91:1,
#: width 320–1440, ≤ 8 MB); Facebook shows photos up to 2048 px; the website (our site and
#: WordPress) gets JPEG, which every WordPress host can process, at ≤ 1600 px.
VARIANT_SPECS: dict[str, VariantSpec] = {
    "instagram": VariantSpec(
        "instagram",
        "JPEG",
        85,
        Limits(min_width=320, max_width=1440, min_ratio=0.8, max_ratio=1.91),
        max_bytes=8_000_000,
    ),
    "facebook": VariantSpec("facebook", "JPEG", 85, Limits(max_long_side=2048), 4_000_000),
    "website": VariantSpec("website", "JPEG", 82, Limits(max_long_side=1600), 4_000_000),
}

#: Long side of the normalised copy we store (enough for every variant above).
DEFAULT_STORE_LONG_SIDE = 4096
#: A stored copy whose long side reaches this is enough for every variant (Facebook's 2048):
#: a large JPEG is decoded at the reduced scale that keeps it, with a fraction of the memory.
STORE_ENOUGH_LONG_SIDE = 2048
#: Said when an animated GIF or WebP is stored as its first frame.
ANIMATION_DROPPED = ("Gambar bergerak (animasi) disimpan sebagai gambar diam: hanya bingkai "
                     "pertamanya yang dipakai.")
#: Source formats kept lossless (PNG) when stored: screenshots, graphics, GIF frames.
_LOSSLESS_SOURCES = frozenset({"PNG", "GIF"})


@dataclass(frozen=True)
class ImageVariant:
    """An encoded image ready to upload or store, with the alt text that travels with it."""

    data: bytes
    mime_type: str
    width: int
    height: int
    alt_text: str
    #: What the operator should know about what was done (in Bahasa Indonesia).
    notes: tuple[str, ...] = ()

    @property
    def size_bytes(self) -> int:
        """Length of ``data``."""
        return len(self.data)


def _spec(spec: str | VariantSpec) -> VariantSpec:
    if isinstance(spec, VariantSpec):
        return spec
    try:
        return VARIANT_SPECS[spec]
    except KeyError:
        raise ValueError(
            f"unknown image variant {spec!r}; known: {', '.join(VARIANT_SPECS)}"
        ) from None


@contextmanager
def _rendered(
    im: Image.Image, limits: Limits, fit: Fit, *, enough_long_side: int | None = None,
) -> Iterator[tuple[Image.Image, Layout]]:
    """Decode ``im`` (opened, not loaded) and lay it out: upright, cropped, scaled, sRGB.

    Yields the content (RGB or RGBA, no metadata) and the layout (canvas and offset still to
    apply) while the memory for the work is reserved in the image budget (the caller encodes
    inside the block). For JPEG sources much larger than needed, libjpeg decodes at 1/2, 1/4
    or 1/8 scale; ``enough_long_side``: any resolution whose long side reaches it will do (a
    stored copy), so the decode may be smaller than the limits alone would allow.
    """
    jpeg = source_format(im) == "JPEG"
    if jpeg:  # a JPEG's orientation is in its APP1 segment: nothing is decoded to read it
        orient = orientation(im)
        upright = oriented_size(im, orient)
        layout = plan(upright, limits, fit)
        raw_w, raw_h = im.size
        scale = layout.scale
        if enough_long_side:
            scale = min(scale, enough_long_side / max(raw_w, raw_h))
        if scale <= 0.5:
            # Ask for at least this resolution; draft picks the largest reduction keeping it.
            im.draft("RGB", (math.ceil(raw_w * scale), math.ceil(raw_h * scale)))
            if im.size != (raw_w, raw_h):  # reduced: lay out what will actually be decoded
                upright = oriented_size(im, orient)
                layout = plan(upright, limits, fit)
        pixels = max(im.width * im.height, layout.canvas[0] * layout.canvas[1])
    else:  # reading a PNG's EXIF may decode the whole picture: only inside the reservation
        pixels = max(im.width * im.height, _OUTPUT_PIXELS)
    with reserve(pixels):
        if not jpeg:
            orient = orientation(im)
            upright = oriented_size(im, orient)
            layout = plan(upright, limits, fit)
        load(im)
        apply_orientation(im, orient)
        fx, fy = im.width / upright[0], im.height / upright[1]
        x0, y0, x1, y1 = layout.crop
        work = colour_mod.working_mode(im)
        content = resize(work, layout.content, box=(x0 * fx, y0 * fy, x1 * fx, y1 * fy))
        content.info = dict(work.info)  # the threaded resize drops it; the ICC profile is needed
        if content is not im and content is not work:  # the decoded picture is done with
            work.close()
            im.close()
        yield colour_mod.to_srgb(content), layout


def _pad(content: Image.Image, layout: Layout, colour: colour_mod.RGB | None) -> Image.Image:
    """``content`` on the layout's canvas: the added bands in ``colour``, or when None each band
    in the mean colour of the picture edge it touches."""
    sides = layout.pad_sides or "tb"
    first, second = (colour, colour) if colour else colour_mod.edge_colours(content, sides)
    alpha = (255,) if content.mode == "RGBA" else ()
    out = Image.new(content.mode, layout.canvas, (*first, *alpha))
    if second != first:
        x, y = layout.offset
        w, h = content.size
        # The band after the content (bottom or right) gets the other edge's colour.
        band = (
            (0, y + h, out.width, out.height)
            if sides == "tb"
            else (x + w, 0, out.width, out.height)
        )
        out.paste((*second, *alpha), band)
    out.paste(content, layout.offset)
    return out


def make_variant(
    data: bytes,
    spec: str | VariantSpec,
    *,
    alt_text: str,
    fit: Fit = "pad",
    background: Colour | None = None,
    max_input_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageVariant:
    """The ``spec`` variant (``"instagram"``, ``"facebook"``, ``"website"`` or a VariantSpec)
    of the image in ``data``.

    ``fit="pad"`` keeps the whole picture and fills the added space with ``background`` (an OPD
    colour) or, when None, the mean colour of the picture's edges; ``fit="crop"`` cuts a centred
    window instead. Alpha is flattened onto white for JPEG. Raises
    :class:`~publisher.images.errors.ImageError` for unusable input.
    """
    spec = _spec(spec)
    pad_colour = colour_mod.parse_colour(background) if background is not None else None
    im = open_image(data, max_bytes=max_input_bytes, max_pixels=max_pixels)
    with _rendered(im, spec.limits, fit) as (content, layout):
        if spec.format == "JPEG":
            content = colour_mod.flatten(content)
        out = content if layout.canvas == layout.content else _pad(content, layout, pad_colour)
        encoded = encode(out, spec.format, spec.quality, spec.max_bytes)
    return ImageVariant(encoded, _MIME[spec.format], out.width, out.height, alt_text.strip())


def normalize_upload(
    data: bytes,
    *,
    alt_text: str,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_long_side: int = DEFAULT_STORE_LONG_SIDE,
) -> ImageVariant:
    """The copy of an upload we store: upright, sRGB, every metadata block (EXIF incl. GPS, XMP,
    ICC, comments) gone, long side at most ``max_long_side``.

    Stored as PNG when the picture has transparency or came as PNG/GIF (screenshots, graphics;
    a GIF keeps its first frame), otherwise as JPEG quality 90.
    """
    im = open_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    lossless_source = source_format(im) in _LOSSLESS_SOURCES
    animated = bool(getattr(im, "is_animated", False))
    with _rendered(im, Limits(max_long_side=max_long_side), "pad",
                   enough_long_side=STORE_ENOUGH_LONG_SIDE) as (content, _):
        fmt: OutputFormat = "PNG" if content.mode == "RGBA" or lossless_source else "JPEG"
        encoded = encode(content, fmt, 90)
    notes = (ANIMATION_DROPPED,) if animated else ()
    return ImageVariant(encoded, _MIME[fmt], content.width, content.height, alt_text.strip(),
                        notes)


def to_pixels(
    data: bytes,
    *,
    max_long_side: int,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode ``data`` to an upright sRGB ``RGB``/``RGBA`` Pillow image without metadata, long
    side at most ``max_long_side`` (for drawing it into something else, e.g. a logo on a card)."""
    im = open_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    with _rendered(im, Limits(max_long_side=max_long_side), "pad") as (content, _):
        return content
