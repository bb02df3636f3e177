"""Every picture format the installed Pillow decodes is sniffed as an image and hashed, AVIF
and JPEG 2000 included (issue 7, item 11). Files are written by Pillow's own encoders, or by
hand where Pillow has none (XPM, CUR)."""

from __future__ import annotations

import pytest
from PIL import features

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.hashing.pdq import hamming, pdq_hash
from vigil.media.extensions import claimed_kind
from vigil.media.image import SUPPORTED_FORMATS, decode_for_hashing
from vigil.media.sniff import sniff
from vigil.model import FileRecord, Kind, Locator, Status
from vigil.pipeline.imaging import analyse_image

PICTURE = gradient_image(6, (64, 48))


def xpm() -> bytes:
    """A 4x2 two-colour X pixmap, as X11 tools write them."""
    return b"""/* XPM */
static char *x[] = {
"4 2 2 1",
"a c #FF0000",
"b c #0000FF",
"abab",
"baba"
};
"""


def cur() -> bytes:
    """A Windows cursor: an icon directory of type 2 (hotspot fields replace planes/bpp)."""
    data = bytearray(image_bytes(PICTURE, "ICO", sizes=[(32, 32)], bitmap_format="bmp"))
    data[2] = 2
    return bytes(data)


ENCODED = {
    # name: (bytes, expected mime, Pillow format)
    "ico": (image_bytes(PICTURE, "ICO", sizes=[(32, 32)]), "image/vnd.microsoft.icon", "ICO"),
    "cur": (cur(), "image/x-win-bitmap", "CUR"),
    "icns": (image_bytes(PICTURE, "ICNS"), "image/x-icns", "ICNS"),
    "ppm": (image_bytes(PICTURE, "PPM"), "image/x-portable-pixmap", "PPM"),
    "pgm": (image_bytes(PICTURE.convert("L"), "PPM"), "image/x-portable-graymap", "PPM"),
    "pbm": (image_bytes(PICTURE.convert("1"), "PPM"), "image/x-portable-bitmap", "PPM"),
    "qoi": (image_bytes(PICTURE, "QOI"), "image/x-qoi", "QOI"),
    "sgi": (image_bytes(PICTURE, "SGI"), "image/x-sgi", "SGI"),
    "dds": (image_bytes(PICTURE, "DDS"), "image/vnd.ms-dds", "DDS"),
    "xbm": (image_bytes(PICTURE.convert("1"), "XBM"), "image/x-xbitmap", "XBM"),
    "xpm": (xpm(), "image/x-xpixmap", "XPM"),
    "blp": (image_bytes(PICTURE.convert("P"), "BLP"), "image/x-blp", "BLP"),
    "pcx": (image_bytes(PICTURE, "PCX"), "image/vnd.zbrush.pcx", "PCX"),
    "avif": (image_bytes(PICTURE, "AVIF", quality=90), "image/avif", "AVIF"),
    "jp2": (image_bytes(PICTURE, "JPEG2000"), "image/jp2", "JPEG2000"),
    "j2k": (image_bytes(PICTURE, "JPEG2000", no_jp2=True), "image/x-jp2-codestream", "JPEG2000"),
}


def test_the_wheel_decodes_avif_and_jpeg2000() -> None:
    assert features.check("avif") and features.check("jpg_2000")


@pytest.mark.parametrize("name", ENCODED)
def test_picture_formats_are_sniffed_decoded_and_hashed(name: str) -> None:
    data, mime, fmt = ENCODED[name]
    assert fmt in SUPPORTED_FORMATS
    assert sniff(data) == (mime, Kind.IMAGE)
    assert claimed_kind(b"picture." + name.encode()) is Kind.IMAGE
    record = FileRecord(Locator(name.encode()))
    analyse_image(record, data, Limits())
    assert record.status is Status.OK, record.error
    assert record.pdq is not None and record.width and record.height
    assert decode_for_hashing(data, limits=Limits()).format == fmt


@pytest.mark.parametrize("name", ["ppm", "qoi", "sgi", "pcx", "jp2", "j2k"])
def test_lossless_formats_hash_like_the_picture(name: str) -> None:
    data, _, _ = ENCODED[name]
    assert pdq_hash(decode_for_hashing(data, limits=Limits()).image).hash == (
        pdq_hash(PICTURE).hash
    )


def test_lossy_avif_hashes_near_the_picture() -> None:
    got = pdq_hash(decode_for_hashing(ENCODED["avif"][0], limits=Limits()).image).hash
    assert hamming(got, pdq_hash(PICTURE).hash) <= 16


@pytest.mark.parametrize("name", ["avif", "jp2", "qoi", "dds"])
def test_truncated_new_formats_are_damaged_images_not_unsupported(name: str) -> None:
    data, _, _ = ENCODED[name]
    record = FileRecord(Locator(b"x"))
    analyse_image(record, data[: len(data) // 2], Limits())
    assert record.status is Status.ERROR
    assert record.error.split(":")[0] in ("truncated image", "corrupt image")


@pytest.mark.parametrize(
    "text",
    [
        b"P1 meeting notes\nagenda follows\n",
        b"#define FOO 1\n#define BAR 2\n",
        b"\x0a\x00 plain newline",
        b"P6\n# comment only\n",
    ],
)
def test_text_that_starts_like_a_picture_is_not_one(text: bytes) -> None:
    assert sniff(text)[1] is not Kind.IMAGE


def test_image_is_never_mistaken_for_an_icon_by_four_zero_bytes() -> None:
    assert sniff(b"\x00\x00\x01\x00" + b"\x00" * 60)[1] is not Kind.IMAGE
