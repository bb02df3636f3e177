"""EXIF extraction from JPEGs written in the test, the IFD1 thumbnail, and hostile blocks."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from tests.helpers import gradient_image, image_bytes
from vigil.media.exif import (
    build_exif_with_thumbnail,
    embedded_thumbnail,
    extract_exif,
    thumbnail_summary,
)

EXIF_IFD, GPS_IFD = ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo


def camera_exif(gps: dict[int, Any] | None = None) -> Image.Exif:
    """Camera-like metadata; GPS defaults to central London (51.5074 N, 0.1278 W)."""
    exif = Image.Exif()
    exif[0x010F] = "Vigil Test Cameras"  # Make
    exif[0x0110] = "TC-1"  # Model
    exif[0x0131] = "vigil-tests 1.0"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    sub = exif.get_ifd(EXIF_IFD)
    sub[0x9003] = "2023:07:14 18:22:05"  # DateTimeOriginal
    sub[0x9011] = "+01:00"  # OffsetTimeOriginal
    sub[0xA431] = "SN000042"  # BodySerialNumber
    exif.get_ifd(GPS_IFD).update(
        {
            1: "N",
            2: (51.0, 30.0, 26.64),
            3: "W",
            4: (0.0, 7.0, 40.08),
            5: b"\x00",
            6: 35.5,
            **(gps or {}),
        }
    )
    return exif


def reopen(exif: Image.Exif | bytes | None, fmt: str = "JPEG") -> Image.Image:
    extra = {} if exif is None else {"exif": exif}
    return Image.open(io.BytesIO(image_bytes(gradient_image(2, (64, 48)), fmt, **extra)))


def small_jpeg(seed: int = 5) -> bytes:
    return image_bytes(gradient_image(seed, (32, 24)), "JPEG", quality=70)


def assert_json_safe(value: Any) -> None:
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for v in value.values():
            assert_json_safe(v)
    elif isinstance(value, list):
        for v in value:
            assert_json_safe(v)
    else:
        assert value is None or type(value) in (str, int, float, bool), repr(value)
        if isinstance(value, str):
            assert "\x00" not in value
    json.dumps(value, allow_nan=False)


def test_camera_fields() -> None:
    got = extract_exif(reopen(camera_exif()))
    gps = got.pop("gps")
    assert got == {
        "make": "Vigil Test Cameras",
        "model": "TC-1",
        "serial": "SN000042",
        "serial_source": "exif",
        "software": "vigil-tests 1.0",
        "datetime_original": "2023-07-14T18:22:05",
        "offset_time_original": "+01:00",
        "orientation": 6,
    }
    assert gps["lat"] == pytest.approx(51.5074, abs=1e-6)
    assert gps["lon"] == pytest.approx(-0.1278, abs=1e-6)
    assert gps["alt"] == pytest.approx(35.5)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_other_containers(fmt: str) -> None:
    got = extract_exif(reopen(camera_exif(), fmt))
    assert got["make"] == "Vigil Test Cameras"
    assert got["serial"] == "SN000042"
    assert got["gps"]["lat"] == pytest.approx(51.5074, abs=1e-6)


def test_tiff_reads_ifd0() -> None:
    # Pillow's TIFF writer drops the Exif/GPS sub-IFDs, so only IFD0 tags can be checked here.
    got = extract_exif(reopen(camera_exif(), "TIFF"))
    assert got == {
        "make": "Vigil Test Cameras",
        "model": "TC-1",
        "software": "vigil-tests 1.0",
        "orientation": 6,
    }
    assert embedded_thumbnail(reopen(camera_exif(), "TIFF")) is None


def test_result_is_json_safe() -> None:
    got = extract_exif(reopen(camera_exif()))
    assert_json_safe(got)
    assert json.loads(json.dumps(got)) == got


def test_no_exif_is_an_empty_dict() -> None:
    assert extract_exif(reopen(None)) == {}
    assert extract_exif(Image.new("RGB", (4, 4))) == {}


def test_southern_eastern_hemisphere_and_below_sea_level() -> None:
    exif = camera_exif(
        {1: "S", 2: (33.0, 51.0, 54.0), 3: "E", 4: (151.0, 12.0, 36.0), 5: b"\x01", 6: 12.0}
    )
    gps = extract_exif(reopen(exif))["gps"]
    assert gps == {"lat": pytest.approx(-33.865), "lon": pytest.approx(151.21), "alt": -12.0}


def test_zero_denominator_gps_is_dropped_but_the_rest_kept() -> None:
    exif = camera_exif({2: (IFDRational(51, 1), IFDRational(30, 0), IFDRational(1, 1))})
    got = extract_exif(reopen(exif))
    assert "gps" not in got
    assert got["make"] == "Vigil Test Cameras"


def test_out_of_range_gps_is_dropped() -> None:
    assert "gps" not in extract_exif(reopen(camera_exif({2: (191.0, 0.0, 0.0)})))


def test_messy_strings_are_cleaned() -> None:
    exif = Image.Exif()
    exif[0x010F] = "  Canon\x00\x00\x00  "
    exif[0x0110] = b"Ca\xc3\xa4mera \xe2\x80\x94 X\x00garbage"  # UTF-8 bytes, NUL-terminated
    exif[0x0131] = "\x00\x00"  # empty once cleaned: left out
    got = extract_exif(reopen(exif))
    assert got == {"make": "Canon", "model": "Caämera — X"}


def test_invalid_values_are_left_out() -> None:
    exif = Image.Exif()
    exif[0x0112] = 9  # not an orientation
    exif.get_ifd(EXIF_IFD)[0x9003] = "0000:00:00 00:00:00"  # camera without a clock
    exif.get_ifd(EXIF_IFD)[0x9011] = "local time"
    assert extract_exif(reopen(exif)) == {}


def test_serial_falls_back_to_dng_camera_serial_number() -> None:
    exif = Image.Exif()
    exif[0xC62F] = "DNG-7781"
    assert extract_exif(reopen(exif)) == {"serial": "DNG-7781", "serial_source": "exif"}


def test_huge_strings_are_capped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "A" * 5000
    assert len(extract_exif(reopen(exif))["make"]) == 256


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """`jpeg` with an extra APP1 segment right after SOI."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


# Pillow's JPEG plugin already parses EXIF (for DPI) inside Image.open and warns there.
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    "payload",
    [
        b"Exif\x00\x00" + bytes(range(256)) * 3,  # not a TIFF header at all
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff",  # 65535 entries, none present
        b"Exif\x00\x00MM\x00*\xff\xff\xff\xf0",  # IFD0 far past the end
        b"Exif\x00\x00",  # empty
    ],
)
def test_garbage_app1_does_not_raise(payload: bytes) -> None:
    img = Image.open(io.BytesIO(with_app1(small_jpeg(), payload)))
    got = extract_exif(img)
    assert isinstance(got, dict)
    assert_json_safe(got)
    assert embedded_thumbnail(img) is None


def test_corrupt_exif_ifd_pointer_keeps_ifd0() -> None:
    """A broken pointer to the Exif sub-IFD loses DateTimeOriginal, not the camera make."""
    block = bytearray(camera_exif().tobytes())
    tiff = 6  # "Exif\0\0"
    (count,) = struct.unpack_from(">H", block, tiff + 8)
    for i in range(count):
        entry = tiff + 10 + 12 * i
        if struct.unpack_from(">H", block, entry)[0] == EXIF_IFD:
            struct.pack_into(">I", block, entry + 8, 0x7FFFFFF0)
    got = extract_exif(reopen(bytes(block)))
    assert got["make"] == "Vigil Test Cameras"
    assert "datetime_original" not in got


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08", b""]), st.binary())
def test_never_raises_on_arbitrary_blocks(head: bytes, body: bytes) -> None:
    img = Image.new("RGB", (4, 4))
    img.info["exif"] = b"Exif\x00\x00" + head + body
    assert_json_safe(extract_exif(img))
    thumb = embedded_thumbnail(img)
    assert thumb is None or thumb.startswith(b"\xff\xd8")


@pytest.mark.parametrize("endian", [">", "<"])
def test_embedded_thumbnail_roundtrip(endian: str) -> None:
    thumb = small_jpeg()
    exif = camera_exif()
    exif.endian = endian
    block = build_exif_with_thumbnail(thumb, exif)
    assert block[6:8] == (b"MM" if endian == ">" else b"II")
    img = reopen(block)
    assert embedded_thumbnail(img) == thumb
    # Pillow sees the same IFD1, and the IFD0 facts survive the added directory.
    assert img.getexif().get_ifd(ExifTags.IFD.IFD1)[0x0202] == len(thumb)
    assert extract_exif(img)["serial"] == "SN000042"


def test_no_thumbnail() -> None:
    assert embedded_thumbnail(reopen(camera_exif())) is None
    assert embedded_thumbnail(reopen(None)) is None
    assert embedded_thumbnail(Image.new("RGB", (4, 4))) is None


def test_thumbnail_that_is_not_a_jpeg_is_ignored() -> None:
    img = reopen(build_exif_with_thumbnail(b"\x89PNG not a jpeg at all"))
    assert embedded_thumbnail(img) is None


def test_thumbnail_cut_short_inside_the_jpeg_is_ignored() -> None:
    thumb = small_jpeg()
    block = build_exif_with_thumbnail(thumb)[:-10]  # the declared length is no longer there
    assert embedded_thumbnail(reopen(block)) is None


def test_thumbnail_declared_one_byte_past_the_block_keeps_the_complete_jpeg() -> None:
    """Sony camcorders declare JPEGInterchangeFormatLength one byte longer than the segment."""
    thumb = small_jpeg()
    block = bytearray(build_exif_with_thumbnail(thumb))
    length_at = block.rindex(struct.pack(">HHI", 0x0202, 4, 1)) + 8
    struct.pack_into(">I", block, length_at, len(thumb) + 1)
    assert block.endswith(thumb)  # the thumbnail is the last thing in the segment
    assert embedded_thumbnail(reopen(bytes(block))) == thumb


def test_thumbnail_summary() -> None:
    thumb = small_jpeg()
    assert thumbnail_summary(thumb) == {
        "size": len(thumb),
        "md5": hashlib.md5(thumb).hexdigest(),
        "sha1": hashlib.sha1(thumb).hexdigest(),
        "sha256": hashlib.sha256(thumb).hexdigest(),
    }


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_embedded_thumbnail_in_other_containers(fmt: str) -> None:
    """PNG keeps "Exif\\0\\0" in info["exif"], WebP does not; both must work."""
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    thumb = small_jpeg()
    img = reopen(build_exif_with_thumbnail(thumb, camera_exif()), fmt)
    assert embedded_thumbnail(img) == thumb
    assert extract_exif(img)["make"] == "Vigil Test Cameras"
