"""PDQ hashes as arrays: hex text ↔ packed `uint8[n, 32]` codes, and the match-row dtype.

Bit order is PDQ's text form: byte i is hex[2i:2i+2], so the first hex digit holds the
first four bits. That is also faiss's binary-code layout, so codes go to faiss unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vigil.errors import ConfigError

PDQ_BITS = 256
CODE_BYTES = PDQ_BITS // 8

# One row per (query, known hash) pair within the threshold; see PdqIndex.search.
MATCH_DTYPE = np.dtype([("query", np.int64), ("id", np.int64), ("distance", np.int16)])

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, 255, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_NIBBLE[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16)
_NIBBLE[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16)


def hex_to_codes(hashes: Iterable[str]) -> np.ndarray:
    """Parse 64-digit hex PDQ hashes (either case) into an `(n, 32)` uint8 array.

    Raises ValueError naming the first bad row; callers at the edges turn it into their own
    error (a hash-set line number, a CLI message).
    """
    items = list(hashes)
    if not items:
        return np.zeros((0, CODE_BYTES), dtype=np.uint8)
    try:
        text = "".join(items).encode("ascii")
    except UnicodeEncodeError:
        text = b""
    if len(text) != 2 * CODE_BYTES * len(items):
        bad = next(i for i, h in enumerate(items) if len(h) != 64 or not h.isascii())
        raise ValueError(f"row {bad}: a PDQ hash is 64 hex digits, got {items[bad]!r}")
    nib = _NIBBLE[np.frombuffer(text, dtype=np.uint8)].reshape(len(items), 2 * CODE_BYTES)
    if (nib == 255).any():
        bad = int(np.flatnonzero((nib == 255).any(axis=1))[0])
        raise ValueError(f"row {bad}: not a hex PDQ hash: {items[bad]!r}")
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


def codes_to_hex(codes: np.ndarray) -> list[str]:
    """The lower-case hex text of each row of an `(n, 32)` uint8 array."""
    codes = as_codes(codes)
    chars = np.empty((codes.shape[0], 2 * CODE_BYTES), dtype=np.uint8)
    chars[:, 0::2] = _HEX[codes >> 4]
    chars[:, 1::2] = _HEX[codes & 15]
    blob = chars.tobytes().decode("ascii")
    step = 2 * CODE_BYTES
    return [blob[i : i + step] for i in range(0, len(blob), step)]


def as_codes(codes: np.ndarray, what: str = "codes") -> np.ndarray:
    """Check an `(n, 32)` uint8 array and return it C-contiguous (no copy when it already is)."""
    arr = np.asarray(codes)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != CODE_BYTES:
        raise ValueError(
            f"{what} must be uint8 of shape (n, {CODE_BYTES}), got {arr.dtype} {arr.shape}"
        )
    return np.ascontiguousarray(arr)


def as_ids(ids: np.ndarray, n: int) -> np.ndarray:
    """Check external ids (any integer dtype, 0 ≤ id < 2**63) and return them as int64."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != n or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"ids must be a 1-d integer array of length {n}, got {arr.dtype} {arr.shape}"
        )
    if arr.size and arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise ValueError("ids must be below 2**63")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError("ids must not be negative")
    return arr


def check_threshold(threshold: object) -> int:
    """A Hamming threshold is an int in 0..256; anything else is a configuration error."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise ConfigError(f"PDQ threshold must be an integer, got {threshold!r}")
    if not 0 <= threshold <= PDQ_BITS:
        raise ConfigError(f"PDQ threshold must be between 0 and {PDQ_BITS}, got {threshold}")
    return int(threshold)


def sort_matches(matches: np.ndarray) -> np.ndarray:
    """Matches in a canonical order (query, then id), so results compare with `==`."""
    return matches[np.lexsort((matches["id"], matches["query"]))]


def flip_bits(codes: np.ndarray, flips: int | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of `codes` with exactly `flips` (per row, or one for all) distinct bits flipped:
    near-duplicates at a known distance, for tests and benchmarks."""
    codes = as_codes(codes)
    k = np.broadcast_to(np.asarray(flips, dtype=np.int64), (len(codes),))
    if k.size and (k.min() < 0 or k.max() > PDQ_BITS):
        raise ValueError(f"flips must be within 0..{PDQ_BITS}")
    order = np.argsort(rng.random((len(codes), PDQ_BITS)), axis=1)
    mask = np.zeros((len(codes), PDQ_BITS), dtype=bool)
    np.put_along_axis(mask, order, np.arange(PDQ_BITS)[None, :] < k[:, None], axis=1)
    return codes ^ np.packbits(mask, axis=1)
