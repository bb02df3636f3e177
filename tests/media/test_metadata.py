"""Metadata read before, and independently of, the pixel decode: a photo whose pixels are cut
or damaged keeps its camera, time, place and embedded thumbnail (issue 7, item 7)."""

from __future__ import annotations

import hashlib
import struct

import pytest

from tests.helpers import gradient_image, image_bytes
from tests.media.test_exif import camera_exif, small_jpeg
from vigil.config import Limits
from vigil.media.exif import build_exif_with_thumbnail, read_metadata
from vigil.model import FileRecord, Locator, Status
from vigil.pipeline.imaging import analyse_image

CAMERA = {
    "make": "Vigil Test Cameras",
    "model": "TC-1",
    "serial": "SN000042",
    "datetime_original": "2023-07-14T18:22:05",
    "gps": {"lat": 51.5074, "lon": -0.1278, "alt": 35.5},
}


def camera_photo(fmt: str = "JPEG") -> tuple[bytes, bytes]:
    """(a camera-like photo with a real EXIF block and IFD1 thumbnail, that thumbnail)."""
    thumb = small_jpeg()
    block = build_exif_with_thumbnail(thumb, camera_exif())
    return image_bytes(gradient_image(3, (640, 480)), fmt, exif=block, quality=90), thumb


def analysed(data: bytes) -> FileRecord:
    record = FileRecord(Locator(b"photo.jpg"))
    analyse_image(record, data, Limits())
    return record


def assert_camera_facts(exif: dict) -> None:
    for key, value in CAMERA.items():
        assert exif[key] == (pytest.approx(value) if key == "gps" else value), key


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_pixels_keep_all_metadata(fmt: str, fraction: float) -> None:
    data, thumb = camera_photo(fmt)
    record = analysed(data[: int(len(data) * fraction)])
    assert record.status is Status.ERROR and record.error.startswith("truncated image")
    assert record.pdq is None
    assert_camera_facts(record.exif)
    assert record.exif["orientation"] == 6
    assert record.exif["thumbnail"]["sha256"] == hashlib.sha256(thumb).hexdigest()
    assert "pdq" in record.exif["thumbnail"]  # the thumbnail itself is intact: it is hashed


def test_corrupt_scan_keeps_metadata() -> None:
    data, _ = camera_photo()
    sos = data.index(b"\xff\xda")
    broken = data[: sos + 20] + b"\xff\xd0" * 400 + data[sos + 820 :]
    record = analysed(broken)
    assert_camera_facts(record.exif)
    assert "thumbnail" in record.exif


def test_file_cut_inside_the_exif_segment_keeps_what_precedes_the_cut() -> None:
    """Pillow cannot even open it (the APP1 segment is short); the IFDs before the cut are
    still read, the thumbnail after it is not claimed."""
    data, thumb = camera_photo()
    cut = data.index(thumb) + len(thumb) // 2
    assert data[2:4] == b"\xff\xe0"  # JFIF APP0 first: the walker must step over it
    got = read_metadata(data[:cut])
    assert_camera_facts(got.exif)
    assert got.thumbnail is None
    record = analysed(data[:cut])
    assert record.status is Status.ERROR
    assert_camera_facts(record.exif)


def test_png_exif_after_the_pixels_is_read_without_decoding_them() -> None:
    png = image_bytes(gradient_image(3, (64, 48)), "PNG")
    block = build_exif_with_thumbnail(small_jpeg(), camera_exif())[6:]  # eXIf has no prefix
    chunk = struct.pack(">I", len(block)) + b"eXIf" + block + b"\x00\x00\x00\x00"
    iend = png.rindex(b"IEND") - 4
    got = read_metadata(png[:iend] + chunk + png[iend:])
    assert_camera_facts(got.exif)


def test_no_metadata_and_not_an_image() -> None:
    assert read_metadata(image_bytes(gradient_image(1, (32, 24)), "JPEG")).exif == {}
    assert read_metadata(b"\xff\xd8\xff\xe1\xff\xffExif\x00\x00garbage") == read_metadata(b"")
    assert read_metadata(b"random bytes").thumbnail is None
