"""decode_for_hashing: formats, modes, the reduced decode, bombs, truncation, hostile bytes."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pdqhash
import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from tests.helpers import SHARED, gradient_image, image_bytes
from vigil.config import Limits
from vigil.errors import ImageError
from vigil.hashing.pdq import hamming, pdq_hash
from vigil.media.image import DecodedImage, decode_for_hashing

LIMITS = Limits()
VECTORS = SHARED / "vectors" / "pdq"
REASONS = {
    "empty image",
    "unsupported image",
    "decompression bomb",
    "truncated image",
    "corrupt image",
    "image too large",
}


@pytest.fixture(scope="module")
def pdq_vectors() -> Path:
    if not (VECTORS / "pdq" / "data").is_dir():
        pytest.skip(f"PDQ reference vectors not found at {VECTORS} (see shared/vectors)")
    return VECTORS


def decode(data: bytes, **limits) -> DecodedImage:
    return decode_for_hashing(data, limits=Limits(**limits) if limits else LIMITS)


def reason_of(data: bytes, **limits) -> str:
    with pytest.raises(ImageError) as info:
        decode(data, **limits)
    assert info.value.reason in REASONS
    return info.value.reason


def pdq_of(img: Image.Image) -> str:
    bits, _ = pdqhash.compute(np.asarray(img.convert("RGB")))
    return f"{int(''.join(map(str, bits)), 2):064x}"


def big_picture(size=(2048, 1536)) -> Image.Image:
    return gradient_image(5).resize(size, Image.Resampling.BICUBIC)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height; its only IDAT holds one row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF"])
def test_each_supported_format_decodes_to_rgb(fmt):
    pillow_heif.register_heif_opener()  # only for saving; decode registers it itself
    src = gradient_image(2)
    got = decode(image_bytes(src, fmt))
    assert got.format == fmt
    assert (got.width, got.height) == src.size
    assert got.image.mode == "RGB" and got.image.size == src.size
    assert got.frames == 1
    # Lossy formats and the GIF palette move a few bits at most.
    assert hamming(pdq_hash(got.image).hash, pdq_of(src)) <= 24


def test_heic_round_trip():
    src = big_picture((640, 480))
    heif = pillow_heif.from_pillow(src)
    buf = io.BytesIO()
    heif.save(buf, quality=90)
    got = decode(buf.getvalue())
    assert got.format == "HEIF" and (got.width, got.height) == (640, 480)
    assert hamming(pdq_hash(got.image).hash, pdq_of(src)) <= 12


def test_unsupported_format_and_non_images():
    assert reason_of(image_bytes(gradient_image(1), "TGA")) == "unsupported image"
    assert reason_of(b"%PDF-1.7\n" + b"x" * 100) == "unsupported image"
    assert reason_of(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64) == "unsupported image"  # MP4
    assert reason_of(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64) == "corrupt image"
    assert reason_of(b"") == "empty image"


def test_animated_gif_hashes_first_frame():
    first = gradient_image(1)
    second = Image.fromarray(255 - np.asarray(gradient_image(9)))
    buf = io.BytesIO()
    first.save(buf, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    got = decode(buf.getvalue())
    assert got.frames == 2
    with Image.open(io.BytesIO(buf.getvalue())) as gif:
        frame0 = gif.convert("RGB")
        gif.seek(1)
        frame1 = gif.convert("RGB")
    assert pdq_hash(got.image).hash == pdq_of(frame0)
    assert hamming(pdq_hash(got.image).hash, pdq_of(frame1)) > 64


def test_multipage_tiff_and_mpo_use_first_frame():
    a, b = gradient_image(1), gradient_image(8)
    for fmt in ("TIFF", "MPO"):
        buf = io.BytesIO()
        a.save(buf, fmt, save_all=True, append_images=[b])
        got = decode(buf.getvalue())
        assert got.format == fmt and got.frames == 2
        assert hamming(pdq_hash(got.image).hash, pdq_of(a)) <= 12


def test_exif_orientation_is_recorded_not_applied():
    src = gradient_image(4)
    exif = Image.Exif()
    exif[0x0112] = 6
    plain = decode(image_bytes(src, "JPEG", quality=95))
    rotated = decode(image_bytes(src, "JPEG", quality=95, exif=exif.tobytes()))
    assert (rotated.width, rotated.height) == src.size
    assert pdq_hash(rotated.image).hash == pdq_hash(plain.image).hash
    assert rotated.original.getexif()[0x0112] == 6


# --- modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("1", "PNG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("P", "PNG"),
        ("RGBA", "PNG"),
        ("I;16", "PNG"),
        ("I", "TIFF"),
        ("F", "TIFF"),
        ("CMYK", "JPEG"),
        ("CMYK", "TIFF"),
        ("YCbCr", "TIFF"),
        ("LAB", "TIFF"),
        ("RGBA", "WEBP"),
    ],
)
def test_modes_are_hashed_through_plain_rgb_conversion(mode, fmt):
    """What python-threatexchange does where it converts: `.convert("RGB")` of the file."""
    data = image_bytes(gradient_image(6).convert(mode), fmt)
    got = decode(data)
    with Image.open(io.BytesIO(data)) as img:
        assert got.mode == img.mode
        assert pdq_hash(got.image).hash == pdq_of(img)


def test_premultiplied_grey_alpha_tiff():
    """TIFF grey with associated alpha opens as "La", which Pillow cannot convert to RGB
    directly; it goes through "LA" (un-premultiplied)."""
    data = image_bytes(Image.new("LA", (64, 48), (100, 200)), "TIFF")
    entry = struct.pack("<HHIH", 338, 3, 1, 2)  # ExtraSamples = 2 (unassociated alpha)
    assert data.count(entry) == 1
    data = data.replace(entry, struct.pack("<HHIH", 338, 3, 1, 1))  # 1 = associated
    got = decode(data)
    assert got.mode == "La"
    assert got.image.mode == "RGB" and got.image.getpixel((0, 0)) == (127, 127, 127)


def test_palette_is_not_hashed_as_indices():
    src = gradient_image(6)
    data = image_bytes(src.convert("P", palette=Image.Palette.ADAPTIVE), "PNG")
    got = pdq_hash(decode(data).image).hash
    assert hamming(got, pdq_of(src)) <= 12
    with Image.open(io.BytesIO(data)) as img:
        indices = pdq_of(Image.fromarray(np.asarray(img), "L"))
    assert hamming(got, indices) > 40


def test_mode_vectors_agree_with_rgb_original(pdq_vectors):
    """modes/*: the same photo saved in every Pillow mode (measured: <= 2 bits apart)."""
    folder = pdq_vectors / "pdq/data/misc-images/modes"
    original = pdq_hash(decode((folder / "original.jpg").read_bytes()).image).hash
    seen = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".md":
            continue
        got = decode(path.read_bytes())
        seen[path.name] = got.mode
        assert hamming(pdq_hash(got.image).hash, original) <= 4, path.name
    assert {"1", "L", "LA", "P", "CMYK", "RGBA"} <= set(seen.values())


# --- the reduced decode --------------------------------------------------------------------


def test_large_jpeg_is_dct_scaled_to_short_side_512():
    got = decode(image_bytes(big_picture((4000, 3000)), "JPEG", quality=90))
    assert (got.width, got.height) == (4000, 3000)
    assert got.image.size == (1000, 750)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_large_non_jpeg_is_box_reduced_by_power_of_two(fmt):
    got = decode(image_bytes(big_picture((2100, 4200)), fmt))
    assert (got.width, got.height) == (2100, 4200)
    assert got.image.size == (525, 1050)  # 2100 // 4 >= 512 > 2100 // 8


def test_reduction_can_be_disabled():
    src = big_picture()
    got = decode(image_bytes(src, "JPEG"), pdq_decode_size=0)
    assert got.image.size == src.size


def test_reduced_hash_stays_near_full_decode_hash():
    for size in [(2048, 1536), (4000, 3000), (1536, 2048)]:
        data = image_bytes(big_picture(size), "JPEG", quality=90)
        with Image.open(io.BytesIO(data)) as img:
            full = pdq_of(img)
        assert hamming(pdq_hash(decode(data).image).hash, full) <= 12


def test_images_below_twice_512_are_not_resized(pdq_vectors):
    for rel in [
        "pdq/data/bridge-mods/square-512x512.jpg",
        "pdq/data/misc-images/wee.jpg",
        "pdq/data/reg-test-input/dih/bridge-1-original.jpg",
    ]:
        got = decode((pdq_vectors / rel).read_bytes())
        assert got.image.size == (got.width, got.height)


def test_exif_rotn_vectors_reduced_to_quarter(pdq_vectors):
    got = decode((pdq_vectors / "pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg").read_bytes())
    assert (got.width, got.height, got.image.size) == (4032, 3024, (1008, 756))
    assert got.original.getexif()[0x0112] == 6


# --- bombs, truncation, hostile bytes ------------------------------------------------------


def test_png_declaring_huge_dimensions_is_a_bomb():
    assert reason_of(png_declaring(100_000, 100_000)) == "decompression bomb"


def test_configured_pixel_limit_applies():
    data = image_bytes(gradient_image(1), "PNG")  # 320x240 = 76,800 pixels
    assert reason_of(data, max_image_pixels=76_799) == "decompression bomb"
    assert decode(data, max_image_pixels=76_800).width == 320


def test_pillow_own_bomb_error_is_translated_and_global_state_kept():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    # Our limit allows it, Pillow's process-wide hard limit (2 x MAX_IMAGE_PIXELS) does not.
    assert reason_of(png_declaring(30_000, 30_000), max_image_pixels=10**10) == (
        "decompression bomb"
    )
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_bomb_warning_range_is_decided_by_our_limit(recwarn):
    """Between Pillow's warning threshold and our limit: decoded, and no warning escapes."""
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 50_000
    try:
        got = decode(image_bytes(gradient_image(1), "PNG"))  # 76,800 pixels
    finally:
        Image.MAX_IMAGE_PIXELS = old
    assert got.width == 320
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9, 0.99])
def test_truncated_jpeg(fraction):
    data = image_bytes(gradient_image(3), "JPEG", quality=90)
    assert reason_of(data[: int(len(data) * fraction)]) == "truncated image"


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF"])
def test_truncated_other_formats(fmt):
    pillow_heif.register_heif_opener()
    data = image_bytes(gradient_image(3), fmt)
    assert reason_of(data[: len(data) // 2]) == "truncated image"


def test_truncated_real_photo(pdq_vectors):
    data = (pdq_vectors / "pdq/data/reg-test-input/exif-rotn/exif-rotn-1.jpg").read_bytes()
    assert reason_of(data[: len(data) - 1000]) == "truncated image"


def test_corrupt_header_with_known_signature():
    assert reason_of(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) == "corrupt image"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes_only_raise_image_error(data):
    try:
        decode(data)
    except ImageError as exc:
        assert exc.reason in REASONS


_SAMPLES = {
    fmt: image_bytes(gradient_image(11, (96, 64)), fmt)
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(_SAMPLES)),
    st.floats(min_value=0.0, max_value=1.0),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
)
def test_damaged_images_only_raise_image_error(fmt, keep, flips):
    """Prefixes and byte flips of real encodings: a result or an ImageError, nothing else."""
    data = bytearray(_SAMPLES[fmt][: int(len(_SAMPLES[fmt]) * keep)])
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    try:
        got = decode(bytes(data))
    except ImageError as exc:
        assert exc.reason in REASONS
    else:
        assert got.image.mode == "RGB"
        pdq_hash(got.image)
