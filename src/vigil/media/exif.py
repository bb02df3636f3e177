"""EXIF facts an investigator triages on (camera, serial, time, place, orientation) as a
JSON-safe dict, and the embedded IFD1 thumbnail, which can show a picture later edited away.

`read_metadata` reads both from the container headers, before and independently of the pixel
decode: a photo whose pixels are truncated or corrupt keeps its camera, time, place and
thumbnail. A serial missing from the standard tags is looked for in the maker note and the XMP
packet (`vigil.media.serials`), and `serial_source` says where it was found.
"""

from __future__ import annotations

import contextlib
import math
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from PIL import ExifTags, Image

from vigil.hashing.crypto import digest_bytes
from vigil.media.image import open_image
from vigil.media.serials import MAKER_NOTE, makernote_serial, xmp_serial

# Tag numbers (EXIF 2.32 / TIFF 6 / DNG); spelled out so the reader need not look them up.
MAKE = 0x010F
MODEL = 0x0110
ORIENTATION = 0x0112
SOFTWARE = 0x0131
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
BODY_SERIAL_NUMBER = 0xA431
CAMERA_SERIAL_NUMBER = 0xC62F  # DNG, in IFD0
EXIF_IFD = 0x8769
XMP = 0x02BC  # XMLPacket, where TIFF and DNG keep their XMP
COMPRESSION = 0x0103
JPEG_IF_OFFSET = 0x0201  # JPEGInterchangeFormat
JPEG_IF_LENGTH = 0x0202  # JPEGInterchangeFormatLength
GPS_LATITUDE_REF, GPS_LATITUDE = 1, 2
GPS_LONGITUDE_REF, GPS_LONGITUDE = 3, 4
GPS_ALTITUDE_REF, GPS_ALTITUDE = 5, 6

MAX_TEXT = 256  # hostile files can carry megabytes in a "Make" tag; records stay small
_EXIF_PREFIX = re.compile(rb"^(Exif\x00\x00){1,2}")  # the same stripping Pillow does
_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
_DATETIME = re.compile(r"^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_UTC_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Metadata:
    """What `read_metadata` found: the `extract_exif` fields and the raw IFD1 thumbnail."""

    exif: dict[str, Any]
    thumbnail: bytes | None


def read_metadata(data: bytes) -> Metadata:
    """EXIF fields and embedded thumbnail of a whole image file, without decoding pixels.

    The headers are parsed by Pillow's opener (no pixel is loaded); when even they are cut
    or damaged, a JPEG's APP1 EXIF segment is found by walking its markers and whatever part
    of it is present is read. PNG `eXIf` chunks are found by walking the chunks, because
    Pillow only looks past the pixel data by decoding it. Never raises.
    """
    img = _guard(lambda: open_image(data), None)
    if img is None:
        raw, xmp = _jpeg_app1(data, b"Exif\x00\x00"), _jpeg_app1(data, _XMP_SIGNATURE)
        xmp = xmp and xmp[len(_XMP_SIGNATURE) :]
    elif img.format == "PNG" and "exif" not in img.info:
        raw, xmp = _png_exif(data), img.info.get("xmp")
    else:
        tiff = data if img.format == "TIFF" else None  # a TIFF's own header roots its EXIF
        return Metadata(extract_exif(img, tiff), embedded_thumbnail(img))
    exif = _guard(lambda: _parse(raw or b""), None) or Image.Exif()
    tiff = None if raw is None else _EXIF_PREFIX.sub(b"", raw)
    thumbnail = None if raw is None else _thumbnail(raw, exif)
    return Metadata(_fields(exif, tiff, xmp), thumbnail)


def _parse(raw: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(raw)
    return exif


def extract_exif(img: Image.Image, tiff: bytes | None = None) -> dict[str, Any]:
    """The EXIF fields Vigil records, present only when found and well-formed.

    Keys: make, model, serial with serial_source ("exif", "makernote:<maker>" or "xmp"),
    software, datetime_original ("YYYY-MM-DDTHH:MM:SS"), offset_time_original, gps ({"lat",
    "lon"[, "alt"]} in decimal degrees, S/W negative), orientation (1-8). `tiff` is the TIFF
    block the maker-note offsets count from when it is not `img.info["exif"]` (a TIFF file's
    own bytes). Never raises: each directory is read on its own, so a corrupt GPS IFD still
    leaves the camera make, and a corrupt block yields an empty dict.
    """
    exif = _load(img)
    if exif is None:
        return {}
    raw = img.info.get("exif")
    if tiff is None and isinstance(raw, bytes):
        tiff = _EXIF_PREFIX.sub(b"", raw)
    return _fields(exif, tiff, img.info.get("xmp"))


def _fields(exif: Image.Exif, tiff: bytes | None, xmp: Any) -> dict[str, Any]:
    ifd0: Mapping[int, Any] = _guard(lambda: dict(exif), {})
    sub: Mapping[int, Any] = _guard(lambda: exif.get_ifd(ExifTags.IFD.Exif), {})
    gps_ifd: Mapping[int, Any] = _guard(lambda: exif.get_ifd(ExifTags.IFD.GPSInfo), {})
    serial = _serial(ifd0, sub, tiff, xmp if xmp is not None else ifd0.get(XMP))

    out: dict[str, Any] = {}
    for key, value in (
        ("make", _text(ifd0.get(MAKE))),
        ("model", _text(ifd0.get(MODEL))),
        ("serial", serial and serial[0]),
        ("serial_source", serial and serial[1]),
        ("software", _text(ifd0.get(SOFTWARE))),
        ("datetime_original", _datetime(sub.get(DATETIME_ORIGINAL))),
        ("offset_time_original", _utc_offset(sub.get(OFFSET_TIME_ORIGINAL))),
        ("gps", _guard(lambda: _gps(gps_ifd), None)),
        ("orientation", _orientation(ifd0.get(ORIENTATION))),
    ):
        if value is not None:
            out[key] = value
    return out


def embedded_thumbnail(img: Image.Image) -> bytes | None:
    """Raw JPEG bytes of the IFD1 thumbnail, or None when absent or not plausibly a JPEG.

    Pillow parses IFD1 (`get_ifd(ExifTags.IFD.IFD1)`) but does not hand out the thumbnail, so
    the bytes are cut from the raw block in `img.info["exif"]` (offsets count from the TIFF
    header). Images whose EXIF is not a separate block (TIFF files) return None.
    """
    raw = img.info.get("exif")
    exif = _load(img)
    if not isinstance(raw, bytes) or exif is None:
        return None
    return _thumbnail(raw, exif)


def _thumbnail(raw: bytes, exif: Image.Exif) -> bytes | None:
    """The thumbnail cut from the raw block. A declared length running past the block (Sony
    camcorders overstate it by a byte) keeps the bytes present when they end a JPEG."""
    ifd1: Mapping[int, Any] = _guard(lambda: exif.get_ifd(ExifTags.IFD.IFD1), {})
    offset, length = ifd1.get(JPEG_IF_OFFSET), ifd1.get(JPEG_IF_LENGTH)
    if not isinstance(offset, int) or not isinstance(length, int) or offset <= 0 or length <= 2:
        return None
    tiff = _EXIF_PREFIX.sub(b"", raw)
    thumb = tiff[offset : offset + length]
    if not thumb.startswith(b"\xff\xd8"):
        return None
    if len(thumb) != length and not thumb.endswith(b"\xff\xd9"):
        return None
    return thumb


def _jpeg_app1(data: bytes, signature: bytes) -> bytes | None:
    """The first APP1 payload of a JPEG starting with `signature` (EXIF, XMP), found by
    walking its markers up to the scan; a segment cut short by the end of the file is returned
    as far as it goes."""
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xDA:  # start of scan: no metadata segments follow
            return None
        (length,) = struct.unpack_from(">H", data, at + 2)
        payload = data[at + 4 : at + 2 + length]
        if marker == 0xE1 and payload.startswith(signature):
            return payload
        at += 2 + length
    return None


def _png_exif(data: bytes) -> bytes | None:
    """The `eXIf` chunk of a PNG, before or after the pixel data, found by walking chunks."""
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"eXIf":
            return data[at + 8 : at + 8 + length]
        if kind == b"IEND":
            return None
        at += 12 + length
    return None


def thumbnail_summary(thumb: bytes) -> dict[str, Any]:
    """What the record keeps of an embedded thumbnail: its size and digests."""
    digests = digest_bytes(thumb)
    return {"size": len(thumb), "md5": digests.md5, "sha1": digests.sha1, "sha256": digests.sha256}


def build_exif_with_thumbnail(thumbnail: bytes, exif: Image.Exif | None = None) -> bytes:
    """An APP1 EXIF payload ("Exif\\0\\0" + TIFF) carrying `exif` plus an IFD1 JPEG thumbnail.

    Pillow writes IFD0 and its sub-IFDs but never IFD1, so this appends one by hand and links
    it from IFD0. For synthetic collections and tests: pass the result as
    `img.save(buf, "JPEG", exif=...)`.
    """
    block = (exif if exif is not None else Image.Exif()).tobytes()
    prefix, tiff = block[:6], bytearray(block[6:])
    end = "<" if tiff[:2] == b"II" else ">"
    (ifd0,) = struct.unpack_from(end + "I", tiff, 4)
    (count,) = struct.unpack_from(end + "H", tiff, ifd0)
    if len(tiff) % 2:
        tiff += b"\x00"  # IFDs start on a word boundary
    ifd1 = len(tiff)
    struct.pack_into(end + "I", tiff, ifd0 + 2 + 12 * count, ifd1)  # IFD0's next-IFD link
    entries = 3
    thumb_at = ifd1 + 2 + 12 * entries + 4
    tiff += struct.pack(end + "H", entries)
    tiff += struct.pack(end + "HHIH2x", COMPRESSION, 3, 1, 6)  # SHORT 6 = JPEG
    tiff += struct.pack(end + "HHII", JPEG_IF_OFFSET, 4, 1, thumb_at)
    tiff += struct.pack(end + "HHII", JPEG_IF_LENGTH, 4, 1, len(thumbnail))
    tiff += struct.pack(end + "I", 0)
    tiff += thumbnail
    return prefix + bytes(tiff)


def _load(img: Image.Image) -> Image.Exif | None:
    return _guard(img.getexif, None)


def _guard(read: Callable[[], T], default: T) -> T:
    """Run one read of the EXIF tree; a malformed directory yields `default`, not an error.

    Pillow parses lazily, and a hostile block fails in many ways (struct.error, ValueError,
    SyntaxError, KeyError, RecursionError …); at this boundary all of them mean "not there".
    Its "Corrupt EXIF data" warnings are left to the caller (the pipeline keeps them on the
    record).
    """
    try:
        return read()
    except Exception:
        return default


def _text(value: Any) -> str | None:
    """A clean string from an ASCII/UNDEFINED tag, or None if empty or not text at all."""
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        value = value[0]  # some writers repeat the tag value
    if isinstance(value, str):
        # Pillow decodes ASCII as Latin-1; many cameras and apps write UTF-8 there.
        with contextlib.suppress(UnicodeEncodeError):
            value = value.encode("latin-1")
    if isinstance(value, bytes | bytearray):
        raw = bytes(value).strip(b"\x00 \t\r\n").split(b"\x00", 1)[0]
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = "".join(c if c.isprintable() else " " for c in value).strip()
    return value[:MAX_TEXT] or None


def _serial(
    ifd0: Mapping[int, Any], sub: Mapping[int, Any], tiff: bytes | None, xmp: Any
) -> tuple[str, str] | None:
    """(serial, where it came from). The standard tags first; then the maker note, which
    the camera wrote, only for a maker whose note holds one (parsing it is the slow part);
    then XMP, which an editor copied from the maker note and anyone can edit."""
    serial = _standard_serial(sub, ifd0)
    if serial is not None:
        return serial, "exif"
    exif_ifd = ifd0.get(EXIF_IFD)
    if tiff is not None and isinstance(exif_ifd, int) and MAKER_NOTE in sub:
        make, model = _text(ifd0.get(MAKE)), _text(ifd0.get(MODEL))
        found = makernote_serial(tiff, exif_ifd, make, model)
        serial = None if found is None else _text(found[0])
        if found is not None and serial is not None:
            return serial, f"makernote:{found[1]}"
    serial = _text(xmp_serial(xmp))
    return None if serial is None else (serial, "xmp")


def _standard_serial(sub: Mapping[int, Any], ifd0: Mapping[int, Any]) -> str | None:
    for value in (
        sub.get(BODY_SERIAL_NUMBER),
        ifd0.get(BODY_SERIAL_NUMBER),
        ifd0.get(CAMERA_SERIAL_NUMBER),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        text = _text(value)
        if text is not None:
            return text
    return None


def _datetime(value: Any) -> str | None:
    text = _text(value)
    match = _DATETIME.match(text or "")
    if match is None:
        return None
    try:  # rejects the "0000:00:00 00:00:00" that cameras without a clock write
        return datetime(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


def _utc_offset(value: Any) -> str | None:
    text = _text(value)
    return text if text is not None and _UTC_OFFSET.match(text) else None


def _orientation(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return None


def _number(value: Any) -> float | None:
    """A finite, non-negative float from an IFDRational/int/float (or legacy (num, den))."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        if value[1] == 0:
            return None
        value = value[0] / value[1]
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # IFDRational with a zero denominator becomes NaN
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _degrees(value: Any) -> float | None:
    """Decimal degrees from (degrees, minutes, seconds); fewer parts are tolerated."""
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    return sum(n / 60**i for i, n in enumerate(numbers))  # type: ignore[operator]


def _negative(ref: Any, negative: str) -> bool:
    text = _text(ref)
    return text is not None and text[:1].upper() == negative


def _gps(ifd: Mapping[int, Any]) -> dict[str, float] | None:
    lat, lon = _degrees(ifd.get(GPS_LATITUDE)), _degrees(ifd.get(GPS_LONGITUDE))
    if lat is None or lon is None or lat > 90 or lon > 180:
        return None
    if _negative(ifd.get(GPS_LATITUDE_REF), "S"):
        lat = -lat
    if _negative(ifd.get(GPS_LONGITUDE_REF), "W"):
        lon = -lon
    # 7 decimals is about 1 cm: more is float noise that would make equal fixes look different.
    out = {"lat": round(lat, 7), "lon": round(lon, 7)}
    alt = _number(ifd.get(GPS_ALTITUDE))
    if alt is not None:
        ref = ifd.get(GPS_ALTITUDE_REF)
        below = ref in (1, b"\x01") or (isinstance(ref, tuple) and ref[:1] == (1,))
        out["alt"] = round(-alt if below else alt, 2)
    return out
