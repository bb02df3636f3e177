"""Zip names that differ between the central directory and the local header but name the
same entry: a CP437 or placeholder local name, a UTF-8 central name, Info-ZIP Unicode Path
(0x7075) fields. The zips are written byte by byte, as zipfile cannot write such headers."""

from __future__ import annotations

import struct
import zlib

UNICODE_PATH = 0x7075


def unicode_path(name: str, crc_of: bytes) -> bytes:
    """A version-1 Unicode Path field whose name CRC is that of `crc_of`."""
    data = b"\x01" + struct.pack("<L", zlib.crc32(crc_of)) + name.encode("utf-8")
    return struct.pack("<HH", UNICODE_PATH, len(data)) + data


def handmade_zip(members: list[tuple[bytes, bytes, bytes, bytes, bytes]]) -> bytes:
    """Stored members given as (local name, local extra, central name, central extra, data);
    no flag is set, so both names are CP437 as far as the headers say."""
    body, central = b"", b""
    for local_name, local_extra, central_name, central_extra, data in members:
        crc, offset = zlib.crc32(data), len(body)
        sizes = (crc, len(data), len(data))
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, *sizes,
                            len(local_name), len(local_extra))  # fmt: skip
        body += local_name + local_extra + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, *sizes,
                               len(central_name), len(central_extra), 0, 0, 0, 0,
                               offset)  # fmt: skip
        central += central_name + central_extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(body), 0)  # fmt: skip
    return body + central + end


def test_cp437_local_name_matching_the_utf8_central_name_is_read(build):
    """Info-ZIP's zip 3.0 on Unix: central name in the locale's UTF-8, unflagged, with a
    0x7075 field; the local header's name in CP437."""
    utf8, cp437 = "Grüße ö.txt".encode(), "Grüße ö.txt".encode("cp437")
    data = handmade_zip(
        [
            (b"plain.txt", b"", b"plain.txt", b"", b"ascii"),
            (
                cp437,
                unicode_path("Grüße ö.txt", cp437),
                utf8,
                unicode_path("Grüße ö.txt", utf8),
                b"umlauts",
            ),
        ]
    )
    seen, error = build.read_all(data, "zip")
    assert error is None
    assert [(s.name, s.content, s.error) for s in seen] == [
        (b"plain.txt", b"ascii", None),
        (utf8, b"umlauts", None),
    ]


def test_placeholder_local_name_vouched_for_by_the_unicode_path_field(build):
    """Shaped like libarchive's test_read_format_zip_7075_utf8_paths.zip: the local header
    holds an ASCII placeholder and a copy of the central 0x7075 field, whose CRC is that of
    the central CP437 name; bsdtar reads every member."""
    members = []
    for i, letter in enumerate("öäå", start=2):
        name = f"File {i} - {letter}.txt"
        central_raw = name.encode("cp437")
        field = unicode_path(name, central_raw)
        members.append((f"File {i} - xx.txt".encode(), field, central_raw, field, b"Test file"))
    seen, error = build.read_all(handmade_zip(members), "zip")
    assert error is None
    assert [(s.name, s.content) for s in seen] == [
        ("File 2 - ö.txt".encode(), b"Test file"),
        ("File 3 - ä.txt".encode(), b"Test file"),
        ("File 4 - å.txt".encode(), b"Test file"),
    ]


def test_unicode_path_field_counts_only_when_its_crc_matches(build):
    """A CP437 reading of a name written in another code page is wrong; the 0x7075 name is
    right once its CRC confirms it belongs to these header bytes. A stale field (an entry
    renamed without updating it) matches neither header, so those headers still disagree,
    as do headers naming different entries: both stay errors."""
    raw = "Привет.txt".encode("cp866")
    field = unicode_path("Привет.txt", raw)
    stale = unicode_path("old.txt", b"something else")
    data = handmade_zip(
        [
            (raw, field, raw, field, b"x"),
            (b"local.txt", stale, b"old.txt", stale, b"y"),
            (b"evil.exe", b"", b"photo.jpg", b"", b"z"),
        ]
    )
    seen, error = build.read_all(data, "zip")
    assert error is None
    assert [(s.name, s.content, s.error) for s in seen] == [
        ("Привет.txt".encode(), b"x", None),
        (b"old.txt", None, "corrupt member"),
        (b"photo.jpg", None, "corrupt member"),
    ]
