"""The arrays visual clustering reads and keeps: the contents to cluster (`Contents`), the
anchor state a case keeps between runs (`Anchors`) and what one run decided (`Assignment`).

All of them are a few flat NumPy arrays: a hash costs its 32 bytes and 9 more, a content 16
and an anchor's hash 40, with no Python object per item, so millions fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigil.index.codec import CODE_BYTES, as_codes

FULL = 0  # variant of a content's full PDQ hash (its "original" dihedral hash)
FIRST_WINDOW = 8  # variants 1..7 are the other dihedral hashes, 8 and up the window hashes
NO_CLUSTER = -1


def _column(values: np.ndarray, n: int, dtype: type, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != n or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be 1-d integers, {n} of them, got {arr.dtype} {arr.shape}")
    return arr.astype(dtype, copy=False)


@dataclass(frozen=True, slots=True)
class Contents:
    """Contents (one SHA-256 each) to cluster, in processing order, with all their PDQ hashes.

    keys     int64[n]       the caller's key of each content, unique, in processing order
    quality  int64[n]       PDQ quality of each content's full hash
    codes    uint8[m, 32]   every hash of every content, in any order
    owner    int64[m]       the key of the content each hash belongs to
    variant  int8[m]        FULL (0); 1..7 the dihedral hashes in `DIHEDRAL_ORDER` after
                            "original", which is the full hash; FIRST_WINDOW (8) and up windows
    A content without a FULL hash, or with quality below the clustering floor, is not
    clustered. Give contents in first-seen order: the order decides anchors and cluster ids.
    """

    keys: np.ndarray
    quality: np.ndarray
    codes: np.ndarray
    owner: np.ndarray
    variant: np.ndarray

    def __post_init__(self) -> None:
        n, codes = len(self.keys), as_codes(self.codes)
        keys = _column(self.keys, n, np.int64, "keys")
        if len(np.unique(keys)) != n:
            raise ValueError("content keys must be unique")
        variant = _column(self.variant, len(codes), np.int64, "variant")
        if len(variant) and (variant.min() < 0 or variant.max() > np.iinfo(np.int8).max):
            raise ValueError("variants must be within 0..127")
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "quality", _column(self.quality, n, np.int64, "quality"))
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "owner", _column(self.owner, len(codes), np.int64, "owner"))
        object.__setattr__(self, "variant", variant.astype(np.int8))

    def rows(self) -> np.ndarray:
        """int64[m]: the position in `keys` of each hash's content."""
        if not len(self.owner):
            return np.zeros(0, dtype=np.int64)
        by_key = np.argsort(self.keys, kind="stable")
        at = np.searchsorted(self.keys, self.owner, sorter=by_key)
        if not len(by_key):
            raise ValueError("hashes given for no contents")
        found = by_key[np.minimum(at, len(by_key) - 1)]
        if not np.array_equal(self.keys[found], self.owner):
            raise ValueError("a hash's owner is not among the content keys")
        return found


@dataclass(frozen=True, slots=True)
class Anchors:
    """What a later run needs of the clusters made so far: each cluster's anchor hashes.

    cluster  int64[r]       cluster id of each row
    codes    uint8[r, 32]   the anchor content's full hash and window hashes (never its other
                            dihedral hashes: a newcomer's dihedrals are compared with them)
    Nothing else is kept, so the caller persists nothing extra: rebuild it from the stored
    clusters by listing each anchor content's full and window hashes under its cluster id.
    Rows may come in any order; new clusters get ids after the largest one here.
    """

    cluster: np.ndarray
    codes: np.ndarray

    def __post_init__(self) -> None:
        codes = as_codes(self.codes)
        cluster = _column(self.cluster, len(codes), np.int64, "cluster")
        if len(cluster) and cluster.min() < 0:
            raise ValueError("cluster ids must not be negative")
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "cluster", cluster)

    @classmethod
    def empty(cls) -> Anchors:
        return cls(np.zeros(0, np.int64), np.zeros((0, CODE_BYTES), np.uint8))

    @property
    def next_id(self) -> int:
        """The id the next new cluster gets: ids start at 1 and never repeat."""
        return int(self.cluster.max()) + 1 if len(self.cluster) else 1

    def __len__(self) -> int:
        return len(self.cluster)


@dataclass(frozen=True, slots=True)
class Assignment:
    """What clustering decided for each content, aligned with the `Contents` it was given.

    keys      int64[n]   the contents' keys
    cluster   int64[n]   cluster id, NO_CLUSTER where not clustered (no PDQ or low quality:
                         the caller treats those as single-file groups)
    distance  int16[n]   distance to the cluster's anchor (0 for the anchor), -1 if none
    anchor    bool[n]    whether the content is its cluster's anchor
    """

    keys: np.ndarray
    cluster: np.ndarray
    distance: np.ndarray
    anchor: np.ndarray

    @classmethod
    def concat(cls, parts: list[Assignment]) -> Assignment:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)
        )
