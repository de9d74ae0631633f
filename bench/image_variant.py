"""Bench: the Instagram variant of a 12 MP JPEG against a draft-mode decode of the same file.

The draft decode (``Image.draft('RGB', target)`` then ``load()``) is the physical floor: every
byte of the JPEG must be entropy-decoded whatever we do. Target: variant <= 1.5 x floor.

    .venv/bin/python bench/image_variant.py [--runs 21]

Prints the medians, the ratio and PASS/FAIL; exits 1 on FAIL.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from publisher.images import VARIANT_SPECS, make_variant
from publisher.images.geometry import plan

TARGET_RATIO = 1.5


def photo_like_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP JPEG with photo-like content (structure, gradients, fine grain) at quality 90, so
    it compresses like a camera picture (~5 MB) rather than a flat colour."""
    quarter = (width // 4, height // 4)
    structure = Image.effect_mandelbrot(quarter, (-2.2, -1.2, 1.0, 1.2), 120)
    structure = structure.filter(ImageFilter.GaussianBlur(2)).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 40)
    blotches = Image.effect_noise((width // 3, height // 3), 60).resize((width, height))
    red = ImageChops.add(
        ImageChops.multiply(structure, vertical.transpose(Image.Transpose.ROTATE_180)),
        blotches,
        scale=1.5,
    )
    green = ImageChops.blend(radial, grain, 0.3)
    blue = ImageChops.blend(vertical, blotches, 0.5)
    im = Image.merge("RGB", (red, green, blue))
    im = ImageChops.add(im, Image.merge("RGB", (grain, grain, grain)), scale=4, offset=-20)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def interleaved_runs(
    first: Callable[[], object], second: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Times in ms of two functions, run alternately so both see the same machine load."""
    first()  # warm-up (imports, caches, allocator)
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)

    data = photo_like_jpeg()
    with Image.open(io.BytesIO(data)) as probe:
        size = probe.size
    target = plan(size, VARIANT_SPECS["instagram"].limits).content

    def floor() -> None:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", target)
        im.load()

    def variant() -> None:
        make_variant(data, "instagram", alt_text="bench")

    out = make_variant(data, "instagram", alt_text="bench")
    load_before = os.getloadavg()[0]
    floor_times, variant_times = interleaved_runs(floor, variant, args.runs)
    floor_ms, variant_ms = statistics.median(floor_times), statistics.median(variant_times)
    ratio = variant_ms / floor_ms
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"source: {size[0]}x{size[1]} JPEG, {len(data) / 1e6:.1f} MB; runs: {args.runs}")
    print(f"instagram variant: {out.width}x{out.height}, {out.size_bytes / 1e3:.0f} kB")
    print(f"draft-decode floor (target {target[0]}x{target[1]}): {floor_ms:.1f} ms (median)")
    print(f"instagram variant: {variant_ms:.1f} ms (median)")
    fastest = min(variant_times) / min(floor_times)
    print(
        f"fastest runs: floor {min(floor_times):.1f} ms, variant {min(variant_times):.1f} ms"
        f" (ratio {fastest:.2f}x, for reference on a busy machine)"
    )
    print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"ratio: {ratio:.2f}x (target <= {TARGET_RATIO}x) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
