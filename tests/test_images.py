"""The image pipeline on real files made here with Pillow and pillow-heif."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from datetime import date

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw

from publisher.images import (
    VARIANT_SPECS,
    ImageError,
    ImageVariant,
    Limits,
    VariantSpec,
    inspect_upload,
    make_card,
    make_variant,
    normalize_upload,
    resample,
)
from publisher.images.card import font
from publisher.images.colour import to_srgb
from publisher.images.geometry import plan

ALT = "Foto kegiatan sosialisasi KIP di aula kantor"
METADATA_MARKERS = (b"Exif", b"ICC_PROFILE", b"http://ns.adobe.com/xap", b"iCCP", b"eXIf", b"iTXt")


def picture(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    """A picture with structure (gradient and shapes) so resizing and cropping show."""
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert(mode if mode != "RGBA" else "RGB")
    im = Image.merge("RGB", (im.convert("L"), Image.new("L", size, 120), im.convert("L")))
    draw = ImageDraw.Draw(im)
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(200, 60, 30))
    return im.convert(mode)


def px(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """The pixel at ``xy`` as a tuple of ints (RGB or RGBA)."""
    value = im.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def encoded(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def opened(variant: ImageVariant) -> Image.Image:
    im = Image.open(io.BytesIO(variant.data))
    im.load()
    return im


def assert_clean(variant: ImageVariant) -> None:
    im = opened(variant)
    assert len(im.getexif()) == 0
    assert "icc_profile" not in im.info and "xmp" not in im.info
    for marker in METADATA_MARKERS:
        assert marker not in variant.data, marker


def assert_instagram_ok(variant: ImageVariant) -> None:
    im = opened(variant)
    assert im.format == "JPEG" and variant.mime_type == "image/jpeg"
    assert (im.width, im.height) == (variant.width, variant.height)
    assert 320 <= im.width <= 1440
    assert 0.8 <= im.width / im.height <= 1.91
    assert variant.size_bytes <= 8_000_000
    assert variant.alt_text == ALT


# --- formats ----------------------------------------------------------------------------------


def test_jpeg_inspect_and_every_variant() -> None:
    data = encoded(picture((1200, 900)), "JPEG", quality=90)
    info = inspect_upload(data, max_bytes=10_000_000)
    assert (info.format, info.mime_type, info.width, info.height) == (
        "JPEG",
        "image/jpeg",
        1200,
        900,
    )
    assert info.size_bytes == len(data)
    for name in VARIANT_SPECS:
        variant = make_variant(data, name, alt_text=ALT)
        assert variant.mime_type == "image/jpeg" and variant.alt_text == ALT
        assert_clean(variant)
    assert_instagram_ok(make_variant(data, "instagram", alt_text=ALT))


def test_png_with_alpha_is_kept_for_storage_and_flattened_for_jpeg() -> None:
    im = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((200, 200, 400, 400), fill=(0, 0, 255, 255))
    data = encoded(im, "PNG")
    assert inspect_upload(data).format == "PNG"

    stored = normalize_upload(data, alt_text=ALT)
    assert stored.mime_type == "image/png"
    back = opened(stored)
    assert back.mode == "RGBA" and px(back, (10, 10))[3] == 0
    assert_clean(stored)

    ig = make_variant(data, "instagram", alt_text=ALT)
    out = opened(ig)
    assert out.mode == "RGB"
    corner = px(out, (5, 5))
    centre = px(out, (out.width // 2, out.height // 2))
    assert all(c > 240 for c in corner)  # transparency flattened onto white
    assert centre[2] > 200 and centre[0] < 40


def test_webp_is_detected_and_converted() -> None:
    data = encoded(picture((800, 600)), "WEBP", quality=80)
    info = inspect_upload(data)
    assert (info.format, info.mime_type) == ("WEBP", "image/webp")
    variant = make_variant(data, "website", alt_text=ALT)
    assert opened(variant).format == "JPEG"
    assert_clean(variant)


def test_alpha_that_is_opaque_everywhere_is_dropped() -> None:
    assert to_srgb(Image.new("RGBA", (20, 10), (1, 2, 3, 255))).mode == "RGB"
    assert to_srgb(Image.new("RGBA", (20, 10), (1, 2, 3, 254))).mode == "RGBA"


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (400, 400), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert inspect_upload(data).format == "GIF"
    for variant in (
        make_variant(data, "instagram", alt_text=ALT),
        normalize_upload(data, alt_text=ALT),
    ):
        r, _, b = px(opened(variant).convert("RGB"), (200, 200))
        assert r > 200 and b < 50
    assert normalize_upload(data, alt_text=ALT).mime_type == "image/png"


def test_heic_is_detected_and_converted() -> None:
    buf = io.BytesIO()
    pillow_heif.from_pillow(picture((640, 480))).save(buf, format="HEIF", quality=80)
    data = buf.getvalue()
    info = inspect_upload(data)
    assert (info.format, info.mime_type, info.width, info.height) == (
        "HEIF",
        "image/heic",
        640,
        480,
    )
    stored = normalize_upload(data, alt_text=ALT)
    assert stored.mime_type == "image/jpeg" and (stored.width, stored.height) == (640, 480)
    assert_instagram_ok(make_variant(data, "instagram", alt_text=ALT))


def test_multi_picture_jpeg_from_cameras_is_a_jpeg() -> None:
    first, second = Image.new("RGB", (300, 200), "red"), Image.new("RGB", (300, 200), "blue")
    data = encoded(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    info = inspect_upload(data)
    assert (info.format, info.mime_type) == ("JPEG", "image/jpeg")
    assert px(opened(make_variant(data, "instagram", alt_text=ALT)), (160, 100))[0] > 200


def test_cmyk_jpeg_becomes_rgb() -> None:
    im = Image.new("CMYK", (500, 400), (0, 255, 255, 0))  # pure red in CMYK
    data = encoded(im, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    for variant in (
        make_variant(data, "facebook", alt_text=ALT),
        normalize_upload(data, alt_text=ALT),
    ):
        out = opened(variant)
        assert out.mode == "RGB"
        r, g, b = px(out, (250, 200))
        assert r > 200 and g < 60 and b < 60


# --- metadata and orientation -----------------------------------------------------------------


def gps_photo(size: tuple[int, int] = (800, 600), orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "KameraDinas"
    exif[ExifTags.Base.Model] = "X100"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (6.0, 10.0, 30.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (106.0, 49.0, 0.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/"/></x:xmpmeta>'
    return encoded(picture(size), "JPEG", quality=90, exif=exif, icc_profile=icc, xmp=xmp)


def test_gps_exif_xmp_and_icc_are_gone() -> None:
    data = gps_photo()
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really carries GPS
    assert b"Exif" in data and b"ICC_PROFILE" in data
    outputs = [make_variant(data, name, alt_text=ALT) for name in VARIANT_SPECS]
    outputs.append(normalize_upload(data, alt_text=ALT))
    for variant in outputs:
        assert_clean(variant)
        assert not opened(variant).getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_comments_and_text_chunks_are_gone() -> None:
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Author", "secret-author-name")
    text.add_itxt("Comment", "secret-itxt-comment")
    sources = [
        encoded(picture((300, 200)), "JPEG", comment=b"secret-jpeg-comment"),
        encoded(picture((300, 200)), "PNG", pnginfo=text),
    ]
    for data in sources:
        assert b"secret-" in data
        for variant in (
            normalize_upload(data, alt_text=ALT),
            make_variant(data, "website", alt_text=ALT),
        ):
            assert b"secret-" not in variant.data
            assert_clean(variant)


def test_exif_orientation_6_is_applied() -> None:
    raw = picture((400, 200))
    ImageDraw.Draw(raw).rectangle((0, 0, 40, 40), fill=(0, 255, 0))  # marker at stored top-left
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # display = stored rotated 90° clockwise
    data = encoded(raw, "JPEG", quality=95, exif=exif)

    info = inspect_upload(data)
    assert (info.width, info.height) == (200, 400)
    stored = normalize_upload(data, alt_text=ALT)
    upright = opened(stored)
    assert upright.size == (200, 400)
    assert_clean(stored)
    r, g, b = px(upright, (190, 10))  # stored top-left is now top-right
    assert g > 200 and r < 60 and b < 60
    assert opened(make_variant(data, "website", alt_text=ALT)).size == (200, 400)


def test_broken_exif_block_does_not_reject_the_picture() -> None:
    data = encoded(picture((300, 200)), "JPEG", exif=b"Exif\x00\x00garbage-not-tiff")
    assert (normalize_upload(data, alt_text=ALT).width, inspect_upload(data).height) == (300, 200)


def linear_rgb_icc() -> bytes:
    """A minimal ICC v2 matrix/TRC profile: sRGB primaries with a linear (gamma 1.0) curve, so
    converting it to sRGB visibly brightens mid-tones (linear 128 → sRGB 188)."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I", offset + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + xyz(0.9642, 1.0, 0.8249)[8:]
    return header.ljust(128, b"\0") + struct.pack(">I", len(tags)) + table + body


def test_embedded_icc_profile_is_converted_to_srgb() -> None:
    grey = Image.new("RGB", (400, 300), (128, 128, 128))
    for fmt in ("JPEG", "PNG"):
        data = encoded(
            grey, fmt, icc_profile=linear_rgb_icc(), **({"quality": 95} if fmt == "JPEG" else {})
        )
        assert "icc_profile" in Image.open(io.BytesIO(data)).info
        for variant in (
            normalize_upload(data, alt_text=ALT),
            make_variant(data, "website", alt_text=ALT),
        ):
            assert_clean(variant)
            assert px(opened(variant), (200, 150)) == pytest.approx((188, 188, 188), abs=3)


def test_large_rotated_jpeg_uses_draft_and_ends_upright() -> None:
    raw = picture((4000, 3000))
    ImageDraw.Draw(raw).rectangle((0, 0, 400, 400), fill=(0, 255, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encoded(raw, "JPEG", quality=85, exif=exif)
    variant = make_variant(data, "instagram", alt_text=ALT)
    assert (variant.width, variant.height) == (1440, 1800)  # 3:4 upright, padded to 4:5
    out = opened(variant)
    r, g, b = px(out, (1440 - 45 - 20, 20))  # stored top-left → displayed top-right
    assert g > 200 and r < 60 and b < 60


@pytest.mark.parametrize("mode", ["P+tRNS", "LA", "I;16", "1"])
def test_other_png_modes_are_normalised(mode: str) -> None:
    if mode == "P+tRNS":
        im = Image.new("P", (200, 100), 0)
        im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
        ImageDraw.Draw(im).rectangle((50, 0, 149, 99), fill=1)
        data = encoded(im, "PNG", transparency=0)
    elif mode == "LA":
        data = encoded(Image.new("LA", (200, 100), (90, 128)), "PNG")
    elif mode == "I;16":
        data = encoded(Image.new("I;16", (200, 100), 32768), "PNG")
    else:
        data = encoded(Image.new("1", (200, 100), 1), "PNG")
    stored = opened(normalize_upload(data, alt_text=ALT))
    assert stored.size == (200, 100)
    if mode in ("P+tRNS", "LA"):
        assert stored.mode == "RGBA" and px(stored, (10, 50))[3] < 255
    elif mode == "I;16":
        assert px(stored.convert("RGB"), (10, 50)) == pytest.approx((128, 128, 128), abs=1)
    else:
        assert px(stored.convert("RGB"), (10, 50)) == (255, 255, 255)
    assert opened(make_variant(data, "instagram", alt_text=ALT)).mode == "RGB"


def test_unusable_icc_profile_falls_back_to_srgb() -> None:
    data = encoded(picture((300, 200)), "JPEG", icc_profile=b"not an icc profile at all")
    variant = normalize_upload(data, alt_text=ALT)
    assert_clean(variant)
    assert opened(variant).size == (300, 200)


# --- Instagram geometry -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [(4000, 1000), (1080, 2400)], ids=["panorama", "screenshot"])
@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_aspect_ratio_brought_within_instagram_range(size: tuple[int, int], fit: str) -> None:
    data = encoded(picture(size), "PNG")
    variant = make_variant(data, "instagram", alt_text=ALT, fit=fit)  # type: ignore[arg-type]
    assert_instagram_ok(variant)
    ratio = variant.width / variant.height
    if size == (4000, 1000):
        assert ratio == pytest.approx(1.91, abs=0.01) and variant.width == 1440
    else:
        # padding widens the canvas to 1920 (scaled to 1440); cropping keeps the 1080 width
        assert ratio == pytest.approx(0.8, abs=0.01)
        assert variant.width == (1440 if fit == "pad" else 1080)


def test_edge_padding_continues_each_edge() -> None:
    im = Image.new("RGB", (4000, 1000), (0, 120, 0))
    ImageDraw.Draw(im).rectangle((0, 500, 4000, 1000), fill=(240, 100, 240))
    out = opened(make_variant(encoded(im, "PNG"), "instagram", alt_text=ALT))
    assert px(out, (700, 3)) == pytest.approx((0, 120, 0), abs=4)
    assert px(out, (700, out.height - 3)) == pytest.approx((240, 100, 240), abs=4)
    tall = Image.new("RGB", (1000, 3000), (0, 0, 200))
    ImageDraw.Draw(tall).rectangle((500, 0, 1000, 3000), fill=(200, 200, 0))
    out = opened(make_variant(encoded(tall, "PNG"), "instagram", alt_text=ALT))
    assert px(out, (2, 900)) == pytest.approx((0, 0, 200), abs=4)
    assert px(out, (out.width - 3, 900)) == pytest.approx((200, 200, 0), abs=4)


def test_padding_uses_the_opd_colour_or_the_edges() -> None:
    data = encoded(Image.new("RGB", (4000, 1000), (10, 160, 20)), "PNG")
    edges = opened(make_variant(data, "instagram", alt_text=ALT))
    assert px(edges, (700, 5)) == pytest.approx((10, 160, 20), abs=4)
    opd = opened(make_variant(data, "instagram", alt_text=ALT, background="#1f5f8b"))
    assert px(opd, (700, 5)) == pytest.approx((0x1F, 0x5F, 0x8B), abs=4)
    assert px(opd, (700, opd.height // 2)) == pytest.approx((10, 160, 20), abs=4)


def test_crop_keeps_the_centre() -> None:
    im = Image.new("RGB", (1080, 2400), (0, 0, 255))
    ImageDraw.Draw(im).rectangle((0, 1100, 1080, 1300), fill=(255, 0, 0))
    out = opened(make_variant(encoded(im, "PNG"), "instagram", alt_text=ALT, fit="crop"))
    r, _, b = px(out, (out.width // 2, out.height // 2))
    assert r > 200 and b < 60
    assert px(out, (5, 5))[2] > 200  # no padding in crop mode: picture reaches the corner


@pytest.mark.parametrize(("width", "expected"), [(200, 320), (3000, 1440)])
def test_instagram_width_is_clamped(width: int, expected: int) -> None:
    data = encoded(picture((width, width * 2 // 3)), "JPEG", quality=90)
    variant = make_variant(data, "instagram", alt_text=ALT)
    assert variant.width == expected
    assert_instagram_ok(variant)


@pytest.mark.parametrize(
    "size", [(1, 10000), (10000, 1), (319, 400), (1441, 755), (1000, 800), (1910, 1000), (5, 3)]
)
@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_layout_always_obeys_instagram_rules(size: tuple[int, int], fit: str) -> None:
    layout = plan(size, VARIANT_SPECS["instagram"].limits, fit)  # type: ignore[arg-type]
    w, h = layout.canvas
    assert 320 <= w <= 1440 and 0.8 <= w / h <= 1.91
    cw, ch = layout.content
    assert 1 <= cw <= w and 1 <= ch <= h
    ox, oy = layout.offset
    assert ox + cw <= w and oy + ch <= h


def test_long_side_limits_for_facebook_and_website() -> None:
    data = encoded(picture((3000, 4000)), "JPEG", quality=85)
    assert max(opened(make_variant(data, "facebook", alt_text=ALT)).size) == 2048
    assert opened(make_variant(data, "website", alt_text=ALT)).size == (1200, 1600)
    small = encoded(picture((500, 300)), "JPEG")
    assert opened(make_variant(small, "facebook", alt_text=ALT)).size == (500, 300)


def test_split_resize_matches_a_single_resize(monkeypatch: pytest.MonkeyPatch) -> None:
    src = picture((2000, 1500))
    monkeypatch.setattr(resample, "_parallel", lambda: True)
    split = resample.resize(src, (1440, 1080))
    monkeypatch.setattr(resample, "_parallel", lambda: False)
    whole = resample.resize(src, (1440, 1080))
    assert split.size == whole.size == (1440, 1080)
    diff = ImageChops.difference(split, whole).convert("L")
    assert max(diff.tobytes()) <= 2  # at most rounding at the seam


# --- refusals ---------------------------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


@pytest.mark.parametrize(
    ("dims", "bomb_warning"),
    [
        ((100_000, 100_000), "default"),  # Pillow's DecompressionBombError
        ((9000, 9000), "ignore"),  # over our limit, under Pillow's hard one
        ((9000, 9000), "error"),  # Pillow's DecompressionBombWarning raised as an exception
    ],
)
def test_decompression_bomb_is_refused_quickly(dims: tuple[int, int], bomb_warning: str) -> None:
    data = png_header_only(*dims)
    start = time.perf_counter()
    for fn in (lambda: inspect_upload(data), lambda: make_variant(data, "instagram", alt_text=ALT)):
        with warnings.catch_warnings(), pytest.raises(ImageError) as err:
            warnings.simplefilter(bomb_warning, Image.DecompressionBombWarning)  # type: ignore[arg-type]
            fn()
        assert err.value.code == "too_many_pixels" and err.value.http_status == 422
        assert "terlalu besar" in err.value.message
    assert time.perf_counter() - start < 1.0


def test_pixel_limit_is_a_parameter() -> None:
    data = encoded(picture((1500, 1000)), "PNG")
    with pytest.raises(ImageError) as err:
        inspect_upload(data, max_pixels=1_000_000)
    assert err.value.code == "too_many_pixels"
    assert "1500×1000" in err.value.message
    assert inspect_upload(data, max_pixels=2_000_000).width == 1500


def test_truncated_jpeg_is_broken() -> None:
    data = encoded(picture((800, 600)), "JPEG", quality=90)
    cut = data[: len(data) // 2]
    for fn in (lambda: inspect_upload(cut), lambda: make_variant(cut, "instagram", alt_text=ALT)):
        with pytest.raises(ImageError) as err:
            fn()
        assert err.value.code == "broken" and err.value.http_status == 422
        assert "rusak atau terpotong" in err.value.message


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"Ini hanya teks biasa, bukan foto.\n" * 20, "teks"),  # e.g. uploaded as foto.jpg
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
        (b"\x00\x01\x02\x03binary junk\xff\xfe", "tidak dikenal"),
    ],
)
def test_wrong_types_are_refused_by_content(content: bytes, named: str) -> None:
    for fn in (lambda: inspect_upload(content), lambda: normalize_upload(content, alt_text=ALT)):
        with pytest.raises(ImageError) as err:
            fn()
        assert err.value.code == "unsupported_type" and err.value.http_status == 415
        assert named in err.value.message and "JPEG, PNG, WebP, GIF, atau HEIC" in err.value.message


def test_formats_pillow_reads_but_we_do_not_accept() -> None:
    for fmt, named in (("BMP", "BMP"), ("TIFF", "TIFF")):
        with pytest.raises(ImageError) as err:
            inspect_upload(encoded(picture((50, 50)), fmt))
        assert err.value.code == "unsupported_type" and named in err.value.message


def test_byte_cap_and_empty_upload() -> None:
    data = encoded(picture((800, 600)), "JPEG", quality=95)
    with pytest.raises(ImageError) as err:
        inspect_upload(data, max_bytes=len(data) - 1)
    assert err.value.code == "too_large" and err.value.http_status == 413
    assert "terlalu besar" in err.value.message and "MB" in err.value.message
    with pytest.raises(ImageError) as err:
        make_variant(data, "instagram", alt_text=ALT, max_input_bytes=1000)
    assert err.value.http_status == 413
    with pytest.raises(ImageError) as err:
        inspect_upload(b"")
    assert err.value.code == "empty"


def test_variant_byte_cap_steps_quality_down_then_refuses() -> None:
    data = encoded(picture((1200, 900)), "JPEG", quality=95)
    full = make_variant(data, "facebook", alt_text=ALT)
    limits = Limits(max_long_side=2048)
    fitted = make_variant(
        data, VariantSpec("t", "JPEG", 95, limits, max_bytes=full.size_bytes - 1), alt_text=ALT
    )
    assert fitted.size_bytes < full.size_bytes
    with pytest.raises(ImageError) as err:
        make_variant(data, VariantSpec("t", "JPEG", 95, limits, max_bytes=500), alt_text=ALT)
    assert err.value.code == "variant_too_large"


def test_programming_mistakes_are_value_errors() -> None:
    data = encoded(picture((100, 100)), "PNG")
    with pytest.raises(ValueError, match="unknown image variant"):
        make_variant(data, "tiktok", alt_text=ALT)
    with pytest.raises(ValueError, match="Warna tidak valid"):
        make_variant(data, "instagram", alt_text=ALT, background="bukan-warna")
    with pytest.raises(ValueError, match="fit"):
        make_variant(data, "instagram", alt_text=ALT, fit="stretch")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ImageError("no-such-code", "x")


# --- generated card ---------------------------------------------------------------------------


def test_card_portrait_and_square() -> None:
    logo = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((0, 0, 299, 299), fill=(250, 200, 0, 255))
    for shape, size in (("portrait", (1080, 1350)), ("square", (1080, 1080))):
        card = make_card(
            title="Laporan Realisasi Anggaran Semester I Tahun 2026 Dinas Komunikasi"
            " dan Informatika",
            opd_name="Dinas Komunikasi dan Informatika Kabupaten Contoh",
            category="serta_merta",
            published=date(2026, 11, 27),
            logo=encoded(logo, "PNG"),
            colour="#1f5f8b",
            shape=shape,  # type: ignore[arg-type]
        )
        im = opened(card)
        assert im.format == "JPEG" and im.size == size == (card.width, card.height)
        assert card.mime_type == "image/jpeg" and card.size_bytes > 10_000
        assert "Serta Merta" in card.alt_text and "27 November 2026" in card.alt_text
        assert px(im, (5, 5)) == pytest.approx((0x1F, 0x5F, 0x8B), abs=6)
        assert_clean(card)
        colours = im.getcolors(1_000_000)
        assert colours is not None and len(colours) > 20  # text was drawn


def test_card_survives_a_huge_title_and_light_colour() -> None:
    card = make_card(
        title="Pengumuman " * 200 + "Supercalifragilistikekspialidosius" * 5,
        opd_name="BPBD",
        category="berkala",
        published=date(2026, 1, 5),
        colour=(250, 250, 240),
        alt_text="Kartu pengumuman BPBD",
    )
    assert (card.width, card.height) == (1080, 1350) and card.alt_text == "Kartu pengumuman BPBD"
    im = opened(card)
    assert max(px(im, (540, 1350 - 80 - 110))) < 100  # the rule above the date: dark ink
    assert min(px(im, (540, 20))) > 230  # on the light card colour


def test_card_refuses_unknown_category_and_uses_the_vendored_font() -> None:
    with pytest.raises(ValueError, match="Kategori KIP"):
        make_card(title="X", opd_name="Y", category="dikecualikan", published=date(2026, 1, 1))
    assert font(40).getname() == ("DejaVu Sans", "Book")
    assert font(40, bold=True).getname() == ("DejaVu Sans", "Bold")


def test_local_variant_from_the_file_on_this_machine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from publisher.channels.base import MediaView, PermanentError
    from publisher.media_variants import local_variant

    def view(path: str) -> MediaView:
        return MediaView(id=7, public_url="http://site.test/m/x.jpg", path=path,
                         mime_type="image/jpeg", alt_text="Posyandu", width=640, height=480)

    good = tmp_path / "good.jpg"
    good.write_bytes(encoded(picture((2400, 1600)), "JPEG"))
    made = local_variant(view(str(good)), "website")
    assert made is not None
    with Image.open(io.BytesIO(made)) as im:
        assert im.format == "JPEG" and max(im.size) <= 1600
    assert local_variant(view(str(tmp_path / "elsewhere.jpg")), "website") is None
    assert local_variant(view(""), "facebook") is None
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(PermanentError, match="Gambar #7 tidak dapat dipakai"):
        local_variant(view(str(broken)), "facebook")


# --- bounded memory and clear words ------------------------------------------------------------


def test_a_huge_image_is_refused_naming_its_size_and_the_limit() -> None:
    """A 30000×30000 picture used to meet Pillow's own bomb guard first: "too many pixels",
    without a size or a limit."""
    with pytest.raises(ImageError) as err:
        inspect_upload(png_header_only(30_000, 30_000))
    assert "30000×30000" in err.value.message and "64 megapiksel" in err.value.message
    with pytest.raises(ImageError) as beyond:  # beyond even Pillow's guard: still a number
        inspect_upload(png_header_only(100_000, 100_000))
    assert "10.000 megapiksel" in beyond.value.message
    assert "batasnya 64 megapiksel" in beyond.value.message


def test_an_animation_kept_as_one_frame_says_so() -> None:
    frames = [Image.new("RGB", (200, 200), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert normalize_upload(data, alt_text=ALT).notes == (
        "Gambar bergerak (animasi) disimpan sebagai gambar diam: hanya bingkai pertamanya "
        "yang dipakai.",)
    assert normalize_upload(encoded(frames[0], "PNG"), alt_text=ALT).notes == ()


def test_a_large_jpeg_is_stored_from_a_reduced_decode() -> None:
    """A 48-megapixel phone photo is decoded at half size for the stored copy (long side
    4000 ≥ 2048, enough for every variant): a quarter of the memory."""
    from publisher.images.budget import budget

    data = encoded(picture((8000, 6000)), "JPEG")
    budget.peak = 0
    stored = normalize_upload(data, alt_text=ALT)
    assert (stored.width, stored.height) == (4000, 3000)
    assert budget.peak == 4000 * 3000 * 4 * 3  # reserved for 12 MP, not 48


def test_image_work_waits_for_the_memory_budget() -> None:
    """Concurrent jobs never reserve more than the budget together; one job larger than the
    whole budget runs alone."""
    import threading

    from publisher.images.budget import MemoryBudget

    budget = MemoryBudget(100)
    running: list[int] = []
    most: list[int] = []
    lock = threading.Lock()

    def job(size: int) -> None:
        with budget.reserve(size):
            with lock:
                running.append(size)
                most.append(sum(running))
            time.sleep(0.05)
            with lock:
                running.remove(size)

    threads = [threading.Thread(target=job, args=(size,)) for size in (60, 60, 30, 150, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(most) <= 150 and all(total <= 100 for total in most if total != 150)
    assert budget.reserved == 0 and budget.peak <= 150
