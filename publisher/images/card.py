"""A generated card for an item with no image: title, OPD name and logo, KIP category, date.

Drawn with Pillow in the vendored DejaVu Sans (``publisher/static/fonts``) so it looks the same on
every machine; 1080×1350 (portrait, Instagram's 4:5) or 1080×1080 (square), JPEG.
"""

from __future__ import annotations

import io
from datetime import date
from functools import lru_cache
from importlib.resources import files
from typing import Literal

from babel.dates import format_date
from PIL import Image, ImageDraw, ImageFont

from .colour import RGB, Colour, parse_colour
from .encode import encode
from .variants import ImageVariant, to_pixels

CardShape = Literal["portrait", "square"]

CARD_SIZES: dict[str, tuple[int, int]] = {"portrait": (1080, 1350), "square": (1080, 1080)}

#: Badge label and colour per KIP category (values of ``publisher.models.Category``).
CATEGORY_BADGES: dict[str, tuple[str, RGB]] = {
    "berkala": ("Berkala", (46, 125, 50)),
    "serta_merta": ("Serta Merta", (198, 40, 40)),
    "setiap_saat": ("Setiap Saat", (106, 27, 154)),
}

DEFAULT_CARD_COLOUR = "#1f5f8b"
_MARGIN = 80
_LOGO_BOX = 150
_MAX_TITLE_CHARS = 600
_FONT_DIR = files("publisher") / "static" / "fonts"
_FontFace = Literal["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]


@lru_cache(maxsize=4)
def _font_bytes(name: _FontFace) -> bytes:
    return (_FONT_DIR / name).read_bytes()


@lru_cache(maxsize=64)
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The vendored DejaVu Sans (Bold) at ``size`` px."""
    name: _FontFace = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(io.BytesIO(_font_bytes(name)), size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to lines at most ``width`` px; over-long words are split."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if face.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while face.getlength(word) > width:
            cut = len(word) - 1
            while cut > 1 and face.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def _fit_title(
    title: str, width: int, height: int
) -> tuple[ImageFont.FreeTypeFont, list[str], int]:
    """The largest bold size (88 → 44 px) at which ``title`` fits the box; at the smallest size
    the text is cut with an ellipsis. Returns font, lines and line height."""
    for size in range(88, 43, -4):
        face = font(size, bold=True)
        line_h = round(size * 1.25)
        lines = wrap(title, face, width)
        if len(lines) * line_h <= height:
            return face, lines, line_h
    max_lines = max(1, height // line_h)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and face.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return face, lines, line_h


def _text_colour(background: RGB) -> RGB:
    r, g, b = background
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (20, 20, 20) if luminance > 150 else (255, 255, 255)


def make_card(
    *,
    title: str,
    opd_name: str,
    category: str,
    published: date,
    alt_text: str | None = None,
    logo: bytes | None = None,
    colour: Colour | None = None,
    shape: CardShape = "portrait",
) -> ImageVariant:
    """Draw the card for an item without an image (usable on Instagram and everywhere else).

    ``category`` is a KIP category value (``berkala``, ``serta_merta``, ``setiap_saat``),
    ``published`` the date in the OPD's zone, ``colour`` the OPD colour (background), ``logo``
    the OPD logo's bytes (any accepted image format). ``alt_text`` defaults to a sentence that
    says what the card shows. Raises ValueError for a bad category, colour or shape, and
    :class:`~publisher.images.errors.ImageError` for an unusable logo.
    """
    if category not in CATEGORY_BADGES:
        raise ValueError(
            f"Kategori KIP {category!r} tidak punya kartu; pilih salah satu: "
            + ", ".join(CATEGORY_BADGES)
        )
    if shape not in CARD_SIZES:
        raise ValueError(f"Bentuk kartu {shape!r} tidak dikenal; pilih: {', '.join(CARD_SIZES)}")
    title = " ".join(title.split())
    if len(title) > _MAX_TITLE_CHARS:  # more than fits at the smallest size; keeps wrapping cheap
        title = title[:_MAX_TITLE_CHARS].rstrip() + "…"
    opd_name = " ".join(opd_name.split())
    if not title:
        raise ValueError("Judul kartu kosong.")
    label, badge_colour = CATEGORY_BADGES[category]
    background = parse_colour(colour or DEFAULT_CARD_COLOUR)
    ink = _text_colour(background)
    width, height = CARD_SIZES[shape]
    inner = width - 2 * _MARGIN
    date_text = format_date(published, format="d MMMM y", locale="id")

    card = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(card)

    # Header: logo, then the OPD name beside it (up to two lines).
    y = _MARGIN
    name_x = _MARGIN
    header_h = 0
    if logo is not None:
        pic = to_pixels(logo, max_long_side=_LOGO_BOX, max_bytes=5 * 1024 * 1024)
        mask = pic.getchannel("A") if pic.mode == "RGBA" else None
        card.paste(pic.convert("RGB"), (_MARGIN, y), mask)
        name_x = _MARGIN + pic.width + 30
        header_h = pic.height
    name_font = font(38, bold=True)
    name_lines = wrap(opd_name, name_font, width - _MARGIN - name_x)[:2]
    for i, line in enumerate(name_lines):
        draw.text((name_x, y + i * 48), line, font=name_font, fill=ink)
    y += max(header_h, len(name_lines) * 48) + 60

    # KIP category badge.
    badge_font = font(34, bold=True)
    pad_x, badge_h = 28, 64
    badge_w = round(badge_font.getlength(label)) + 2 * pad_x
    draw.rounded_rectangle(
        (_MARGIN, y, _MARGIN + badge_w, y + badge_h),
        radius=badge_h // 2,
        fill=badge_colour,
        outline=(255, 255, 255),
        width=3,
    )
    draw.text(
        (_MARGIN + badge_w / 2, y + badge_h / 2), label, font=badge_font, fill="white", anchor="mm"
    )
    y += badge_h + 60

    # Footer: rule, date, and what the card is.
    footer_top = height - _MARGIN - 110
    draw.line((_MARGIN, footer_top, width - _MARGIN, footer_top), fill=ink, width=3)
    draw.text((_MARGIN, footer_top + 28), date_text, font=font(36), fill=ink)
    draw.text((_MARGIN, footer_top + 80), "Informasi Publik · UU 14/2008", font=font(26), fill=ink)

    # Title fills the space between badge and footer.
    title_font, lines, line_h = _fit_title(title, inner, footer_top - 50 - y)
    for i, line in enumerate(lines):
        draw.text((_MARGIN, y + i * line_h), line, font=title_font, fill=ink)

    data = encode(card, "JPEG", 90, subsampling=0)
    if alt_text is None:
        alt_text = f"Kartu informasi {label}: {title}. {opd_name}, {date_text}."
    return ImageVariant(data, "image/jpeg", width, height, alt_text.strip())
