"""Camera body serials kept outside the standard EXIF tags: in the maker's own MakerNote, or in
the XMP packet an editor (Lightroom, Camera Raw) writes. Most cameras never write EXIF
BodySerialNumber, and device attribution in triage rests on the serial.

Maker notes are decoded by maintained parsers that know each maker's layout (where the
directory starts, what its offsets count from, which byte order it uses, which cipher):
ExifRead, in process, for Canon, Nikon, Fujifilm and old Olympus; ExifTool, in a long-lived
batch process (`vigil.media.exiftool`), for the makers only it decodes. Either is called only
for a Make whose maker note carries a serial (not for phones: a round trip per phone photo
would cost hours over millions of files), and is handed a reduced block: the original bytes
up to the end of the MakerNote (so the maker's offsets stay valid) behind a new IFD0 holding
just the Make (and for ExifTool the Model, which picks Sony's and Olympus's layouts) and a new
Exif IFD holding just the MakerNote. The parser then reads one maker directory, never pixel
data nor the whole tree, which also bounds what a hostile block can make it do.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import exifread

from vigil.media import exiftool

MAKER_NOTE = 0x927C
_MAKE, _MODEL, _EXIF_IFD = 0x010F, 0x0110, 0x8769
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


# Keyed by how the Make tag starts, upper-cased.
_MAKERS = {
    "CANON": Maker("Canon", "Canon", "MakerNote SerialNumber"),  # 0x000C, int32u
    "NIKON": Maker("Nikon", "NIKON", "MakerNote SerialNumber"),  # 0x001D / 0x00A0, string
    "OLYMPUS": Maker("Olympus", "OLYMPUS", "MakerNote SerialNumber"),  # 0x0404 / 0x101A
    "FUJIFILM": Maker("Fujifilm", "FUJIFILM", "MakerNote InternalSerialNumber"),  # 0x0010
}
# Olympus and OM System bodies since the E-1 keep the serial in the Equipment directory
# (0x2010 -> 0x0101) of a layout ExifRead does not know: ExifTool reads those.
_EXIFTOOL_LAYOUTS = (b"OLYMPUS\x00", b"OM SYSTEM\x00")
# Makes whose maker note ExifTool reads a serial from, by how the Make starts, upper-cased:
# Sony (InternalSerialNumber in the enciphered 0x9050 block), Panasonic and Leica
# (InternalSerialNumber 0x0025, Leica SerialNumber), OM Digital (as Olympus), Pentax/Asahi
# and Ricoh (0x0229, Ricoh SerialInfo), Sigma (0x0002), Reconyx trail cameras, Kodak and HP.
_EXIFTOOL_MAKES = (
    "SONY",
    "PANASONIC",
    "LEICA",
    "OM DIGITAL",
    "PENTAX",
    "ASAHI",
    "RICOH",
    "SIGMA",
    "RECONYX",
    "EASTMAN KODAK",
    "HEWLETT-PACKARD",
)
# Sony's phones share the Make; their notes hold no body serial.
_PHONE_LAYOUTS = (b"SONY MOBILE",)
# What ExifTool is asked for; the first one found is the serial. A maker's "internal" serial
# (Panasonic, Sony, Olympus's second one) is unique per body but not the number on its label,
# so it only counts when the body serial is absent.
_EXIFTOOL_TAGS = ("SerialNumber", "BodySerialNumber", "CameraSerialNumber", "InternalSerialNumber")


MAX_XMP = 1 << 20  # real packets are a few KiB; PNG iTXt and TIFF tag 700 have no limit
_XMP_SERIALS = (
    "{http://cipa.jp/exif/1.0/}BodySerialNumber",  # exifEX: the EXIF 2.3 mapping
    "{http://ns.adobe.com/exif/1.0/aux/}SerialNumber",  # aux: what Adobe software writes
)


def makernote_serial(
    tiff: bytes, exif_ifd: int, make: str | None, model: str | None
) -> tuple[str | bytes, str] | None:
    """(serial, maker) from the maker note of TIFF block `tiff` (Exif IFD at `exif_ifd`): the
    serial as text, raw bytes, or a number formatted as ExifTool shows it; the maker as
    `serial_source` names it ("Canon", or ExifTool's group: "Panasonic", "Sony"). None when
    absent or unreadable, and at once for a Make whose note holds no serial. Never raises."""
    upper = (make or "").upper()
    found = next((m for key, m in _MAKERS.items() if upper.startswith(key)), None)
    if make is None or (found is None and not upper.startswith(_EXIFTOOL_MAKES)):
        return None
    try:
        note = _maker_note(tiff, exif_ifd)
        if note is None:
            return None
        head = tiff[note[3] : note[3] + 16]
        if found is not None and not head.startswith(_EXIFTOOL_LAYOUTS):
            reduced = _reduced_block(tiff, note, [(_MAKE, found.make)])
            tags = exifread.process_file(io.BytesIO(reduced), details=True, extract_thumbnail=False)
            tag = tags.get(found.key)
            value = None if tag is None else _value(tag.values, found, model or "")
            return None if value is None else (value, found.name)
        if head.startswith(_PHONE_LAYOUTS):
            return None
        texts = [(_MAKE, make), *([(_MODEL, model)] if model else [])]
        reduced = _reduced_block(tiff, note, texts)
    except Exception:  # a hostile block fails ExifRead in many ways; all mean "not there"
        return None
    return _exiftool_serial(exiftool.shared.read(reduced, _EXIFTOOL_TAGS, ".exif"))


def _exiftool_serial(tags: dict[str, str] | None) -> tuple[str, str] | None:
    for name in _EXIFTOOL_TAGS:
        for key, value in (tags or {}).items():
            group, _, tag = key.rpartition(":")
            if tag == name and value.strip():
                return value, group
    return None


def _maker_note(tiff: bytes, exif_ifd: int) -> tuple[str, int, int, int] | None:
    """(byte order, type, size, offset) of the Exif IFD's out-of-line MakerNote; None when
    there is none, it is over `MAX_MAKER_NOTE` or starts past the end of the block."""
    end = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if end is None:
        return None
    (count,) = struct.unpack_from(end + "H", tiff, exif_ifd)
    for i in range(count):
        tag, kind, size, at = struct.unpack_from(end + "HHII", tiff, exif_ifd + 2 + 12 * i)
        if tag == MAKER_NOTE and 4 < size <= MAX_MAKER_NOTE and at < len(tiff):
            return end, kind, size, at
    return None


def _reduced_block(
    tiff: bytes, note: tuple[str, int, int, int], texts: list[tuple[int, str]]
) -> bytes:
    """`tiff` cut after its MakerNote `note` (zero-filled if the file ends inside it),
    re-rooted at an IFD0 holding the ASCII `texts` and the ExifIFD, and a one-entry Exif IFD
    (MakerNote). The header is rewritten whole: ExifTool picks the format by it, and must see
    a TIFF whatever the original said."""
    end, kind, size, at = note
    block = bytearray(tiff[: at + size].ljust(at + size, b"\x00"))
    block += b"\x00" * (len(block) % 2)
    values = [text.encode("utf-8") + b"\x00" for _, text in texts]
    ifd0 = len(block)
    value_at = ifd0 + 2 + 12 * (len(texts) + 1) + 4
    block += struct.pack(end + "H", len(texts) + 1)
    for (tag, _), value in zip(texts, values, strict=True):
        block += struct.pack(end + "HHII", tag, _ASCII, len(value), value_at)
        value_at += len(value) + len(value) % 2
    block += struct.pack(end + "HHII", _EXIF_IFD, _LONG, 1, value_at)
    block += struct.pack(end + "I", 0)
    for value in values:
        block += value + b"\x00" * (len(value) % 2)
    block += struct.pack(end + "HHHII", 1, MAKER_NOTE, kind, size, at) + struct.pack(end + "I", 0)
    block[:8] = (b"II*\x00" if end == "<" else b"MM\x00*") + struct.pack(end + "I", ifd0)
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
