"""Colour handling: working modes, conversion to sRGB through the embedded ICC profile, alpha
flattening, and the background colour used to pad an image."""

from __future__ import annotations

import io
import logging
from functools import lru_cache

from PIL import Image, ImageCms, ImageColor

log = logging.getLogger(__name__)

#: A colour as ``"#1f5f8b"`` (any CSS colour Pillow knows) or an RGB tuple.
Colour = str | tuple[int, int, int]
RGB = tuple[int, int, int]

WHITE: RGB = (255, 255, 255)

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})


def parse_colour(value: Colour) -> RGB:
    """An RGB tuple for ``value``; a bad colour raises ValueError naming it."""
    if isinstance(value, tuple):
        if len(value) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in value):
            return value
        raise ValueError(f"Warna tidak valid: {value!r} (harus tiga angka 0–255).")
    try:
        rgb = ImageColor.getrgb(value)
    except ValueError:
        raise ValueError(f"Warna tidak valid: {value!r} (contoh yang benar: #1f5f8b).") from None
    return rgb[0], rgb[1], rgb[2]


def working_mode(im: Image.Image) -> Image.Image:
    """Bring any decoded mode to one of L, LA, RGB, RGBA or CMYK (the same object if already)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        return im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode in _SIXTEEN_BIT:
        # Pillow's I→L conversion clips at 255; scale the 16-bit range down instead.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode in ("RGBa", "La"):
        return im.convert("RGBA" if mode == "RGBa" else "LA")
    return im.convert("RGB")


@lru_cache(maxsize=16)
def _to_srgb_transform(icc: bytes, in_mode: str) -> ImageCms.ImageCmsTransform:
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(source, _SRGB, in_mode, "RGB")  # perceptual intent


def to_srgb(im: Image.Image) -> Image.Image:
    """The image as sRGB ``RGB`` (or ``RGBA`` if it has real transparency), converted through
    its embedded ICC profile when there is one; ``info`` (EXIF, XMP, ICC, comments) is dropped."""
    icc = im.info.get("icc_profile")
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
    if alpha is not None and alpha.getextrema()[0] == 255:
        alpha = None  # an alpha channel that is opaque everywhere is no transparency
    base: Image.Image = im.convert(im.mode[:-1]) if im.mode in ("RGBA", "LA") else im
    if icc:
        try:
            converted = ImageCms.applyTransform(base, _to_srgb_transform(bytes(icc), base.mode))
            if converted is not None:
                base = converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            # A broken or mismatched profile: show the pixels as they are rather than refuse.
            log.warning("embedded ICC profile unusable; colours taken as sRGB", exc_info=True)
    if base.mode != "RGB":
        base = base.convert("RGB")
    if alpha is not None:
        base.putalpha(alpha)
    base.info = {}
    return base


def flatten(im: Image.Image, colour: RGB = WHITE) -> Image.Image:
    """RGBA composited onto ``colour`` as RGB (JPEG has no alpha); other modes returned as is."""
    if im.mode != "RGBA":
        return im
    canvas = Image.new("RGB", im.size, colour)
    canvas.paste(im, mask=im.getchannel("A"))
    return canvas


def edge_colours(im: Image.Image, sides: str) -> tuple[RGB, RGB]:
    """The mean colours of two opposite edges — ``"tb"``: (top, bottom), ``"lr"``: (left,
    right) — so padding added on each side continues the picture's own background there."""
    width, height = im.size
    rgb = im.convert("RGB") if im.mode != "RGB" else im
    if sides == "tb":
        t = max(1, height // 50)
        boxes = ((0, 0, width, t), (0, height - t, width, height))
    else:
        t = max(1, width // 50)
        boxes = ((0, 0, t, height), (width - t, 0, width, height))
    first, second = (rgb.resize((1, 1), Image.Resampling.BOX, box=box).tobytes() for box in boxes)
    return (first[0], first[1], first[2]), (second[0], second[1], second[2])
