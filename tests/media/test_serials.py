"""Camera serials outside the standard EXIF tags (issue 7, item 9): each maker's MakerNote laid
out byte for byte as that maker writes it, and the XMP packet, in JPEGs and PNGs built here.
Notes only ExifTool decodes are read by the real exiftool; those tests skip without it."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import PngImagePlugin

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.media import exiftool, serials
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


def text(value: str | bytes) -> tuple[int, int, bytes]:
    raw = (value if isinstance(value, bytes) else value.encode()) + b"\x00"
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


def nikon_note(serial: str | bytes) -> Callable[[int], bytes]:
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
    calls: list[str] = []
    parse, ask = serials.exifread.process_file, exiftool.shared.read
    monkeypatch.setattr(
        serials.exifread, "process_file", lambda *a, **k: calls.append("exifread") or parse(*a, **k)
    )
    monkeypatch.setattr(
        exiftool.shared, "read", lambda *a, **k: calls.append("exiftool") or ask(*a, **k)
    )
    body = (0xA431, *text("BODY-77"))
    with_body = exif_block("<", "Canon", "Canon EOS R5", canon_note(1), [body])
    sony_body = exif_block("<", "SONY", "ILCE-7M3", sony_note(b"\x01\x02\x03\x04\x05\x06"), [body])
    phone = exif_block("<", "Apple", "iPhone 12", canon_note(1))  # phone notes hold no serial
    assert found(jpeg(with_body)) == ("BODY-77", "exif")
    assert found(jpeg(sony_body)) == ("BODY-77", "exif")
    assert found(jpeg(phone)) == (None, None)
    assert calls == []
    assert found(jpeg(CANON))[1] == "makernote:Canon"
    assert calls == ["exifread"]


def test_exifread_warnings_are_kept_on_the_record(caplog: pytest.LogCaptureFixture) -> None:
    """ExifRead logs what it finds wrong on its own logger; like Pillow's, it belongs to the
    file's record, not to the ingest log."""
    block = exif_block(">", "NIKON CORPORATION", "NIKON D750", nikon_note(b"30\xff12"))
    record = FileRecord(Locator(b"DSC_0002.JPG"))
    with caplog.at_level(logging.WARNING):
        analyse_image(record, jpeg(block), Limits())
    assert record.status is Status.OK
    assert "Possibly corrupted field SerialNumber in MakerNote IFD" in record.warnings
    assert "Possibly corrupted" not in caplog.text


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


# Makers only ExifTool decodes. Values are as ExifTool prints them, the form an examiner sees
# running exiftool on the photo.

needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None,
    reason="exiftool is not installed (Debian: libimage-exiftool-perl; `make install`)",
)
SONY_CIPHER = bytes((b**3) % 249 if b < 249 else b for b in range(256))


def panasonic_note(serial: bytes) -> Callable[[int], bytes]:
    """Panasonic: "Panasonic\0\0\0", then an IFD whose offsets count from the TIFF header;
    0x0025 InternalSerialNumber is 16 bytes, NUL-padded."""
    entries = [(0x0001, UNDEFINED, 4, b"0121"), (0x0025, UNDEFINED, 16, serial.ljust(16, b"\0"))]
    return lambda at: b"Panasonic\x00\x00\x00" + ifd("<", at + 12, entries)


def olympus_equipment_note(serial: str, internal: str) -> Callable[[int], bytes]:
    """Olympus since the E-1: "OLYMPUS\0" + byte order + version 3, an IFD whose offsets
    count from the maker-note start, and 0x2010 pointing (type 13, IFD) at the Equipment
    directory, whose 0x0101 SerialNumber is 32 characters and 0x0102 InternalSerialNumber
    another number of the same body."""
    main = len(ifd("<", 12, [(0x2010, 13, 1, b"\x00" * 4)]))
    equipment = [
        (0x0000, UNDEFINED, 4, b"0100"),  # EquipmentVersion
        (0x0101, ASCII, 32, serial.encode().ljust(32, b"\x00")),
        (0x0102, ASCII, 32, internal.encode().ljust(32, b"\x00")),
    ]
    return lambda _at: (
        b"OLYMPUS\x00II\x03\x00"
        + ifd("<", 12, [(0x2010, 13, 1, struct.pack("<I", 12 + main))])
        + ifd("<", 12 + main, equipment)
    )


def sony_note(serial: bytes) -> Callable[[int], bytes]:
    """Sony: "SONY DSC \0\0\0", then an IFD whose offsets count from the TIFF header; 0x9050
    is a block enciphered byte by byte (b -> b**3 mod 249, bytes 249-255 unchanged). On
    ILCE-7M3-generation bodies (layout 9050b) InternalSerialNumber is its bytes 0x88-0x8D."""
    plain = bytearray(0x200)
    plain[0x88:0x8E] = serial
    block = bytes(plain).translate(SONY_CIPHER)
    return lambda at: (
        b"SONY DSC \x00\x00\x00" + ifd("<", at + 12, [(0x9050, UNDEFINED, 512, block)])
    )


def pentax_note(serial: str) -> Callable[[int], bytes]:
    """Pentax and Ricoh-made Pentax bodies: "AOC\0" + byte order, then an IFD whose offsets
    count from the TIFF header; 0x0229 SerialNumber is a string."""
    entries = [(0x0000, 1, 4, b"\x03\x00\x00\x00"), (0x0229, *text(serial))]  # version 3.0.0.0
    return lambda at: b"AOC\x00II" + ifd("<", at + 6, entries)


PANASONIC = exif_block("<", "Panasonic", "DC-GH5", panasonic_note(b"F541209250339"))
OLYMPUS_NEW = exif_block(
    "<", "OLYMPUS IMAGING CORP.", "E-M5", olympus_equipment_note("BHP201234", "4100112019")
)
SONY = exif_block("<", "SONY", "ILCE-7M3", sony_note(b"\x12\x34\x56\x78\x9a\x0b"))
PENTAX = exif_block(
    "<", "RICOH IMAGING COMPANY, LTD.", "PENTAX K-3 Mark III", pentax_note("4512345")
)


@needs_exiftool
@pytest.mark.parametrize(
    ("block", "serial", "source"),
    [
        (PANASONIC, "(F54) 2012:09:25 no. 0339", "makernote:Panasonic"),
        (OLYMPUS_NEW, "BHP201234", "makernote:Olympus"),  # the body's, not the internal one
        (SONY, "123456789a0b", "makernote:Sony"),
        (PENTAX, "4512345", "makernote:Pentax"),  # a number in ExifTool's JSON, kept as text
    ],
    ids=["panasonic", "olympus-equipment", "sony-9050", "pentax"],
)
def test_serial_from_the_maker_note_by_exiftool(block: bytes, serial: str, source: str) -> None:
    record = FileRecord(Locator(b"P1000001.JPG"))
    analyse_image(record, jpeg(block), Limits())
    assert (record.exif.get("serial"), record.exif.get("serial_source")) == (serial, source)
    assert record.warnings == []


@needs_exiftool
@pytest.mark.parametrize(
    ("model", "serial"), [("ILCE-7M3", "123456789a0b"), ("ILCE-1", "56789a0b0000")]
)
def test_sony_layout_follows_the_model(model: str, serial: str) -> None:
    """The model picks where in 0x9050 the serial is (an ILCE-1 keeps it 2 bytes later),
    which is why the reduced block carries the Model."""
    block = exif_block("<", "SONY", model, sony_note(b"\x12\x34\x56\x78\x9a\x0b"))
    assert found(jpeg(block)) == (serial, "makernote:Sony")


def test_without_exiftool_the_serial_is_absent_and_noted(monkeypatch) -> None:
    monkeypatch.setattr(exiftool, "shared", exiftool.ExifTool("vigil-no-such-exiftool"))
    record = FileRecord(Locator(b"P1000001.JPG"))
    analyse_image(record, jpeg(PANASONIC), Limits())
    assert record.status is Status.OK
    assert "serial" not in record.exif and record.exif["make"] == "Panasonic"
    assert len(record.warnings) == 1
    assert record.warnings[0].startswith("exiftool could not start")


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "exiftool"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o700)
    return str(path)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("exec sleep 60\n", "no answer in time"),
        ("exit 0\n", "exiftool exited"),
        (  # answers every request, with something that is not JSON
            'while read -r line; do case "$line" in -execute*) echo "not json";'
            ' echo "{ready${line#-execute}}";; esac; done\n',
            "Expecting value",
        ),
    ],
    ids=["hangs", "exits", "garbage"],
)
def test_a_failing_exiftool_costs_the_serial_not_the_file(
    monkeypatch, tmp_path: Path, body: str, why: str
) -> None:
    tool = exiftool.ExifTool(script(tmp_path, body), timeout=0.5)
    monkeypatch.setattr(exiftool, "shared", tool)
    for name in (b"P1000001.JPG", b"P1000002.JPG"):  # the second starts a fresh process
        record = FileRecord(Locator(name))
        started = time.monotonic()
        analyse_image(record, jpeg(PANASONIC), Limits())
        assert time.monotonic() - started < 5
        assert record.status is Status.OK and "serial" not in record.exif
        assert len(record.warnings) == 1 and why in record.warnings[0]
    tool.close()


class Starts:
    """Counts the exiftool processes `vigil.media.exiftool` starts."""

    def __init__(self, monkeypatch) -> None:
        self.procs: list[subprocess.Popen] = []
        popen = subprocess.Popen

        def counted(*args, **kwargs) -> subprocess.Popen:
            self.procs.append(popen(*args, **kwargs))
            return self.procs[-1]

        monkeypatch.setattr(exiftool.subprocess, "Popen", counted)


def panasonic_block() -> bytes:
    return PANASONIC[len(b"Exif\x00\x00") :]


@needs_exiftool
def test_after_a_hang_the_next_request_is_answered(tmp_path: Path) -> None:
    """The same client, its process killed on a timeout, starts a working one."""
    real = shutil.which("exiftool")
    hang_once = f"[ -e {tmp_path}/hung ] || {{ touch {tmp_path}/hung; exec sleep 60; }}\n"
    tool = exiftool.ExifTool(script(tmp_path, hang_once + f'exec {real} "$@"\n'), timeout=0.5)
    tags = ["InternalSerialNumber"]
    assert tool.read(panasonic_block(), tags, ".exif") is None
    tool.timeout = 10
    assert tool.read(panasonic_block(), tags, ".exif") == {
        "Panasonic:InternalSerialNumber": "(F54) 2012:09:25 no. 0339"
    }
    tool.close()


@needs_exiftool
def test_one_process_answers_many_requests_and_exits_on_close(monkeypatch) -> None:
    starts = Starts(monkeypatch)
    tool = exiftool.ExifTool()
    answers = [tool.read(panasonic_block(), ["InternalSerialNumber"], ".exif") for _ in range(40)]
    assert all(
        a == {"Panasonic:InternalSerialNumber": "(F54) 2012:09:25 no. 0339"} for a in answers
    )
    assert len(starts.procs) == 1
    tool.close()
    assert starts.procs[0].wait(timeout=5) == 0  # asked to stop, not killed


@needs_exiftool
def test_a_forked_child_starts_its_own_process(monkeypatch) -> None:
    """Worker pools fork: a child must neither talk to its parent's process nor end it."""
    starts = Starts(monkeypatch)
    tool = exiftool.ExifTool()
    block, tags = panasonic_block(), ["InternalSerialNumber"]
    assert tool.read(block, tags, ".exif")
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        try:
            tool.close()  # as atexit would in a child that exits normally
            answer = tool.read(block, tags, ".exif")
            ours = starts.procs[-1].pid if len(starts.procs) == 2 else 0
            os.write(writer, f"{bool(answer)} {ours}".encode())
            tool.close()
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        answered, ours = pipe.read().split()
    os.waitpid(child, 0)
    assert answered == "True" and int(ours) not in (0, starts.procs[0].pid)
    assert tool.read(block, tags, ".exif")
    assert len(starts.procs) == 1  # the parent's process survived the child
    tool.close()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@needs_exiftool
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_exiftool_dies_with_a_killed_worker(tmp_path: Path) -> None:
    """ExifTool never exits at the end of its input; a worker killed by a crash or kill -9
    must not leave it behind. (The killed worker's scratch directory goes to tmp_path.)"""
    code = (
        "import sys; from vigil.media import exiftool; exiftool._SCRATCH = sys.argv[1];"
        "exiftool.shared.read(sys.stdin.buffer.read(), ['SerialNumber'], '.exif');"
        "print('ready', flush=True); sys.stdin.close(); __import__('time').sleep(60)"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    worker.stdin.write(panasonic_block())
    worker.stdin.close()
    assert worker.stdout.readline() == b"ready\n"
    (tool,) = children(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    deadline = time.monotonic() + 5
    while running(tool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(tool)


EXIFTOOL_NOTES = [
    ("SONY", b"SONY DSC \x00\x00\x00"),
    ("Panasonic", b"Panasonic\x00\x00\x00"),
    ("OLYMPUS CORPORATION", b"OLYMPUS\x00II\x03\x00"),
    ("PENTAX", b"AOC\x00II"),
    ("LEICA", b"LEICA\x00\x00\x00"),
]


@needs_exiftool
@settings(max_examples=40, deadline=None)
@given(st.sampled_from(EXIFTOOL_NOTES), st.binary(max_size=2048))
def test_hostile_maker_notes_for_exiftool_never_raise(
    maker: tuple[str, bytes], junk: bytes
) -> None:
    make, head = maker
    block = exif_block("<", make, "X", lambda _at: head + junk + b"\x00" * 8)
    record = FileRecord(Locator(b"junk.jpg"))
    analyse_image(record, jpeg(block), Limits())
    serial, source = record.exif.get("serial"), record.exif.get("serial_source")
    assert serial is None or (isinstance(serial, str) and source.startswith("makernote:"))
    assert not any("exiftool" in w for w in record.warnings)  # answered, not failed
