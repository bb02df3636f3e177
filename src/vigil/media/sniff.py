"""Content type detection from the first bytes of a file: magic numbers, never extensions.

Pure Python and table-driven, so it behaves the same on every worker and needs no libmagic.
"""

from __future__ import annotations

import re
import struct
import tarfile

from vigil.model import Kind

SNIFF_BYTES = 4096
"""How many leading bytes `sniff` needs: tar's magic sits at 257, MPEG-TS needs three packets."""

OCTET_STREAM = "application/octet-stream"
EMPTY = "application/x-empty"
TEXT = "text/plain"

# (offset, magic, mime, kind), checked in order; the first match wins. Longer, more specific
# magics come before shorter ones that share a prefix.
_MAGIC: tuple[tuple[int, bytes, str, Kind], ...] = (
    # images
    (0, b"\xff\xd8\xff", "image/jpeg", Kind.IMAGE),
    (0, b"\x89PNG\r\n\x1a\n", "image/png", Kind.IMAGE),
    (0, b"GIF87a", "image/gif", Kind.IMAGE),
    (0, b"GIF89a", "image/gif", Kind.IMAGE),
    (0, b"II*\x00", "image/tiff", Kind.IMAGE),  # also most camera RAW (CR2, NEF, DNG, ARW)
    (0, b"MM\x00*", "image/tiff", Kind.IMAGE),
    (0, b"II+\x00", "image/tiff", Kind.IMAGE),  # BigTIFF
    (0, b"MM\x00+", "image/tiff", Kind.IMAGE),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jp2", Kind.IMAGE),
    (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n", "image/jxl", Kind.IMAGE),
    (0, b"\xff\x0a", "image/jxl", Kind.IMAGE),  # bare JPEG XL codestream
    (0, b"8BPS", "image/vnd.adobe.photoshop", Kind.IMAGE),
    (0, b"\xff\x4f\xff\x51", "image/x-jp2-codestream", Kind.IMAGE),  # bare JPEG 2000
    (0, b"qoif", "image/x-qoi", Kind.IMAGE),
    (0, b"DDS \x7c\x00\x00\x00", "image/vnd.ms-dds", Kind.IMAGE),  # magic + header size 124
    (0, b"/* XPM */", "image/x-xpixmap", Kind.IMAGE),
    (0, b"icns", "image/x-icns", Kind.IMAGE),
    (0, b"BLP1", "image/x-blp", Kind.IMAGE),
    (0, b"BLP2", "image/x-blp", Kind.IMAGE),
    (0, b"\xb1\x68\xde\x3a", "image/x-dcx", Kind.IMAGE),
    (0, b"\x59\xa6\x6a\x95", "image/x-sun-raster", Kind.IMAGE),
    # video
    (0, b"FLV\x01", "video/x-flv", Kind.VIDEO),
    (0, b"\x00\x00\x01\xba", "video/mpeg", Kind.VIDEO),  # MPEG program stream (VOB, .mpg)
    (0, b"\x00\x00\x01\xb3", "video/mpeg", Kind.VIDEO),  # MPEG-1/2 elementary video stream
    # archives and compressed streams (the evidence layer opens all of them)
    (0, b"PK\x03\x04", "application/zip", Kind.ARCHIVE),
    (0, b"PK\x05\x06", "application/zip", Kind.ARCHIVE),  # empty archive
    (0, b"PK\x07\x08", "application/zip", Kind.ARCHIVE),  # spanned archive
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", Kind.ARCHIVE),
    (0, b"Rar!\x1a\x07\x01\x00", "application/vnd.rar", Kind.ARCHIVE),  # RAR 5
    (0, b"Rar!\x1a\x07\x00", "application/vnd.rar", Kind.ARCHIVE),  # RAR 1.5-4
    (257, b"ustar\x0000", "application/x-tar", Kind.ARCHIVE),  # POSIX
    (257, b"ustar  \x00", "application/x-tar", Kind.ARCHIVE),  # old GNU
    (0, b"\x1f\x8b\x08", "application/gzip", Kind.ARCHIVE),
    (0, b"\xfd7zXZ\x00", "application/x-xz", Kind.ARCHIVE),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd", Kind.ARCHIVE),
    (0, b"MSCF\x00\x00\x00\x00", "application/vnd.ms-cab-compressed", Kind.ARCHIVE),
    # documents
    (0, b"%PDF-", "application/pdf", Kind.DOCUMENT),
    # OLE2 compound file: .doc/.xls/.ppt/.msg, and also Windows Thumbs.db thumbnail caches
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", Kind.DOCUMENT),
    (0, b"{\\rtf", "application/rtf", Kind.DOCUMENT),
    # audio: recognised so it is not mistaken for something else, but not triaged as media
    (0, b"ID3", "audio/mpeg", Kind.OTHER),
    (0, b"fLaC", "audio/flac", Kind.OTHER),
    (0, b"OggS", "application/ogg", Kind.OTHER),
)

_TAR = "application/x-tar"
_ZIP = "application/zip"
_ZIP_METHODS = frozenset({0, 8, 9, 12, 14, 93, 95, 98, 99})  # stored … zstd, xz, PPMd, AES
_BZIP2 = "application/x-bzip2"  # detected by `_bzip2`: "BZh" alone is too weak for the table
_ARCHIVE_MIMES = frozenset({_BZIP2, *(mime for _, _, mime, kind in _MAGIC if kind is Kind.ARCHIVE)})

# RIFF containers: the form type at offset 8 says what is inside.
_RIFF: dict[bytes, tuple[str, Kind]] = {
    b"WEBP": ("image/webp", Kind.IMAGE),
    b"AVI ": ("video/x-msvideo", Kind.VIDEO),
    b"WAVE": ("audio/wav", Kind.OTHER),
}

# ISO base media file format (MP4, QuickTime, HEIF, AVIF) brands from the `ftyp` box.
# Image brands that name the codec decide on their own, wherever they appear.
_IMAGE_BRANDS: dict[bytes, str] = {
    b"avif": "image/avif",
    b"avis": "image/avif",  # AVIF image sequence
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"hevx": "image/heic-sequence",
    b"hevm": "image/heic-sequence",
    b"hevs": "image/heic-sequence",
    b"crx ": "image/x-canon-cr3",
}
# Codec-neutral HEIF structure brands: an image, but the codec must come from other brands.
_HEIF_BRANDS: dict[bytes, str] = {
    b"mif1": "image/heif",
    b"mif2": "image/heif",
    b"miaf": "image/heif",
    b"msf1": "image/heif-sequence",
}
# fmt: off
_MP4_BRANDS = (
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"mp71", b"avc1", b"dash", b"f4v ", b"f4p ", b"mmp4", b"MSNV",
    b"NDAS", b"NDSC", b"NDSH", b"NDSM", b"NDSP", b"NDSS", b"NDXC", b"NDXH", b"XAVC",
)
# fmt: on
_AV_BRANDS: dict[bytes, tuple[str, Kind]] = {
    b"qt  ": ("video/quicktime", Kind.VIDEO),
    b"M4V ": ("video/x-m4v", Kind.VIDEO),
    b"M4VH": ("video/x-m4v", Kind.VIDEO),
    b"M4VP": ("video/x-m4v", Kind.VIDEO),
    b"M4A ": ("audio/mp4", Kind.OTHER),
    b"M4B ": ("audio/mp4", Kind.OTHER),
    b"M4P ": ("audio/mp4", Kind.OTHER),
    b"F4A ": ("audio/mp4", Kind.OTHER),
    **{brand: ("video/mp4", Kind.VIDEO) for brand in _MP4_BRANDS},
}
# QuickTime files written before `ftyp` existed open directly with one of these atoms.
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"pnot"})

_EBML = b"\x1a\x45\xdf\xa3"
_ASF = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"
_ASF_VIDEO_STREAM = b"\xc0\xef\x19\xbc\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
_ASF_AUDIO_STREAM = b"\x40\x9e\x69\xf8\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_TS_PACKET = 188
_TEXT_CONTROLS = frozenset(b"\t\n\v\f\r\x1b")


def sniff(head: bytes) -> tuple[str, Kind]:
    """(mime, kind) of a file from its first `SNIFF_BYTES` bytes (more are ignored).

    Zip-based formats (DOCX/XLSX/ODT/EPUB, APK/JAR) are deliberately reported as
    `application/zip` / ARCHIVE: the evidence layer then opens them like any zip, which is how
    pictures embedded in office documents reach the image pipeline. Never raises.
    """
    head = bytes(head[:SNIFF_BYTES])
    if not head:
        return EMPTY, Kind.OTHER
    for offset, magic, mime, kind in _MAGIC:
        if head.startswith(magic, offset):
            return mime, kind
    for probe in (_riff, _iso_bmff, _matroska, _asf, _bmp, _picture, _bzip2, _tar, _prefixed_zip):
        found = probe(head)
        if found is not None:
            return found
    if _looks_like_text(head):
        return TEXT, Kind.OTHER
    # Last: a sync byte every 188 bytes is a weak signal, and "G" is common in text.
    return _mpeg_ts(head) or (OCTET_STREAM, Kind.OTHER)


def is_archive_mime(mime: str | None) -> bool:
    """True for the container types the evidence layer unpacks (zip, 7z, tar, gzip …)."""
    return mime in _ARCHIVE_MIMES


def _riff(head: bytes) -> tuple[str, Kind] | None:
    if head.startswith(b"RIFF") and len(head) >= 12:
        return _RIFF.get(head[8:12])
    return None


def _iso_bmff(head: bytes) -> tuple[str, Kind] | None:
    """Decide image (HEIC/AVIF) vs video (MP4/MOV) from the major and compatible brands."""
    box = head[4:8]
    if box in _QT_ATOMS:
        return "video/quicktime", Kind.VIDEO
    if box != b"ftyp" or len(head) < 12:
        return None
    (size,) = struct.unpack(">I", head[:4])
    major = head[8:12]
    # Compatible brands run from offset 16 to the end of the box (a bogus size: use the head).
    end = min(size if size >= 16 else len(head), len(head))
    compatible = [head[i : i + 4] for i in range(16, end - 3, 4)]
    brands = [major, *compatible]
    for brand in brands:
        if brand in _IMAGE_BRANDS:
            return _IMAGE_BRANDS[brand], Kind.IMAGE
    if major in _HEIF_BRANDS:
        return _HEIF_BRANDS[major], Kind.IMAGE
    if major in _AV_BRANDS:
        return _AV_BRANDS[major]
    if major.startswith((b"3gp", b"3gs", b"3ge", b"3gg")):
        return "video/3gpp", Kind.VIDEO
    if major.startswith(b"3g2"):
        return "video/3gpp2", Kind.VIDEO
    for brand in compatible:
        if brand in _HEIF_BRANDS:
            return _HEIF_BRANDS[brand], Kind.IMAGE
    for brand in compatible:
        if brand in _AV_BRANDS:
            return _AV_BRANDS[brand]
    # An ftyp box with brands we do not know: nearly always some MP4 flavour. Treating it as
    # video means the frame decoder gets a chance; if it cannot, that is an error row.
    return "video/mp4", Kind.VIDEO


def _matroska(head: bytes) -> tuple[str, Kind] | None:
    if not head.startswith(_EBML):
        return None
    doctype = _ebml_doctype(head)
    if doctype == b"webm":
        return "video/webm", Kind.VIDEO
    return "video/x-matroska", Kind.VIDEO


def _ebml_doctype(head: bytes) -> bytes | None:
    """The EBML DocType string (element 0x4282) if it lies within the first bytes."""
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head):
        return None
    first = head[at + 2]
    width = 8 - first.bit_length() + 1  # EBML variable-length integer: leading zeros + 1
    if not 1 <= width <= 8 or at + 2 + width > len(head):
        return None
    length = first & (0xFF >> width)
    for b in head[at + 3 : at + 2 + width]:
        length = (length << 8) | b
    start = at + 2 + width
    return head[start : start + length].rstrip(b"\x00")


def _asf(head: bytes) -> tuple[str, Kind] | None:
    if not head.startswith(_ASF):
        return None
    # The stream properties objects sit in the header; their media type says video or audio.
    if _ASF_VIDEO_STREAM in head:
        return "video/x-ms-wmv", Kind.VIDEO
    if _ASF_AUDIO_STREAM in head:
        return "audio/x-ms-wma", Kind.OTHER
    return "video/x-ms-asf", Kind.VIDEO


def _bmp(head: bytes) -> tuple[str, Kind] | None:
    # "BM" alone is too weak (plenty of text starts with it); the DIB header size is not.
    if head.startswith(b"BM") and len(head) >= 18:
        (dib_size,) = struct.unpack("<I", head[14:18])
        if dib_size in _BMP_DIB_SIZES:
            return "image/bmp", Kind.IMAGE
    return None


_NETPBM = {
    **dict.fromkeys(b"14", "image/x-portable-bitmap"),
    **dict.fromkeys(b"25", "image/x-portable-graymap"),
    **dict.fromkeys(b"36", "image/x-portable-pixmap"),
    **dict.fromkeys(b"f", "image/x-portable-floatmap"),
}
# Magic, then width and height (comments allowed): "P1 " alone also starts plenty of text.
_NETPBM_HEADER = re.compile(rb"^P[1-6f](?:\s+|#[^\n]*\n)+\d+(?:\s+|#[^\n]*\n)+\d+\s")
_XBM_DEFINE = re.compile(rb"^\n?#define[ \t]+\S*_width[ \t]+\d")


def _picture(head: bytes) -> tuple[str, Kind] | None:
    """Image formats whose few magic bytes need a second field to tell them from text or
    from other binaries (the decoders accept on the magic alone)."""
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 22:
        # ICO/CUR directory: 1..255 images, the first entry's reserved byte zero.
        (count,) = struct.unpack_from("<H", head, 4)
        if 0 < count < 256 and head[9] == 0:
            mime = "image/vnd.microsoft.icon" if head[2] == 1 else "image/x-win-bitmap"
            return mime, Kind.IMAGE
    if _NETPBM_HEADER.match(head):
        return _NETPBM[head[1]], Kind.IMAGE
    if head[:2] == b"\x01\xda" and len(head) >= 4 and head[2] in (0, 1) and head[3] in (1, 2):
        return "image/x-sgi", Kind.IMAGE  # storage (verbatim/RLE), bytes per channel
    # PCX: version, RLE encoding, bits per pixel
    if head[:1] == b"\x0a" and len(head) >= 4 and head[1] in (0, 2, 3, 5) and head[2] == 1:
        return ("image/vnd.zbrush.pcx", Kind.IMAGE) if head[3] in (1, 2, 4, 8) else None
    if _XBM_DEFINE.match(head):
        return "image/x-xbitmap", Kind.IMAGE
    return None


def _bzip2(head: bytes) -> tuple[str, Kind] | None:
    # "BZh" + block size digit + the block magic (pi) or the end-of-stream magic (sqrt pi).
    if (
        len(head) >= 10
        and head.startswith(b"BZh")
        and 0x31 <= head[3] <= 0x39
        and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
    ):
        return _BZIP2, Kind.ARCHIVE
    return None


def _tar(head: bytes) -> tuple[str, Kind] | None:
    """Any tar header tarfile accepts: old V7 tars have no magic and star/other writers use
    variants, so the checksum (8 octal digits over the whole block) decides, as in tarfile."""
    if len(head) < tarfile.BLOCKSIZE or not head[0]:
        return None
    try:
        tarfile.TarInfo.frombuf(head[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except (tarfile.TarError, ValueError, OverflowError, LookupError):
        return None
    return _TAR, Kind.ARCHIVE


_ZIP_LOCAL = struct.Struct("<4sHHHHHLLLHH")


def _prefixed_zip(head: bytes) -> tuple[str, Kind] | None:
    """A zip whose first local header follows other data (a self-extractor's stub, padding):
    zipfile finds it from the end-of-central-directory record, so it is opened as a zip. The
    header must be plausible (a known version and method, a name) for a stray "PK\3\4" in
    data nothing else recognised not to count."""
    at = head.find(b"PK\x03\x04", 1)
    while 0 < at <= len(head) - _ZIP_LOCAL.size:
        _, version, _, method, *_, name_len, _ = _ZIP_LOCAL.unpack_from(head, at)
        if version <= 63 and method in _ZIP_METHODS and 0 < name_len <= 1024:
            return _ZIP, Kind.ARCHIVE
        at = head.find(b"PK\x03\x04", at + 1)
    return None


_ZIP_END = struct.Struct("<4sHHHHLLH")
ZIP_TAIL_BYTES = 0xFFFF + _ZIP_END.size
"""How many trailing bytes `zip_tail` needs: the end record and the longest comment."""


def zip_tail(tail: bytes, size: int) -> bool:
    """True when the last `ZIP_TAIL_BYTES` of a file of `size` bytes hold a zip's
    end-of-central-directory record, as zipfile finds it: a self-extractor's stub (30-500 KB
    of executable) hides every local header from `sniff`, and only the end says "zip". The
    record is the last one; its comment must fit in the file (bytes may follow it, as a
    signature appended to a signed self-extractor does) and its central directory must lie
    before it, so a stray "PK\5\6" in data does not count."""
    tail = tail[-ZIP_TAIL_BYTES:]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _ZIP_END.size > len(tail):
        return False
    _, disk, cd_disk, here, total, cd_size, cd_offset, comment = _ZIP_END.unpack_from(tail, at)
    end_offset = size - len(tail) + at
    if at + _ZIP_END.size + comment > len(tail) or disk != cd_disk or here > total:
        return False
    if 0xFFFFFFFF in (cd_size, cd_offset):  # zip64: the locator sits just before the record
        return tail.startswith(b"PK\x06\x07", at - 20) if at >= 20 else False
    return cd_size + cd_offset <= end_offset and (total == 0) == (cd_size == 0)


def _mpeg_ts(head: bytes) -> tuple[str, Kind] | None:
    """MPEG transport stream (0x47 every 188 bytes) or M2TS/AVCHD (4-byte prefix, 192 bytes)."""
    for start, stride in ((0, _TS_PACKET), (4, _TS_PACKET + 4)):
        positions = range(start, min(len(head), start + 5 * stride), stride)
        if len(positions) >= 3 and all(head[p] == 0x47 for p in positions):
            return "video/mp2t", Kind.VIDEO
    return None


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 (or UTF-16 with a BOM) without binary control characters."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if head[0] == 0xFF else "utf-16-be"
        body = head[2 : 2 + (len(head) - 2) // 2 * 2]
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            return False
        return not any(ord(c) < 0x20 and ord(c) not in _TEXT_CONTROLS for c in text)
    if any(b < 0x20 and b not in _TEXT_CONTROLS for b in head) or 0x7F in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may cut a multi-byte character in two; only an error at the very end is fine.
        if exc.start < len(head) - 3:
            return _mostly_printable_8bit(head)
    return True


def _mostly_printable_8bit(head: bytes) -> bool:
    """Legacy 8-bit text (cp1252, latin-1): no controls (checked already), mostly ASCII."""
    high = sum(1 for b in head if b >= 0x80)
    return high * 4 <= len(head)
