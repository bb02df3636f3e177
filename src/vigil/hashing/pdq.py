"""PDQ perceptual hash (Meta's reference C++ through `pdqhash`): the hash, its quality and the
eight dihedral hashes (of the really rotated and mirrored pixels, see `pdq_hash`), plus the
hex/bytes/Hamming helpers every PDQ consumer shares.

Text form is ThreatExchange's: 64 lowercase hex digits, the 256 bits in pdqhash's output
order, the first bit being the most significant bit of the first hex digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

from vigil.errors import ImageError

NAME = "pdq"
# The convention (named per file by `vigil.hashing.conventions.pdq_version`): Meta's PDQ as
# built in the installed pdqhash, on an RGB conversion, after the power-of-two reduction to a
# short side of at least `Limits.pdq_decode_size` described in `vigil.media.image`. Bit-exact
# with python-threatexchange/HMA when the short side is under 1024 px, and also with Meta's
# C++ tool at most 512 px a side; p90 6 bits from either on 12 MP photos
# (benchmarks/pdq_convention.py).

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
HASH_HEX = HASH_BITS // 4

# Order of `PdqResult.dihedral`, pdqhash's (and the C++ pdqDihedralHash256es) order. Each entry
# is the hash the image would have after that transform, in Pillow's terms:
# rot90 = Transpose.ROTATE_90 (counter-clockwise), rot180, rot270 = ROTATE_270,
# flipx = FLIP_TOP_BOTTOM (mirror in the x axis), flipy = FLIP_LEFT_RIGHT,
# flip_plus1 = TRANSPOSE (main diagonal), flip_minus1 = TRANSVERSE (anti-diagonal).
# They match the C++ reg-test files dih/bridge-N-* (the photo really transformed) in this order.
DIHEDRAL_ORDER: tuple[str, ...] = (
    "original",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


# How `pdq_hash` gets the eight dihedral hashes from four PDQ computations. PDQ derives the
# hash of the TRANSPOSED picture from the DCT exactly (a transpose swaps the DCT's axes, and
# PDQ's box filter and 64×64 decimation treat rows and columns alike), but its sign-flip
# shortcut for the axis reversals is only approximate (the decimation samples asymmetric
# positions): measured up to 54 bits off on 256 px pictures, 38 at 512 px and 26-30 at
# 1024-2048 px (benchmarks/transforms.py), enough to miss re-encoded copies. So the picture is
# really flipped left-right, top-bottom and both (Pillow transposes of the RGB buffer), each is
# hashed with `pdqhash.compute_dihedral`, and each call gives two dihedral hashes exactly: its
# own and its transpose's, as transpose(FLIP_LEFT_RIGHT(x)) = ROTATE_90(x),
# transpose(FLIP_TOP_BOTTOM(x)) = ROTATE_270(x) and transpose(ROTATE_180(x)) = TRANSVERSE(x).
# Entries: (transpose applied first, index of its hash, index of its transpose's hash), the
# indices into DIHEDRAL_ORDER.
_DIHEDRAL_PLAN: tuple[tuple[Image.Transpose | None, int, int], ...] = (
    (None, 0, 6),  # original, flip_plus1
    (Image.Transpose.FLIP_LEFT_RIGHT, 5, 1),  # flipy, rot90
    (Image.Transpose.FLIP_TOP_BOTTOM, 4, 3),  # flipx, rot270
    (Image.Transpose.ROTATE_180, 2, 7),  # rot180, flip_minus1
)
_TRANSPOSED = 6  # index of the transpose (flip_plus1) in pdqhash's dihedral output


@dataclass(frozen=True, slots=True)
class PdqResult:
    """`hash` is `dihedral[0]`; `quality` is PDQ's 0-100 gradient-based quality score."""

    hash: str
    quality: int
    dihedral: tuple[str, ...]


def pdq_hash(image: Image.Image) -> PdqResult:
    """Hash an RGB image (as produced by `vigil.media.image.decode_for_hashing`).

    `dihedral[k]` is the PDQ hash of the image after the transform DIHEDRAL_ORDER[k], computed
    from the really transformed pixels: bit-exact with `pdq_single(image.transpose(op))` for
    every one of Pillow's seven transposes, at any size and aspect. `hash` and `quality` are
    the untransformed image's, as `pdq_single` gives them. (pdqhash's own dihedral output flips
    DCT signs instead, which is exact only for the transpose; see `_DIHEDRAL_PLAN`.)

    Cost: four `pdqhash.compute_dihedral` calls (the image, and its left-right, top-bottom and
    180° flips) plus three Pillow transposes (about 1 ms each at 1000×750), i.e. about 4× one
    PDQ: about 42 ms instead of 11 ms on the 1000×750 decode of a 12 MP JPEG, 75 instead of 17
    on a 1024×768 one (pdqhash is slower on power-of-two widths), 3 instead of 0.8 at 256×192
    (benchmarks/transforms.py). Hashing the flips from a halved copy would cost about half as
    much, but its variants land p90 10-13 (max 18) bits from the known hash where the exact
    ones land p90 2 (max 8), as an unmodified copy does; so it is not done. The
    transposed copies are transient, one at a time. Failures inside pdqhash become
    `ImageError("pdq failed")`, MemoryError becomes `ImageError("image too large")`.
    """
    _check_rgb(image)
    hashes: list[str] = [""] * len(DIHEDRAL_ORDER)
    quality = 0
    for op, own, transposed in _DIHEDRAL_PLAN:
        # Pillow's transpose is a C copy and np.asarray of it is C-contiguous, which pdqhash
        # needs: it reads the luma buffer by pointer, so a strided view (np.rot90) hashes wrong.
        vectors, q = _compute(
            pdqhash.compute_dihedral, image if op is None else _transpose(image, op)
        )
        hashes[own] = _bits_to_hex(vectors[0])
        hashes[transposed] = _bits_to_hex(vectors[_TRANSPOSED])
        if op is None:
            quality = int(q)
    return PdqResult(hash=hashes[0], quality=quality, dihedral=tuple(hashes))


def pdq_single(image: Image.Image) -> tuple[str, int]:
    """(hex hash, quality) of an RGB image, without the dihedral variants."""
    _check_rgb(image)
    vector, quality = _compute(pdqhash.compute, image)
    return _bits_to_hex(vector), int(quality)


def _check_rgb(image: Image.Image) -> None:
    if image.mode != "RGB":
        raise ValueError(f"PDQ needs an RGB image, got mode {image.mode!r}")


def _transpose(image: Image.Image, op: Image.Transpose) -> Image.Image:
    try:
        return image.transpose(op)
    except MemoryError as exc:
        raise ImageError("image too large", "out of memory while hashing") from exc


def _compute(fn, image: Image.Image):  # type: ignore[no-untyped-def]
    try:
        return fn(np.ascontiguousarray(np.asarray(image)))
    except MemoryError as exc:
        raise ImageError("image too large", "out of memory while hashing") from exc
    except Exception as exc:
        raise ImageError("pdq failed", f"{type(exc).__name__}: {exc}") from exc


def _bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash's 256-element 0/1 vector → hex, first element as the most significant bit."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bytes(text: str) -> bytes:
    """64 hex digits (either case) → 32 bytes; ValueError for anything else."""
    if len(text) != HASH_HEX:
        raise ValueError(f"a PDQ hash has {HASH_HEX} hex digits, got {len(text)}")
    return bytes.fromhex(text)


def bytes_to_hex(raw: bytes) -> str:
    """32 bytes → 64 lowercase hex digits."""
    if len(raw) != HASH_BYTES:
        raise ValueError(f"a PDQ hash has {HASH_BYTES} bytes, got {len(raw)}")
    return raw.hex()


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex PDQ hashes."""
    return (int.from_bytes(hex_to_bytes(a)) ^ int.from_bytes(hex_to_bytes(b))).bit_count()
