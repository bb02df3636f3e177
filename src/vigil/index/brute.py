"""Exact brute-force PDQ range search: the oracle the fast index is tested against.

`BruteForceIndex` wraps faiss's IndexBinaryFlat; `scan` runs the same exhaustive search over a
codes array faiss does not own (PdqIndex uses it where probing would cost more than scanning).
"""

from __future__ import annotations

import faiss
import numpy as np

from vigil.index.codec import (
    CODE_BYTES,
    MATCH_DTYPE,
    PDQ_BITS,
    as_codes,
    as_ids,
    check_threshold,
    sort_matches,
)


def _matches(lims: np.ndarray, dist: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    out = np.empty(len(rows), dtype=MATCH_DTYPE)
    out["query"] = np.repeat(np.arange(len(lims) - 1), np.diff(lims).astype(np.int64))
    out["id"] = ids[rows]
    out["distance"] = dist
    return sort_matches(out)


def scan(codes: np.ndarray, ids: np.ndarray, queries: np.ndarray, threshold: int) -> np.ndarray:
    """Every (query row, id, distance) with distance ≤ threshold, by comparing with every code."""
    queries = as_codes(queries, "queries")
    if len(codes) == 0 or len(queries) == 0:
        return np.zeros(0, dtype=MATCH_DTYPE)
    res = faiss.RangeSearchResult(len(queries))
    faiss.hamming_range_search(
        faiss.swig_ptr(queries),
        faiss.swig_ptr(codes),
        len(queries),
        len(codes),
        threshold + 1,  # faiss keeps distances strictly below the radius
        CODE_BYTES,
        res,
    )
    lims = faiss.rev_swig_ptr(res.lims, len(queries) + 1).copy()
    rows = faiss.rev_swig_ptr(res.labels, int(lims[-1])).copy()
    dist = faiss.rev_swig_ptr(res.distances, int(lims[-1])).copy()
    return _matches(lims, dist, rows, ids)


class BruteForceIndex:
    """faiss IndexBinaryFlat with Vigil's index API. Exact by construction, O(n) per query."""

    def __init__(self, threshold: int = 31) -> None:
        self.threshold = check_threshold(threshold)
        self._flat = faiss.IndexBinaryFlat(PDQ_BITS)
        self._ids = np.zeros(0, dtype=np.int64)

    @classmethod
    def build(cls, ids: np.ndarray, codes: np.ndarray, *, threshold: int = 31) -> BruteForceIndex:
        index = cls(threshold)
        index.add(ids, codes)
        return index

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        codes = as_codes(codes)
        self._ids = np.concatenate([self._ids, as_ids(ids, len(codes))])
        self._flat.add(codes)

    def search(self, queries: np.ndarray, *, threshold: int | None = None) -> np.ndarray:
        """Structured array of MATCH_DTYPE, sorted by (query, id)."""
        t = self.threshold if threshold is None else check_threshold(threshold)
        queries = as_codes(queries, "queries")
        if len(self) == 0 or len(queries) == 0:
            return np.zeros(0, dtype=MATCH_DTYPE)
        lims, dist, rows = self._flat.range_search(queries, t + 1)
        return _matches(lims, dist, rows, self._ids)

    def __len__(self) -> int:
        return int(self._flat.ntotal)
