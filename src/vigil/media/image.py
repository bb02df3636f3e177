"""Decode still images for perceptual hashing: format allow-list, bomb and truncation checks,
the reduced ("only as large as PDQ needs") decode and the conversion to RGB.

The reduction convention (see `decode_for_hashing` and `benchmarks/pdq_convention.py`):
an image whose short side is at least twice `Limits.pdq_decode_size` is shrunk by the largest
power of two that keeps its short side at or above that size — a JPEG by DCT scaling inside
libjpeg (`Image.draft`, 1/2, 1/4 or 1/8), anything else by an integer box reduction
(`Image.reduce`) of the RGB full decode. Everything smaller is hashed from the untouched full
decode: bit-exact with python-threatexchange/HMA, and for images of at most 512 px a side also
with Meta's C++ tool (which squashes larger ones to 512x512 by nearest neighbour).
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from vigil.config import Limits
from vigil.errors import ImageError

# Pillow format names we open: every picture format the installed Pillow (wheel) decodes and
# `vigil.media.sniff` recognises by content. Left out: EPS (runs Ghostscript), TGA, SPIDER and
# the other formats without a signature, stubs that need an external handler (BUFR, GRIB,
# HDF5, WMF), and FITS, FLI, GBR, IM, IPTC, MCIDAS, MIC, MSP, PCD, PIXAR, XVTHUMB (not photos).
# HEIF is pillow-heif's. The JPEG opener also yields "MPO" for the many camera JPEGs that carry
# a multi-picture (CIPA DC-007) index; those decode (frame 0) like any JPEG.
SUPPORTED_FORMATS: tuple[str, ...] = (
    *("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF", "JPEG2000"),
    *("ICO", "CUR", "ICNS", "PPM", "QOI", "SGI", "DDS", "XBM", "XPM", "PSD"),
    *("BLP", "DCX", "SUN", "PCX"),
)
_DCT_SCALED = frozenset({"JPEG", "MPO"})

# File signatures of the supported formats, to tell "damaged image" from "not an image" when
# Pillow cannot even identify the bytes (e.g. a JPEG cut inside its headers).
_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (8, b"WEBP"),
    (0, b"BM"),
    (0, b"II*\x00"),
    (0, b"MM\x00*"),
    (0, b"II+\x00"),
    (0, b"MM\x00+"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n"),  # JPEG 2000 (JP2)
    (0, b"\xff\x4f\xff\x51"),  # JPEG 2000 codestream
    (0, b"qoif"),
    (0, b"DDS \x7c\x00\x00\x00"),
    (0, b"/* XPM */"),
    (0, b"icns"),
    (0, b"8BPS"),
    (0, b"\x59\xa6\x6a\x95"),  # Sun raster
)
ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class _Undo:
    method: Image.Transpose
    swaps: bool  # the stored picture is the displayed one turned a quarter


# The inverse of the transposition ImageOps.exif_transpose applies for each orientation.
_TIFF_UNDO: dict[object, _Undo] = {
    2: _Undo(Image.Transpose.FLIP_LEFT_RIGHT, False),
    3: _Undo(Image.Transpose.ROTATE_180, False),
    4: _Undo(Image.Transpose.FLIP_TOP_BOTTOM, False),
    5: _Undo(Image.Transpose.TRANSPOSE, True),
    6: _Undo(Image.Transpose.ROTATE_90, True),
    7: _Undo(Image.Transpose.TRANSVERSE, True),
    8: _Undo(Image.Transpose.ROTATE_270, True),
}
_ISO_IMAGE_BRANDS = frozenset(
    {b"avif", b"avis", b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
)


@dataclass(slots=True)
class DecodedImage:
    """One decoded still image, ready for the perceptual hashers.

    `image` is an RGB image, possibly reduced (see the module docstring); `width` and `height`
    are the ORIGINAL stored pixel dimensions (EXIF orientation is not applied: no PDQ
    reference applies it). `original` is the opened Pillow image (pixels loaded, possibly at the
    reduced size) kept for `vigil.media.exif.extract_exif`, which reads `getexif()` and
    `info`; do not use its pixels for hashing. `frames` is Pillow's `n_frames` (for a GIF that
    walks every block of the file; None when a damaged block stops the count); only the first
    frame is decoded and hashed.
    """

    image: Image.Image
    width: int
    height: int
    format: str
    mode: str
    frames: int | None
    original: Image.Image


@functools.cache
def _register_heif() -> None:
    """Register pillow-heif's opener once per process, on first use (not at import time)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def decode_for_hashing(data: bytes, *, limits: Limits) -> DecodedImage:
    """Decode `data` (a whole image file) into an RGB image sized for PDQ.

    Raises `ImageError` with one of the stable reasons "empty image", "unsupported image",
    "decompression bomb", "truncated image", "corrupt image", "image too large" (out of
    memory) — and nothing else, whatever the bytes.

    Decompression bombs: the declared pixel count is checked against
    `limits.max_image_pixels` right after the header is parsed, before any pixel is decoded.
    Pillow's own process-wide check (`PIL.Image.MAX_IMAGE_PIXELS`) is left as it is: its
    DecompressionBombWarning is silenced here (only inside this call) because our limit
    decides, and its DecompressionBombError (more than twice Pillow's limit) is reported as
    "decompression bomb" too. So a configured limit above 2 × `PIL.Image.MAX_IMAGE_PIXELS`
    (default 178,956,970, the same as ours) only takes effect if the process raises Pillow's.
    `ImageFile.LOAD_TRUNCATED_IMAGES` is never touched and must stay False: a truncated file is
    an error record, not a grey-padded hash.
    """
    if not data:
        raise ImageError("empty image", "0 bytes")
    try:
        with warnings.catch_warnings():
            # Our limit decides about bombs; other warnings are left to the caller, which
            # keeps them on the record (`vigil.media.chatter`).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _decode(data, limits)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError("decompression bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        if _looks_like_image(data):
            reason = "truncated image" if _declares_more_bytes(data) else "corrupt image"
            raise ImageError(reason, "recognised signature but unreadable header") from exc
        raise ImageError("unsupported image", "not a supported image format") from exc
    except MemoryError as exc:
        raise ImageError("image too large", "out of memory while decoding") from exc
    except Exception as exc:  # hostile bytes reach odd corners of every decoder
        detail = f"{type(exc).__name__}: {exc}"
        if _is_truncation(exc, data):
            raise ImageError("truncated image", detail) from exc
        raise ImageError("corrupt image", detail) from exc


def open_image(data: bytes) -> Image.Image:
    """Pillow's opener over `data` with the supported formats: headers parsed, no pixel
    decoded. Raises what Pillow raises (`decode_for_hashing` translates it)."""
    _register_heif()
    return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)


def _decode(data: bytes, limits: Limits) -> DecodedImage:
    img = open_image(data)
    width, height = img.size
    fmt = img.format or "unknown"
    # Pillow's TIFF opener reports the size as displayed and its load applies (then deletes)
    # the Orientation tag; undone here so every format hashes its stored pixels.
    undo = _TIFF_UNDO.get(img.tag_v2.get(ORIENTATION)) if fmt == "TIFF" else None
    if undo is not None and undo.swaps:
        width, height = height, width
    if width <= 0 or height <= 0:
        raise ImageError("empty image", f"{width}x{height} pixels")
    if width * height > limits.max_image_pixels:
        raise ImageError(
            "decompression bomb",
            f"{width}x{height} = {width * height} pixels > limit {limits.max_image_pixels}",
        )
    mode = img.mode
    frames = _frame_count(img)
    target = limits.pdq_decode_size
    if fmt in _DCT_SCALED and target > 0 and min(width, height) >= 2 * target:
        # libjpeg picks the largest of 1/2, 1/4, 1/8 that keeps both sides >= target.
        img.draft("RGB", (target, target))
    img.load()
    rgb = _to_rgb(img if undo is None else img.transpose(undo.method))
    factor = _reduction_factor(min(rgb.size), target)
    if factor > 1:
        rgb = rgb.reduce(factor)
    return DecodedImage(
        image=rgb, width=width, height=height, format=fmt, mode=mode, frames=frames, original=img
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    """Plain `convert("RGB")`, as python-threatexchange does where it converts: alpha is
    dropped, a palette is looked up (never hashed as indices), CMYK/YCbCr/LAB/HSV are
    converted, 16-bit and float grey are clipped to 0-255. Pillow has no direct conversion
    for premultiplied grey+alpha ("La", from TIFF), so that goes through "LA"."""
    if img.mode == "RGB":
        return img
    if img.mode == "La":
        img = img.convert("LA")
    return img.convert("RGB")


def _reduction_factor(short_side: int, target: int) -> int:
    """Largest power of two k with short_side // k >= target (1 when no reduction applies)."""
    if target <= 0:
        return 1
    k = 1
    while short_side // (2 * k) >= target:
        k *= 2
    return k


def _frame_count(img: Image.Image) -> int | None:
    """`n_frames` without letting a damaged later frame fail the first one.

    Counting GIF frames walks the whole file; a bad block on the way leaves the count unknown
    and the image rewound to frame 0, which is the one we decode.
    """
    try:
        return int(getattr(img, "n_frames", 1))
    except Exception:
        if img.tell() != 0:
            img.seek(0)
        return None


def _looks_like_image(data: bytes) -> bool:
    if data[4:8] == b"ftyp":  # ISO BMFF: HEIF/AVIF, but also MP4/MOV, which are not images
        return data[8:12] in _ISO_IMAGE_BRANDS
    return any(data[off : off + len(sig)] == sig for off, sig in _MAGIC)


_TRUNCATION_WORDS = ("truncated", "end of file", "premature end", "unexpected end")


def _is_truncation(exc: BaseException, data: bytes) -> bool:
    text = str(exc).lower()
    return (
        isinstance(exc, EOFError)
        or any(word in text for word in _TRUNCATION_WORDS)
        or _declares_more_bytes(data)
    )


def _declares_more_bytes(data: bytes) -> bool:
    """The container header says the file is longer than it is (RIFF/WebP size field; a
    TIFF whose first directory lies past the end, as when the tail holding it is missing)."""
    if data[:4] == b"RIFF" and len(data) >= 12:
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if data[:4] in (b"II*\x00", b"MM\x00*") and len(data) >= 8:
        order = "little" if data[:2] == b"II" else "big"
        return int.from_bytes(data[4:8], order) >= len(data)
    return False
