"""PDQ perceptual hash (Meta's reference C++ through `pdqhash`): the hash, its quality and the
eight dihedral hashes, plus the hex/bytes/Hamming helpers every PDQ consumer shares.

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
# Names the hashing convention, persisted with every hash and match: Meta's PDQ as built in
# pdqhash 0.2.8, on an RGB conversion, after the power-of-two reduction to a short side of at
# least 512 px (Limits.pdq_decode_size's default) described in `vigil.media.image`. Bit-exact
# with python-threatexchange/HMA when the short side is under 1024 px, and also with Meta's
# C++ tool at most 512 px a side; p90 6 bits from either on 12 MP photos
# (benchmarks/pdq_convention.py). A different pdq_decode_size is a different convention.
VERSION = "pdqhash-0.2.8/rgb-pow2-512"

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
HASH_HEX = HASH_BITS // 4

# Order of `PdqResult.dihedral`, pdqhash's (and the C++ pdqDihedralHash256es) order. Each entry
# is the hash the image would have after that transform, in Pillow's terms:
# rot90 = Transpose.ROTATE_90 (counter-clockwise), rot180, rot270 = ROTATE_270,
# flipx = FLIP_TOP_BOTTOM (mirror in the x axis), flipy = FLIP_LEFT_RIGHT,
# flip_plus1 = TRANSPOSE (main diagonal), flip_minus1 = TRANSVERSE (anti-diagonal).
# They match the C++ reg-test files dih/bridge-N-* and Java's --pdqdih rows in this order.
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


@dataclass(frozen=True, slots=True)
class PdqResult:
    """`hash` is `dihedral[0]`; `quality` is PDQ's 0-100 gradient-based quality score."""

    hash: str
    quality: int
    dihedral: tuple[str, ...]


def pdq_hash(image: Image.Image) -> PdqResult:
    """Hash an RGB image (as produced by `vigil.media.image.decode_for_hashing`).

    One `pdqhash.compute_dihedral` call gives the hash, the quality and all eight dihedral
    hashes from one luma buffer; it costs about the same as `pdqhash.compute` (the DCT of the
    64×64 buffer is shared, only the sign flips differ). Failures inside pdqhash become
    `ImageError("pdq failed")`.
    """
    vectors, quality = _compute(pdqhash.compute_dihedral, image)
    dihedral = tuple(_bits_to_hex(v) for v in vectors)
    return PdqResult(hash=dihedral[0], quality=int(quality), dihedral=dihedral)


def pdq_single(image: Image.Image) -> tuple[str, int]:
    """(hex hash, quality) of an RGB image, without the dihedral variants."""
    vector, quality = _compute(pdqhash.compute, image)
    return _bits_to_hex(vector), int(quality)


def _compute(fn, image: Image.Image):  # type: ignore[no-untyped-def]
    if image.mode != "RGB":
        raise ValueError(f"PDQ needs an RGB image, got mode {image.mode!r}")
    try:
        return fn(np.asarray(image))
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
