"""Where the picture goes: the crop, scaled size, canvas and offset for a variant spec (pure
arithmetic, no pixels)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Fit = Literal["pad", "crop"]


@dataclass(frozen=True)
class Limits:
    """The geometric rules of a variant (None: no rule)."""

    max_long_side: int | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None


@dataclass(frozen=True)
class Layout:
    """``crop`` (in upright source pixels) is scaled to ``content`` and placed at ``offset`` on a
    ``canvas``; ``pad_sides`` says which edges get padding ("tb", "lr" or None)."""

    crop: tuple[float, float, float, float]
    content: tuple[int, int]
    canvas: tuple[int, int]
    offset: tuple[int, int]
    pad_sides: str | None

    @property
    def scale(self) -> float:
        """Output pixels per source pixel."""
        return self.content[0] / (self.crop[2] - self.crop[0])


def plan(src: tuple[int, int], limits: Limits, fit: Fit = "pad") -> Layout:
    """Lay out an upright ``src``-sized picture under ``limits``.

    The aspect ratio is brought within ``min_ratio``…``max_ratio`` by padding (``fit="pad"``,
    the whole picture stays) or a centred crop (``fit="crop"``); then everything is scaled so the
    width is within ``min_width``…``max_width`` and the long side at most ``max_long_side``.
    """
    if fit not in ("pad", "crop"):
        raise ValueError(f"fit harus 'pad' atau 'crop', bukan {fit!r}")
    w, h = src
    ratio = w / h
    lo = limits.min_ratio or 0.0
    hi = limits.max_ratio or math.inf
    crop = (0.0, 0.0, float(w), float(h))
    canvas_w, canvas_h = float(w), float(h)  # canvas in source pixels
    pad_sides: str | None = None
    target = min(max(ratio, lo), hi)
    if ratio > hi:  # too wide
        if fit == "crop":
            keep = h * hi
            crop = ((w - keep) / 2, 0.0, (w + keep) / 2, float(h))
            canvas_w = keep
        else:
            canvas_h = w / hi
            pad_sides = "tb"
    elif ratio < lo:  # too tall
        if fit == "crop":
            keep = w / lo
            crop = (0.0, (h - keep) / 2, float(w), (h + keep) / 2)
            canvas_h = keep
        else:
            canvas_w = h * lo
            pad_sides = "lr"

    scale = 1.0
    if limits.max_long_side:
        scale = min(scale, limits.max_long_side / max(canvas_w, canvas_h))
    if limits.max_width and canvas_w * scale > limits.max_width:
        scale = limits.max_width / canvas_w
    if limits.min_width and canvas_w * scale < limits.min_width:
        scale = limits.min_width / canvas_w

    out_w = max(1, round(canvas_w * scale))
    if limits.max_width:
        out_w = min(out_w, limits.max_width)
    if limits.min_width:
        out_w = max(out_w, limits.min_width)
    out_h = max(1, round(out_w / target))
    # Integer rounding must not push the ratio outside the rule.
    if out_w / out_h > hi:
        out_h = math.ceil(out_w / hi)
    if out_w / out_h < lo:
        out_h = math.floor(out_w / lo)

    if pad_sides == "tb":
        content = (out_w, min(out_h, max(1, round(out_w / ratio))))
    elif pad_sides == "lr":
        content = (min(out_w, max(1, round(out_h * ratio))), out_h)
    else:
        content = (out_w, out_h)
    offset = ((out_w - content[0]) // 2, (out_h - content[1]) // 2)
    return Layout(crop, content, (out_w, out_h), offset, pad_sides)
