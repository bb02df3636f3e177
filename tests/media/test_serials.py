"""Camera serials outside the standard EXIF tags (issue 7, item 9): each maker's MakerNote laid
out byte for byte as that maker writes it, and the XMP packet, in JPEGs and PNGs built here."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import PngImagePlugin

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.media import serials
from vigil.media.exif import read_metadata
from vigil.model import FileRecord, Locator, Status
from vigil.pipeline.imaging import analyse_image

ASCII, SHORT, LONG, UNDEFINED = 2, 3, 4, 7
Entry = tuple[int, int, int, bytes]  # tag, type, count, value bytes in the block's byte order


def ifd(end: str, at: int, entries: list[Entry]) -> bytes:
    """A TIFF directory that will sit at offset `at` of its frame, followed by the values
    that do not fit in 4 bytes; their offsets count from the frame's origin, as the maker's
    own layout says."""
    head = 2 + 12 * len(entries) + 4
    table, data = struct.pack(end + "H", len(entries)), b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            table += struct.pack(end + "HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack(end + "HHII", tag, kind, count, at + head + len(data))
            data += value + b"\x00" * (len(value) % 2)
    return table + struct.pack(end + "I", 0) + data


def text(value: str) -> tuple[int, int, bytes]:
    raw = value.encode() + b"\x00"
    return ASCII, len(raw), raw


def exif_block(
    end: str, make: str, model: str, note: Callable[[int], bytes], extra: list[Entry] = ()
) -> bytes:
    """APP1 "Exif\\0\\0" + TIFF: IFD0 (Make, Model, ExifIFD) and an Exif IFD whose MakerNote
    is `note(offset of the maker note from the TIFF header)`."""
    header = (b"II*\x00" if end == "<" else b"MM\x00*") + struct.pack(end + "I", 8)

    def ifd0(exif_at: int) -> bytes:
        ids = [(0x010F, *text(make)), (0x0110, *text(model))]
        return ifd(end, 8, [*ids, (0x8769, LONG, 1, struct.pack(end + "I", exif_at))])

    exif_at = 8 + len(ifd0(0))
    note_at = exif_at + 2 + 12 * (1 + len(extra)) + 4
    body = note(note_at)
    sub = ifd(end, exif_at, [*extra, (0x927C, UNDEFINED, len(body), body)])
    assert sub[note_at - exif_at :].startswith(body), "the note must sit where it was built for"
    return b"Exif\x00\x00" + header + ifd0(exif_at) + sub


def canon_note(serial: int) -> Callable[[int], bytes]:
    """Canon: a bare IFD at the start of the MakerNote, in the EXIF byte order, its offsets
    counting from the TIFF header; 0x000C SerialNumber is an int32u."""
    return lambda at: ifd(
        "<",
        at,
        [
            (0x0001, SHORT, 4, struct.pack("<4H", 8, 0, 1, 0)),  # CameraSettings
            (0x0006, *text("Canon EOS 5D Mark II")),  # ImageType
            (0x0007, *text("Firmware Version 2.1.2")),
            (0x000C, LONG, 1, struct.pack("<I", serial)),
        ],
    )


def nikon_note(serial: str) -> Callable[[int], bytes]:
    """Nikon type 3: "Nikon\\0" + version 2.10, then a TIFF header of its own, whose origin
    the directory's offsets count from; 0x001D SerialNumber is a string."""
    inner = ifd(
        ">",
        8,
        [
            (0x0001, UNDEFINED, 4, b"0210"),  # MakerNoteVersion
            (0x0002, SHORT, 2, struct.pack(">HH", 0, 400)),  # ISO
            (0x0004, *text("FINE  ")),  # Quality
            (0x001D, *text(serial)),
        ],
    )
    return lambda _at: b"Nikon\x00\x02\x10\x00\x00" + b"MM\x00*" + struct.pack(">I", 8) + inner


def fujifilm_note(serial: str) -> Callable[[int], bytes]:
    """Fujifilm: "FUJIFILM" + the directory's offset from the MakerNote start, little-endian
    even in a big-endian EXIF block, offsets counting from the MakerNote start."""
    entries = [(0x0000, UNDEFINED, 4, b"0130"), (0x0010, *text(serial))]
    return lambda _at: b"FUJIFILM" + struct.pack("<I", 12) + ifd("<", 12, entries)


def olympus_note(serial: str) -> Callable[[int], bytes]:
    """Olympus (old layout): "OLYMP\\0" + version 1, then an IFD in the EXIF byte order whose
    offsets count from the TIFF header; 0x0404 SerialNumber is a string."""
    return lambda at: (
        b"OLYMP\x00\x01\x00"
        + ifd(
            "<",
            at + 8,
            [(0x0207, *text("SX755-77")), (0x0404, *text(serial))],  # SoftwareRelease, serial
        )
    )


def jpeg(exif: bytes | None = None, xmp: bytes | None = None, size: tuple = (96, 64)) -> bytes:
    extra = {k: v for k, v in (("exif", exif), ("xmp", xmp)) if v is not None}
    return image_bytes(gradient_image(4, size), "JPEG", quality=90, **extra)


def found(data: bytes) -> tuple[str | None, str | None]:
    exif = read_metadata(data).exif
    return exif.get("serial"), exif.get("serial_source")


CANON = exif_block("<", "Canon", "Canon EOS 5D Mark II", canon_note(560012345))
NIKON = exif_block(">", "NIKON CORPORATION", "NIKON D750", nikon_note("3012345"))
FUJI_SERIAL = "FF02B4657963     592D31333034 2013:04:11 T1103DB0E0C3"
FUJIFILM = exif_block(">", "FUJIFILM", "X-T1", fujifilm_note(FUJI_SERIAL))
OLYMPUS = exif_block("<", "OLYMPUS OPTICAL CO.,LTD", "C5050Z", olympus_note("BH8506090"))


@pytest.mark.parametrize(
    ("block", "serial", "source"),
    [
        (CANON, "0560012345", "makernote:Canon"),  # zero-padded to 10 digits, as ExifTool
        (NIKON, "3012345", "makernote:Nikon"),
        (FUJIFILM, FUJI_SERIAL, "makernote:Fujifilm"),
        (OLYMPUS, "BH8506090", "makernote:Olympus"),
    ],
    ids=["canon", "nikon", "fujifilm", "olympus"],
)
def test_serial_from_the_maker_note(block: bytes, serial: str, source: str) -> None:
    assert found(jpeg(block)) == (serial, source)


def test_canon_eos_1d_serial_is_six_digits() -> None:
    block = exif_block("<", "Canon", "Canon EOS-1D Mark III", canon_note(12345))
    assert found(jpeg(block)) == ("012345", "makernote:Canon")


def test_standard_body_serial_wins_and_spares_the_maker_note_parse(monkeypatch) -> None:
    calls: list[int] = []
    parse = serials.exifread.process_file
    monkeypatch.setattr(
        serials.exifread, "process_file", lambda *a, **k: calls.append(1) or parse(*a, **k)
    )
    body = (0xA431, *text("BODY-77"))
    with_body = exif_block("<", "Canon", "Canon EOS R5", canon_note(1), [body])
    panasonic = exif_block("<", "Panasonic", "DC-GH5", canon_note(1))  # no serial ExifRead reads
    assert found(jpeg(with_body)) == ("BODY-77", "exif")
    assert found(jpeg(panasonic)) == (None, None)
    assert calls == []
    assert found(jpeg(CANON))[1] == "makernote:Canon"
    assert calls == [1]


def test_truncated_photo_keeps_the_maker_note_serial() -> None:
    data = jpeg(NIKON, size=(640, 480))
    record = FileRecord(Locator(b"DSC_0001.JPG"))
    analyse_image(record, data[: len(data) // 2], Limits())
    assert record.status is Status.ERROR
    assert (record.exif["serial"], record.exif["serial_source"]) == ("3012345", "makernote:Nikon")


def test_maker_note_serial_wins_over_xmp() -> None:
    assert found(jpeg(CANON, xmp(aux='aux:SerialNumber="EDITED"'))) == (
        "0560012345",
        "makernote:Canon",
    )


def xmp(aux: str = "", body: str = "", dtd: str = "") -> bytes:
    """An XMP packet as Adobe software writes it, with the serial as an attribute or an
    element of the rdf:Description."""
    return (
        f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{dtd}'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" '
        f'xmlns:exifEX="http://cipa.jp/exif/1.0/" {aux}>{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode() + b" " * 200


def test_xmp_aux_serial_in_jpeg_app1() -> None:
    sony = exif_block("<", "SONY", "ILCE-7M3", lambda _at: b"SONY DSC \x00\x00\x00" + b"\x00" * 8)
    assert found(jpeg(sony, xmp(aux='aux:SerialNumber="3347109"'))) == ("3347109", "xmp")


def test_xmp_body_serial_element_in_png_itxt() -> None:
    body = "<exifEX:BodySerialNumber>052021001234</exifEX:BodySerialNumber>"
    assert found(png_with_xmp(xmp(body=body))) == ("052021001234", "xmp")


def test_xmp_in_a_jpeg_pillow_cannot_open() -> None:
    data = jpeg(xmp=xmp(aux='aux:SerialNumber="A7-001"'))
    cut = data[: data.index(b"\xff\xdb") + 10]  # inside the quantisation table
    assert found(cut) == ("A7-001", "xmp")


def png_with_xmp(packet: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet.decode())
    return image_bytes(gradient_image(4, (64, 48)), "PNG", pnginfo=info)


def test_xmp_with_a_dtd_or_too_big_is_not_parsed() -> None:
    serial = 'aux:SerialNumber="BIG-1"'
    assert found(png_with_xmp(xmp(aux=serial))) == ("BIG-1", "xmp")
    laughs = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    assert found(png_with_xmp(xmp(aux=serial, dtd=laughs))) == (None, None)
    assert found(png_with_xmp(xmp(aux=serial) + b" " * serials.MAX_XMP)) == (None, None)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["Canon", "NIKON CORPORATION", "FUJIFILM", "OLYMPUS"]), st.binary())
def test_hostile_maker_notes_never_raise(make: str, junk: bytes) -> None:
    serial, source = found(jpeg(exif_block("<", make, "X", lambda _at: junk + b"\x00" * 8)))
    assert serial is None or (isinstance(serial, str) and source.startswith("makernote:"))
