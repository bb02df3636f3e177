"""Camera body serials kept outside the standard EXIF tags: in the maker's own MakerNote, or in
the XMP packet an editor (Lightroom, Camera Raw) writes. Most cameras never write EXIF
BodySerialNumber, and device attribution in triage rests on the serial.

Maker notes are decoded by ExifRead, a maintained parser that knows each maker's layout
(where the directory starts, what its offsets count from, which byte order it uses). It
parses in pure Python, so it is only called for a Make whose maker note carries a serial, and
is handed a reduced block: the original bytes up to the end of the MakerNote (so the maker's
offsets stay valid) behind a new IFD0 holding just the Make and a new Exif IFD holding just
the MakerNote. It then reads one maker directory, not the whole tree, which also bounds what
a hostile block can make it do.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import exifread

MAKER_NOTE = 0x927C
_MAKE, _EXIF_IFD = 0x010F, 0x8769
_ASCII, _LONG = 2, 4
MAX_SERIAL_BYTES = 256
# What one JPEG APP1 segment can hold. ExifRead's cost grows with entries x values, so a
# hostile note this size already takes seconds; a bigger one (PNG eXIf, TIFF) is not parsed.
MAX_MAKER_NOTE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Maker:
    """A maker whose maker note ExifRead decodes with a serial among the tags."""

    name: str  # as recorded in `serial_source`
    make: str  # the Make ExifRead tests for to pick the layout
    key: str  # the ExifRead tag holding the serial


# Keyed by how the Make tag starts, upper-cased. Not listed, because ExifRead does not decode
# their serial: Panasonic (no Panasonic maker-note support), Sony (enciphered 0x9050 block),
# Olympus/OM cameras since the E-1 (serial in the Equipment sub-directory of the "OLYMPUS\0II"
# layout), and makers ExifRead has no module for (Pentax, Samsung, Reconyx, FLIR ...).
_MAKERS = {
    "CANON": Maker("Canon", "Canon", "MakerNote SerialNumber"),  # 0x000C, int32u
    "NIKON": Maker("Nikon", "NIKON", "MakerNote SerialNumber"),  # 0x001D / 0x00A0, string
    "OLYMPUS": Maker("Olympus", "OLYMPUS", "MakerNote SerialNumber"),  # 0x0404 / 0x101A
    "FUJIFILM": Maker("Fujifilm", "FUJIFILM", "MakerNote InternalSerialNumber"),  # 0x0010
}

MAX_XMP = 1 << 20  # real packets are a few KiB; PNG iTXt and TIFF tag 700 have no limit
_XMP_SERIALS = (
    "{http://cipa.jp/exif/1.0/}BodySerialNumber",  # exifEX: the EXIF 2.3 mapping
    "{http://ns.adobe.com/exif/1.0/aux/}SerialNumber",  # aux: what Adobe software writes
)


def maker(make: str | None) -> Maker | None:
    """The maker whose maker note holds a serial ExifRead reads, or None: every other Make
    skips the costly parse."""
    upper = (make or "").upper()
    return next((m for key, m in _MAKERS.items() if upper.startswith(key)), None)


def makernote_serial(
    tiff: bytes, exif_ifd: int, found: Maker, model: str | None
) -> str | bytes | None:
    """The serial in the maker note of TIFF block `tiff` (Exif IFD at `exif_ifd`), as text,
    raw bytes, or the number formatted as ExifTool shows it; None when absent or unreadable.
    Never raises."""
    try:
        reduced = _reduced_block(tiff, exif_ifd, found.make)
        if reduced is None:
            return None
        tags = exifread.process_file(io.BytesIO(reduced), details=True, extract_thumbnail=False)
        tag = tags.get(found.key)
        return None if tag is None else _value(tag.values, found, model or "")
    except Exception:  # a hostile block fails ExifRead in many ways; all mean "not there"
        return None


def _reduced_block(tiff: bytes, exif_ifd: int, make: str) -> bytes | None:
    """`tiff` cut after its MakerNote, re-rooted at a two-entry IFD0 (Make, ExifIFD) and a
    one-entry Exif IFD (MakerNote); None when the Exif IFD has no out-of-line MakerNote or
    one over `MAX_MAKER_NOTE`."""
    end = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if end is None:
        return None
    (count,) = struct.unpack_from(end + "H", tiff, exif_ifd)
    for i in range(count):
        tag, kind, size, at = struct.unpack_from(end + "HHII", tiff, exif_ifd + 2 + 12 * i)
        if tag == MAKER_NOTE and 4 < size <= MAX_MAKER_NOTE:
            break
    else:
        return None
    block = bytearray(tiff[: at + size])
    block += b"\x00" * (len(block) % 2)
    text = make.encode("ascii") + b"\x00"
    ifd0 = len(block)
    text_at = ifd0 + 2 + 2 * 12 + 4
    sub = text_at + len(text) + len(text) % 2
    block += struct.pack(end + "H", 2)
    block += struct.pack(end + "HHII", _MAKE, _ASCII, len(text), text_at)
    block += struct.pack(end + "HHII", _EXIF_IFD, _LONG, 1, sub)
    block += struct.pack(end + "I", 0) + text + b"\x00" * (len(text) % 2)
    block += struct.pack(end + "HHHII", 1, MAKER_NOTE, kind, size, at) + struct.pack(end + "I", 0)
    struct.pack_into(end + "I", block, 4, ifd0)
    return bytes(block)


def _value(values: Any, found: Maker, model: str) -> str | bytes | None:
    if isinstance(values, str | bytes):
        return values
    if not isinstance(values, list) or not values or not all(isinstance(v, int) for v in values):
        return None
    if found.name == "Canon" and len(values) == 1:
        return _canon_serial(values[0], model)
    return bytes(v & 0xFF for v in values[:MAX_SERIAL_BYTES])  # an UNDEFINED string


def _canon_serial(number: int, model: str) -> str:
    """Canon stores the body number as an integer; ExifTool, and the body's label, show it
    zero-padded to 10 digits (6 on the EOS-1D family, hex+decimal on the EOS D30)."""
    if re.search(r"EOS D30\b", model):
        return f"{number >> 16:04x}{number & 0xFFFF:05d}"
    if "EOS-1D" in model:
        return f"{number:06d}"
    return f"{number:010d}"


def xmp_serial(packet: Any) -> str | None:
    """exifEX:BodySerialNumber or aux:SerialNumber from an XMP packet, as an attribute of an
    rdf:Description or as an element. None for a packet that is missing, too big, has a DTD
    (XMP never needs one; entities are how XML parsers are made to blow up) or is not XML."""
    if isinstance(packet, str):
        packet = packet.encode("utf-8", "replace")
    if not isinstance(packet, bytes) or len(packet) > MAX_XMP:
        return None
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        return None
    try:
        root = ET.fromstring(packet.strip(b"\x00 \t\r\n"))
    except (ET.ParseError, ValueError):
        return None
    for name in _XMP_SERIALS:
        for element in root.iter():
            value = element.get(name) or (element.text if element.tag == name else None)
            if value and value.strip():
                return value.strip()
    return None
