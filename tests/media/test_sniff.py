"""Content sniffing: real encodes made in memory, hand-built container headers, and fuzzing."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import struct
import tarfile
import zipfile

import py7zr
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.helpers import gradient_image, image_bytes
from vigil.media.sniff import SNIFF_BYTES, is_archive_mime, sniff
from vigil.model import Kind


def small() -> Image.Image:
    return gradient_image(3, (32, 24))


@pytest.mark.parametrize(
    ("fmt", "kwargs", "mime"),
    [
        ("JPEG", {}, "image/jpeg"),
        ("PNG", {}, "image/png"),
        ("GIF", {}, "image/gif"),
        ("WEBP", {}, "image/webp"),
        ("WEBP", {"lossless": True}, "image/webp"),
        ("BMP", {}, "image/bmp"),
        ("TIFF", {}, "image/tiff"),
        ("TIFF", {"compression": "tiff_lzw"}, "image/tiff"),
        ("AVIF", {}, "image/avif"),
    ],
)
def test_pillow_encodes_are_images(fmt: str, kwargs: dict, mime: str) -> None:
    assert sniff(image_bytes(small(), fmt, **kwargs)[:SNIFF_BYTES]) == (mime, Kind.IMAGE)


def test_big_endian_tiff_and_gif87a() -> None:
    assert sniff(b"MM\x00*\x00\x00\x00\x08" + bytes(32)) == ("image/tiff", Kind.IMAGE)
    gif89 = image_bytes(small(), "GIF")
    assert sniff(b"GIF87a" + gif89[6:]) == ("image/gif", Kind.IMAGE)


def test_bmp_needs_a_dib_header_not_just_bm() -> None:
    assert sniff(b"BMW is a car maker\n") == ("text/plain", Kind.OTHER)
    v5 = b"BM" + bytes(12) + struct.pack("<I", 124) + bytes(120)  # BITMAPV5HEADER
    assert sniff(v5) == ("image/bmp", Kind.IMAGE)


def test_heic_from_pillow_heif() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    try:
        data = image_bytes(small(), "HEIF", quality=80)
    except (OSError, KeyError, ValueError) as exc:  # an HEVC encoder is optional in libheif
        pytest.skip(f"pillow-heif cannot encode HEIC here: {exc}")
    assert sniff(data) == ("image/heic", Kind.IMAGE)


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("major", "compatible", "expected"),
    [
        (b"heic", (b"mif1", b"heic"), ("image/heic", Kind.IMAGE)),
        (b"heix", (b"mif1",), ("image/heic", Kind.IMAGE)),
        (b"mif1", (b"heic", b"miaf"), ("image/heic", Kind.IMAGE)),  # codec from compatibles
        (b"mif1", (b"avif", b"miaf"), ("image/avif", Kind.IMAGE)),
        (b"mif1", (b"miaf",), ("image/heif", Kind.IMAGE)),
        (b"msf1", (b"hevc",), ("image/heic-sequence", Kind.IMAGE)),
        (b"msf1", (b"iso8",), ("image/heif-sequence", Kind.IMAGE)),
        (b"avif", (b"mif1", b"miaf", b"MA1B"), ("image/avif", Kind.IMAGE)),
        (b"avis", (b"msf1",), ("image/avif", Kind.IMAGE)),
        (b"isom", (b"isom", b"iso2", b"avc1", b"mp41"), ("video/mp4", Kind.VIDEO)),
        (b"mp42", (b"isom",), ("video/mp4", Kind.VIDEO)),
        (b"qt  ", (b"qt  ",), ("video/quicktime", Kind.VIDEO)),
        (b"M4V ", (b"M4V ", b"mp42"), ("video/x-m4v", Kind.VIDEO)),
        (b"3gp5", (b"3gp5", b"isom"), ("video/3gpp", Kind.VIDEO)),
        (b"3g2a", (), ("video/3gpp2", Kind.VIDEO)),
        (b"M4A ", (b"M4A ", b"mp42", b"isom"), ("audio/mp4", Kind.OTHER)),
        (b"zzzz", (b"mif1",), ("image/heif", Kind.IMAGE)),  # unknown major, HEIF structure
        (b"zzzz", (b"qt  ",), ("video/quicktime", Kind.VIDEO)),
        (b"zzzz", (), ("video/mp4", Kind.VIDEO)),  # unknown flavour: let the video decoder try
    ],
)
def test_iso_bmff_brands(major: bytes, compatible: tuple[bytes, ...], expected) -> None:
    assert sniff(ftyp(major, *compatible)) == expected


def test_brands_after_the_ftyp_box_are_ignored() -> None:
    # "heic" appears in the next box, not among the compatible brands: still a video.
    data = ftyp(b"mp42", b"isom") + b"heic" * 4
    assert sniff(data) == ("video/mp4", Kind.VIDEO)


def test_old_quicktime_without_ftyp() -> None:
    assert sniff(b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat") == ("video/quicktime", Kind.VIDEO)


def ebml(doctype: bytes) -> bytes:
    element = b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    header = b"\x42\x86\x81\x01" + element
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + b"\x18\x53\x80\x67"


def asf(stream_guid: bytes) -> bytes:
    header_guid = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"
    return header_guid + bytes(14) + b"\x91\x07\xdc\xb7" + bytes(36) + stream_guid + bytes(40)


def ts(packets: int, stride: int = 188, lead: int = 0) -> bytes:
    packet = bytes(lead) + b"\x47\x40\x00\x10" + b"\xff" * (stride - lead - 4)
    return packet * packets


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (ebml(b"webm"), "video/webm"),
        (ebml(b"matroska"), "video/x-matroska"),
        (b"\x1a\x45\xdf\xa3" + bytes(20), "video/x-matroska"),  # DocType not in view
        (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv"),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01", "video/mpeg"),
        (ts(5), "video/mp2t"),
        (ts(5, stride=192, lead=4), "video/mp2t"),
        (
            asf(b"\xc0\xef\x19\xbc\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"),
            "video/x-ms-wmv",
        ),
        (asf(bytes(16)), "video/x-ms-asf"),
    ],
)
def test_video_containers(data: bytes, mime: str) -> None:
    assert sniff(data) == (mime, Kind.VIDEO)


def test_wma_is_audio() -> None:
    wma = asf(b"\x40\x9e\x69\xf8\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b")
    assert sniff(wma) == ("audio/x-ms-wma", Kind.OTHER)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_bytes(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        info = tarfile.TarInfo("a.jpg")
        data = image_bytes(small(), "JPEG")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sevenzip_bytes() -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        archive.writestr(b"hello", "hello.txt")
    return buf.getvalue()


def zstd_bytes() -> bytes:
    zstd = pytest.importorskip("backports.zstd")
    return zstd.compress(b"hello")


@pytest.mark.parametrize(
    ("make", "mime"),
    [
        (lambda: zip_bytes({"a.jpg": image_bytes(small(), "JPEG")}), "application/zip"),
        (lambda: zip_bytes({}), "application/zip"),  # empty: starts with the end record
        (lambda: b"PK\x07\x08" + bytes(30), "application/zip"),
        # A DOCX is a zip; reporting it as one is what lets embedded pictures be unpacked.
        (lambda: zip_bytes({"[Content_Types].xml": b"<Types/>"}), "application/zip"),
        (lambda: tar_bytes(tarfile.USTAR_FORMAT), "application/x-tar"),
        (lambda: tar_bytes(tarfile.PAX_FORMAT), "application/x-tar"),
        (lambda: tar_bytes(tarfile.GNU_FORMAT), "application/x-tar"),
        (lambda: gzip.compress(b"hello"), "application/gzip"),
        (lambda: bz2.compress(b"hello"), "application/x-bzip2"),
        (lambda: bz2.compress(b""), "application/x-bzip2"),
        (lambda: lzma.compress(b"hello"), "application/x-xz"),
        (sevenzip_bytes, "application/x-7z-compressed"),
        (zstd_bytes, "application/zstd"),
        (lambda: b"Rar!\x1a\x07\x00\xcf\x90\x73\x00\x00", "application/vnd.rar"),
        (lambda: b"Rar!\x1a\x07\x01\x00\x33\x92\xb5\xe5", "application/vnd.rar"),
    ],
)
def test_archives(make, mime: str) -> None:
    assert sniff(make()[:SNIFF_BYTES]) == (mime, Kind.ARCHIVE)
    assert is_archive_mime(mime)


def test_is_archive_mime_rejects_media_and_none() -> None:
    assert not is_archive_mime("image/jpeg")
    assert not is_archive_mime("application/pdf")
    assert not is_archive_mime(None)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "application/x-ole-storage"),
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl}", "application/rtf"),
    ],
)
def test_documents(data: bytes, mime: str) -> None:
    assert sniff(data) == (mime, Kind.DOCUMENT)


@pytest.mark.parametrize(
    "data",
    [
        b"hello world\n",
        "Grüße aus Köln — ünïcödé\n".encode(),
        ("é" * 2000).encode()[: SNIFF_BYTES - 1],  # head cuts a character in two
        "plain text in UTF-16\r\n".encode("utf-16"),
        "Caf\xe9 cr\xe8me, na\xefve r\xe9sum\xe9 and more plain words".encode("cp1252"),
        b"GGGG",  # starts like an MPEG-TS sync byte, but it is text
    ],
)
def test_text(data: bytes) -> None:
    assert sniff(data) == ("text/plain", Kind.OTHER)


def test_empty_and_unknown() -> None:
    assert sniff(b"") == ("application/x-empty", Kind.OTHER)
    noise = random.Random(7).randbytes(SNIFF_BYTES)
    assert sniff(noise) == ("application/octet-stream", Kind.OTHER)
    assert sniff(b"\x00\x01\x02\x03binary") == ("application/octet-stream", Kind.OTHER)


def test_extension_is_never_consulted(tmp_path) -> None:
    """Content decides: a JPEG called `.dat`, a PNG called `.jpg`, a zip called `.txt`."""
    cases = {
        "evidence.dat": (image_bytes(small(), "JPEG"), "image/jpeg"),
        "holiday.jpg": (image_bytes(small(), "PNG"), "image/png"),
        "notes.txt": (zip_bytes({"x": b"y"}), "application/zip"),
    }
    for name, (data, mime) in cases.items():
        (tmp_path / name).write_bytes(data)
        with open(tmp_path / name, "rb") as f:
            assert sniff(f.read(SNIFF_BYTES))[0] == mime


def test_only_the_head_is_read() -> None:
    jpeg = image_bytes(gradient_image(1, (640, 480)), "JPEG")
    assert len(jpeg) > SNIFF_BYTES
    assert sniff(jpeg) == sniff(jpeg[:SNIFF_BYTES]) == ("image/jpeg", Kind.IMAGE)
    assert sniff(bytearray(jpeg)) == sniff(memoryview(jpeg)) == ("image/jpeg", Kind.IMAGE)


@given(st.binary(max_size=SNIFF_BYTES + 16))
def test_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    mime, kind = sniff(data)
    assert isinstance(kind, Kind)
    assert isinstance(mime, str) and "/" in mime


@given(
    st.sampled_from([b"RIFF", b"\x1a\x45\xdf\xa3", b"\x00\x00\x00\x18ftyp", b"BM", b"BZh9"]),
    st.binary(max_size=200),
)
def test_never_raises_on_truncated_container_headers(prefix: bytes, rest: bytes) -> None:
    _, kind = sniff(prefix + rest)
    assert isinstance(kind, Kind)


# --- archives without the usual magic at offset 0 -------------------------------------------


def raw_tar_header(name: bytes, size: int, magic: bytes, typeflag: bytes = b"\0") -> bytes:
    """A tar header as old writers made it, byte by byte: V7 (no magic, typeflag NUL for a
    file), or a `magic` field (offset 257, 8 bytes) in a variant spelling. The checksum is
    the sum of the block with its own field as spaces, written as 6 octal digits, NUL, space
    (V7's `tar.c`)."""
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"000644 \0"
    block[108:116] = b"001750 \0"
    block[116:124] = b"001750 \0"
    block[124:136] = b"%011o " % size
    block[136:148] = b"%011o " % 1_000_000_000
    block[148:156] = b" " * 8
    block[156:157] = typeflag
    block[257 : 257 + len(magic)] = magic
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def raw_tar(name: bytes, data: bytes, magic: bytes = b"", typeflag: bytes = b"\0") -> bytes:
    padded = data + bytes(-len(data) % 512)
    return raw_tar_header(name, len(data), magic, typeflag) + padded + bytes(1024)


@pytest.mark.parametrize(
    "magic",
    [b"", b"ustar\0\0\0", b"ustar\0  ", b"ustar \0\0"],
    ids=["v7", "ustar-nul-version", "ustar-space-version", "ustar-space"],
)
def test_tars_without_the_posix_or_gnu_magic(magic):
    assert sniff(raw_tar(b"notes.txt", b"hello\n", magic)) == ("application/x-tar", Kind.ARCHIVE)


def test_a_block_with_a_bad_checksum_is_not_a_tar():
    data = bytearray(raw_tar(b"notes.txt", b"hello\n"))
    data[0] ^= 1
    assert sniff(bytes(data))[1] is not Kind.ARCHIVE


@pytest.mark.parametrize(
    "prefix",
    [bytes(1000), b"MZ\x90\x00" + bytes(range(256)) * 8],
    ids=["zero-padded", "sfx-stub"],
)
def test_zip_after_leading_data(prefix):
    data = prefix + zip_bytes({"a.txt": b"hello"})
    assert sniff(data) == ("application/zip", Kind.ARCHIVE)


def test_stray_local_header_signature_in_unknown_data_is_not_a_zip():
    data = bytes(range(1, 256)) * 4 + b"PK\x03\x04" + b"\xff" * 26 + bytes(range(1, 256))
    assert sniff(data)[1] is not Kind.ARCHIVE
