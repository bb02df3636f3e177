"""Review thumbnails: size, format, colour handling, orientation, and that they stay sharp."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.helpers import gradient_image, image_bytes
from vigil.errors import ImageError
from vigil.media.thumbnail import make_thumbnail


def decode(data: bytes) -> Image.Image:
    assert data.startswith(b"\xff\xd8\xff")
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    img.load()
    return img


@pytest.mark.parametrize(
    ("size", "limit", "expected"),
    [
        ((1000, 500), 256, (256, 128)),
        ((500, 1000), 256, (128, 256)),
        ((300, 300), 256, (256, 256)),
        ((4000, 3), 256, (256, 1)),  # a sliver keeps at least one pixel
        ((100, 50), 256, (100, 50)),  # never upscaled
        ((256, 100), 256, (256, 100)),
    ],
)
def test_dimensions(size: tuple[int, int], limit: int, expected: tuple[int, int]) -> None:
    img = gradient_image(1, size) if min(size) > 40 else Image.new("RGB", size, (9, 99, 199))
    thumb = decode(make_thumbnail(img, limit))
    assert thumb.size == expected
    assert thumb.mode == "RGB"


def test_input_is_not_modified() -> None:
    img = gradient_image(1, (640, 480))
    before = img.tobytes()
    make_thumbnail(img, 64)
    assert img.size == (640, 480) and img.tobytes() == before


def test_thumbnail_carries_no_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Vigil Test Cameras"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 40.0)})
    img = Image.open(io.BytesIO(image_bytes(gradient_image(1), "JPEG", exif=exif)))
    assert len(decode(make_thumbnail(img, 64)).getexif()) == 0


@pytest.mark.parametrize("mode", ["L", "1", "P", "CMYK", "RGBA", "LA", "I;16", "I", "F"])
def test_any_mode_becomes_rgb(mode: str) -> None:
    img = gradient_image(4, (120, 80)).convert("L" if mode in ("I;16", "I", "F") else mode)
    if mode == "I;16":  # full 16-bit range, as a 16-bit greyscale PNG decodes
        img = Image.fromarray(np.asarray(img, dtype=np.uint16) * 257)
    elif mode in ("I", "F"):
        img = img.convert(mode)
    thumb = decode(make_thumbnail(img, 64))
    assert thumb.mode == "RGB" and thumb.size == (64, 43)
    # 16-bit and 32-bit greyscale must not collapse to a white square (Pillow's plain convert).
    assert np.asarray(thumb).std() > 10


def test_transparent_areas_are_white() -> None:
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (0, 0, 50, 100))
    pixels = np.asarray(decode(make_thumbnail(img, 50)), dtype=int)
    assert pixels[25, 45] == pytest.approx([255, 255, 255], abs=6)
    assert pixels[25, 5] == pytest.approx([200, 0, 0], abs=12)


def test_palette_transparency_is_white() -> None:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (0, 0, 20, 40))
    img.info["transparency"] = 0
    pixels = np.asarray(decode(make_thumbnail(img, 40)), dtype=int)
    assert pixels[20, 35] == pytest.approx([255, 255, 255], abs=6)


def oriented(orientation: int) -> Image.Image:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = image_bytes(gradient_image(1, (200, 100)), "JPEG", exif=exif)
    return Image.open(io.BytesIO(data))


def test_exif_orientation_is_applied() -> None:
    assert decode(make_thumbnail(oriented(6), 100)).size == (50, 100)
    assert decode(make_thumbnail(oriented(1), 100)).size == (100, 50)
    assert decode(make_thumbnail(oriented(6), 100, apply_orientation=False)).size == (100, 50)


def test_orientation_is_not_applied_twice() -> None:
    upright = ImageOps.exif_transpose(oriented(6))
    assert upright.size == (100, 200)
    assert decode(make_thumbnail(upright, 100)).size == (50, 100)
    # The caller's decode path usually converts to RGB, which keeps `info`; still upright.
    assert decode(make_thumbnail(upright.convert("RGB"), 100)).size == (50, 100)


def test_rotation_matches_exif_transpose() -> None:
    for orientation in range(1, 9):
        img = oriented(orientation)
        expected = np.asarray(
            ImageOps.exif_transpose(img).resize((50, 100) if orientation >= 5 else (100, 50))
        )
        got = np.asarray(decode(make_thumbnail(img, 100)), dtype=int)
        assert got.shape == expected.shape
        assert np.abs(got - expected).mean() < 12, orientation


def test_not_blurred() -> None:
    """A hard edge stays hard: the review UI blurs at display time, not the stored file."""
    pixels = np.zeros((400, 400), dtype=np.uint8)
    pixels[:, 200:] = 255
    row = np.asarray(decode(make_thumbnail(Image.fromarray(pixels, "L"), 100)).convert("L"))[50]
    transition = np.count_nonzero((row > 30) & (row < 225))
    assert transition <= 3
    assert row[:45].max() < 20 and row[55:].min() > 235


def test_quality_is_moderate() -> None:
    data = make_thumbnail(gradient_image(1, (1024, 768)), 256)
    assert 2_000 < len(data) < 60_000


def test_bad_size() -> None:
    with pytest.raises(ValueError):
        make_thumbnail(gradient_image(1), 0)


def test_truncated_image_becomes_image_error() -> None:
    data = image_bytes(gradient_image(1, (320, 240)), "PNG")
    img = Image.open(io.BytesIO(data[: len(data) // 2]))
    with pytest.raises(ImageError) as info:
        make_thumbnail(img, 64)
    assert info.value.reason == "thumbnail failed"
    assert isinstance(info.value.__cause__, OSError)
