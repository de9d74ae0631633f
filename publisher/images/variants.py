"""Per-channel variants of an image, and the normalised copy we store.

One pipeline serves both: open safely → (JPEG) DCT-scaled decode when the output is much
smaller → upright → crop/scale → sRGB, metadata dropped → flatten alpha for JPEG → pad → encode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from . import colour as colour_mod
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


def _render(im: Image.Image, limits: Limits, fit: Fit) -> tuple[Image.Image, Layout]:
    """Decode ``im`` (opened, not loaded) and lay it out: upright, cropped, scaled, sRGB.

    Returns the content (RGB or RGBA, no metadata) and the layout (canvas and offset still to
    apply). For JPEG sources much larger than needed, libjpeg decodes at 1/2, 1/4 or 1/8 scale.
    """
    orient = orientation(im)
    upright = oriented_size(im, orient)
    layout = plan(upright, limits, fit)
    if source_format(im) == "JPEG" and layout.scale <= 0.5:
        raw_w, raw_h = im.size
        # Ask for at least the output's resolution; draft picks the largest scale that keeps it.
        im.draft("RGB", (math.ceil(raw_w * layout.scale), math.ceil(raw_h * layout.scale)))
    load(im)
    apply_orientation(im, orient)
    fx, fy = im.width / upright[0], im.height / upright[1]
    x0, y0, x1, y1 = layout.crop
    work = colour_mod.working_mode(im)
    content = resize(work, layout.content, box=(x0 * fx, y0 * fy, x1 * fx, y1 * fy))
    content.info = dict(work.info)  # the threaded resize drops it; the ICC profile is needed
    return colour_mod.to_srgb(content), layout


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
    content, layout = _render(im, spec.limits, fit)
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
    content, _ = _render(im, Limits(max_long_side=max_long_side), "pad")
    fmt: OutputFormat = "PNG" if content.mode == "RGBA" or lossless_source else "JPEG"
    encoded = encode(content, fmt, 90)
    return ImageVariant(encoded, _MIME[fmt], content.width, content.height, alt_text.strip())


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
    content, _ = _render(im, Limits(max_long_side=max_long_side), "pad")
    return content
