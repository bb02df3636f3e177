"""The fast PDQ index: exact Hamming range search by multi-index hashing over compact tables.

How it stays exact. The 256 bits are cut into `tables` disjoint chunks of `bits` bits. If two
hashes are within distance t, and chunk i is given a probe radius r_i with
Σ (r_i + 1) ≥ t + 1, then some chunk i differs in at most r_i bits (pigeonhole: otherwise the
distance would be at least Σ (r_i + 1) > t). So looking up, in every table, every key within
r_i bits of the query's chunk finds every true match; each candidate is then checked with its
full 256-bit distance. The radii are chosen per search, so any threshold is exact; at the
default 31 with 11 tables they are 2 on ten tables and 1 on one (10·3 + 2 = 32).

Layout (all flat NumPy arrays, saved as .npy by `storage`):
  codes     uint8[n, 32]    the known hashes, rows sorted by their chunk-0 key, so table 0
                            needs no postings: its bucket k is a run of rows
  ids       uint32|int64[n] caller's id of each row (uint32 when every id fits)
  blocks    uint32[tables, 2**(bits-shift) + 1]  where each block of 2**shift buckets starts
  starts    uint16[tables, 2**bits + 1]  bucket start relative to its block: together
                            these are CSR offsets (start of bucket k = blocks[k >> shift] +
                            starts[k]) at half the size of uint32 offsets
  postings  uint32[tables - 1, n]        row numbers grouped by bucket, tables 1..
Memory is 32 + 4|8 + 4·(tables-1) + ~2·tables·2**bits/n bytes per hash: `bits` follows n so
the offsets stay within ~20 bytes per hash (10M hashes: 11 tables of 23 bits, ~94 B/hash).
`shift` is 6 unless more than 65,535 hashes share a block (mass duplicates), then smaller.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from vigil.index import storage
from vigil.index.brute import scan
from vigil.index.codec import (
    CODE_BYTES,
    MATCH_DTYPE,
    PDQ_BITS,
    as_codes,
    as_ids,
    check_threshold,
    sort_matches,
)

FORMAT = "vigil-pdq-mih"
FORMAT_VERSION = 1
DEFAULT_TABLES = 11
_BATCH = 256  # queries per vectorised step: amortises NumPy's per-call cost, ~10 MB of scratch
_MAX_BITS = 23
_MAX_SHIFT = 6
_MIN_BITS = 8
# Rough per-item costs on one core (ns) that decide probing vs scanning; measured, not precise.
_NS_PER_PROBE, _NS_PER_CANDIDATE, _NS_PER_SCANNED = 40.0, 100.0, 1.75

Method = Literal["auto", "probe", "scan"]


@dataclass(frozen=True, slots=True)
class Layout:
    """How the hash is cut into tables: `tables` chunks of `bits` consecutive bits each."""

    tables: int
    bits: int

    def __post_init__(self) -> None:
        if not (self.tables >= 1 and _MIN_BITS <= self.bits <= 24):
            raise ValueError(f"bad layout {self}")
        if self.tables * self.bits > PDQ_BITS:
            raise ValueError(f"{self.tables} chunks of {self.bits} bits exceed {PDQ_BITS} bits")

    @classmethod
    def for_size(cls, n: int, tables: int = DEFAULT_TABLES) -> Layout:
        """Widest chunks whose offsets arrays stay within ~20 bytes per hash (see module doc)."""
        budget = max(1, 10 * n // tables)  # 2**bits · 2 B · tables ≤ 20 B · n
        bits = min(_MAX_BITS, PDQ_BITS // tables, max(_MIN_BITS, budget.bit_length() - 1))
        return cls(tables, bits)

    def radii(self, threshold: int) -> list[int]:
        """Probe radius per table, Σ (r + 1) = threshold + 1; -1 means "skip this table"."""
        need = threshold + 1
        if need > self.tables * self.bits:
            # r_i = bits would probe every key; keeping r_i < bits also keeps every candidate
            # below distance 256, which the byte-sum in `_probe` relies on.
            raise ValueError(f"threshold {threshold} is beyond what {self} can probe; scan")
        base, extra = divmod(need, self.tables)
        return [base + (i < extra) - 1 for i in range(self.tables)]

    def cost(self, threshold: int, n: int) -> tuple[int, float]:
        """(probes, expected random candidates) per query at this threshold."""
        probes = sum(_ball_size(self.bits, r) for r in self.radii(threshold))
        return probes, probes * n / 2**self.bits

    def keys(self, codes: np.ndarray, table: int) -> np.ndarray:
        """The chunk-`table` key of each row: bits [table·bits, (table+1)·bits) as uint32."""
        first = table * self.bits
        start = min(first // 8, CODE_BYTES - 4)
        shift = 32 - self.bits - (first - 8 * start)
        window = np.ascontiguousarray(codes[:, start : start + 4]).view(">u4")[:, 0]
        return (window >> np.uint32(shift)).astype(np.uint32) & np.uint32((1 << self.bits) - 1)


def _ball_size(bits: int, radius: int) -> int:
    return sum(math.comb(bits, j) for j in range(radius + 1))


@lru_cache(maxsize=64)
def _flip_masks(bits: int, radius: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `radius` bits set (0 first)."""
    masks = [0]
    for k in range(1, radius + 1):
        for combo in itertools.combinations(range(bits), k):
            masks.append(sum(1 << b for b in combo))
    return np.array(masks, dtype=np.uint32)


def _sorted_buckets(keys: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets uint32[2**bits + 1], row numbers uint32[n] grouped by key, stable)."""
    packed = (keys.astype(np.uint64) << np.uint64(32)) | np.arange(len(keys), dtype=np.uint64)
    packed.sort()
    offsets = np.zeros(2**bits + 1, dtype=np.uint32)
    np.cumsum(np.bincount(keys, minlength=2**bits), out=offsets[1:])
    return offsets, packed.astype(np.uint32)


def _widest_shift(offsets: np.ndarray) -> int:
    """Largest block size (2**shift buckets) whose relative starts fit in uint16."""
    for shift in range(_MAX_SHIFT, 0, -1):
        size = 2**shift
        first = offsets[:, :-1:size]  # start of each block
        last = offsets[:, size - 1 :: size]  # start of the last bucket in it
        if int((last - first).max(initial=0)) < 2**16:
            return shift
    return 0


def _split_offsets(offsets: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """uint32 CSR offsets → (block starts uint32, starts within the block uint16)."""
    blocks = np.ascontiguousarray(offsets[:, :: 2**shift])
    rel = offsets - np.repeat(blocks, 2**shift, axis=1)[:, : offsets.shape[1]]
    return blocks, rel.astype(np.uint16)


class PdqIndex:
    """Exact PDQ range search over a known list; see the module docstring for how and why.

    Searches are read-only and may run from several threads; `add` must not overlap them.
    """

    def __init__(self, threshold: int = 31) -> None:
        self.threshold = check_threshold(threshold)
        self.layout = Layout.for_size(0)
        self._codes = np.zeros((0, CODE_BYTES), dtype=np.uint8)
        self._ids: np.ndarray = np.zeros(0, dtype=np.uint32)
        self._shift = _MAX_SHIFT
        self._blocks, self._starts = _split_offsets(
            np.zeros((self.layout.tables, 2**self.layout.bits + 1), dtype=np.uint32), self._shift
        )
        self._postings = np.zeros((self.layout.tables - 1, 0), dtype=np.uint32)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        ids: np.ndarray,
        codes: np.ndarray,
        *,
        threshold: int = 31,
        layout: Layout | None = None,
    ) -> PdqIndex:
        """Index `codes` (uint8[n, 32]) under `ids`. About 1 s per million hashes on 2 cores."""
        index = cls(threshold)
        codes = as_codes(codes)
        index._build(as_ids(ids, len(codes)), codes, layout)
        return index

    def _build(self, ids: np.ndarray, codes: np.ndarray, layout: Layout | None) -> None:
        if len(codes) >= 2**32 - 1:
            raise ValueError("a PdqIndex holds fewer than 2**32 - 1 hashes")
        layout = layout or Layout.for_size(len(codes))
        offsets0, order = _sorted_buckets(layout.keys(codes, 0), layout.bits)
        codes = codes[order]
        fits32 = len(ids) == 0 or int(ids.max()) < 2**32
        ids = ids[order].astype(np.uint32 if fits32 else np.int64)

        def table(t: int) -> tuple[np.ndarray, np.ndarray]:
            return _sorted_buckets(layout.keys(codes, t), layout.bits)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            rest = list(pool.map(table, range(1, layout.tables)))
        self.layout = layout
        self._codes, self._ids = codes, ids
        offsets = np.stack([offsets0, *(off for off, _ in rest)])
        self._shift = _widest_shift(offsets)
        self._blocks, self._starts = _split_offsets(offsets, self._shift)
        self._postings = np.stack([rows for _, rows in rest]) if rest else self._postings[:0]

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add a hash set. Rebuilds every table over the union (cost of `build` on the
        union: ~1 s per million hashes, peak memory about twice the index), which also lets
        the layout grow with the list; searches see the old or the new index, never a mix."""
        codes = as_codes(codes)
        ids = as_ids(ids, len(codes))
        if len(codes) == 0:
            return
        self._build(
            np.concatenate([self._ids.astype(np.int64), ids]),
            np.concatenate([self._codes, codes]),
            None,
        )

    def __len__(self) -> int:
        return len(self._codes)

    # -- searching ------------------------------------------------------------------------

    def search(
        self,
        queries: np.ndarray,
        *,
        threshold: int | None = None,
        method: Method = "auto",
        workers: int | None = None,
    ) -> np.ndarray:
        """Every (query row, id, distance ≤ threshold) pair, exactly, as a MATCH_DTYPE array
        sorted by (query, id). `method` "auto" probes the tables unless scanning every hash
        would be cheaper (small lists, very high thresholds); both give the same answer."""
        t = self.threshold if threshold is None else check_threshold(threshold)
        queries = as_codes(queries, "queries")
        if len(self) == 0 or len(queries) == 0:
            return np.zeros(0, dtype=MATCH_DTYPE)
        if method == "scan" or (method == "auto" and self._scan_is_cheaper(t)):
            return scan(self._codes, self._ids, queries, t)
        if method not in ("auto", "probe"):
            raise ValueError(f"unknown search method {method!r}")
        # NumPy releases the GIL in the gathers that dominate, so threads scale with cores.
        batches = [queries[i : i + _BATCH] for i in range(0, len(queries), _BATCH)]
        nworkers = min(len(batches), workers or os.cpu_count() or 1)
        if nworkers <= 1:
            parts = [self._probe(q, t) for q in batches]
        else:
            with ThreadPoolExecutor(max_workers=nworkers) as pool:
                parts = list(pool.map(self._probe, batches, itertools.repeat(t)))
        for i, part in enumerate(parts):
            part["query"] += i * _BATCH
        return np.concatenate(parts)

    def _scan_is_cheaper(self, threshold: int) -> bool:
        if threshold + 1 > self.layout.tables * self.layout.bits:
            return True
        probes, candidates = self.layout.cost(threshold, len(self))
        probe_ns = probes * _NS_PER_PROBE + candidates * _NS_PER_CANDIDATE
        return probe_ns > len(self) * _NS_PER_SCANNED

    def _probe(self, queries: np.ndarray, threshold: int) -> np.ndarray:
        """Exact range search of one batch of queries by probing every table."""
        layout = self.layout
        # 32-byte rows as single items: np.take on them is several times faster than on
        # a (n, 4) uint64 view.
        known = self._codes.view(np.void(CODE_BYTES))[:, 0]
        asked = queries.view(np.void(CODE_BYTES))[:, 0]
        found_q, found_row, found_d = [], [], []
        for t, radius in enumerate(layout.radii(threshold)):
            if radius < 0:
                continue
            masks = _flip_masks(layout.bits, radius)
            probes = (layout.keys(queries, t)[:, None] ^ masks[None, :]).ravel()
            blocks, rel, shift = self._blocks[t], self._starts[t], np.uint32(self._shift)
            starts = blocks.take(probes >> shift).astype(np.int64)
            starts += rel.take(probes)
            probes += np.uint32(1)
            counts = blocks.take(probes >> shift).astype(np.int64)
            counts += rel.take(probes)
            counts -= starts
            total = int(counts.sum())
            if total == 0:
                continue
            # Positions starts[p] .. starts[p] + counts[p] for every probe p, flattened.
            ends = np.cumsum(counts)
            pos = np.repeat(starts - (ends - counts), counts)
            pos += np.arange(total, dtype=np.int64)
            rows = pos if t == 0 else self._postings[t - 1].take(pos)
            qrow = np.repeat(np.arange(len(queries)), counts.reshape(len(queries), -1).sum(axis=1))
            diff = known.take(rows).view(np.uint64)
            diff ^= asked.take(qrow).view(np.uint64)
            # Per-word popcounts are bytes ≤ 64; the multiply sums the four into the top byte
            # (exact: a candidate differs in < bits of its probed chunk, so in < 256 bits).
            dist = np.bitwise_count(diff).view(np.uint32)
            dist *= np.uint32(0x01010101)
            dist >>= np.uint32(24)
            hit = np.flatnonzero(dist <= threshold)
            if hit.size:
                found_q.append(qrow[hit])
                found_row.append(rows[hit].astype(np.int64))
                found_d.append(dist[hit])
        if not found_q:
            return np.zeros(0, dtype=MATCH_DTYPE)
        q = np.concatenate(found_q)
        rows = np.concatenate(found_row)
        # A match can be found through several tables; keep it once.
        _, first = np.unique(q * len(self) + rows, return_index=True)
        out = np.empty(len(first), dtype=MATCH_DTYPE)
        out["query"] = q[first]
        out["id"] = self._ids[rows[first]]
        out["distance"] = np.concatenate(found_d)[first]
        return sort_matches(out)

    # -- persistence ----------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the index to `directory` (layout in `vigil.index.storage`)."""
        storage.save_arrays(
            directory,
            fmt=FORMAT,
            version=FORMAT_VERSION,
            count=len(self),
            parameters={
                "threshold": self.threshold,
                "tables": self.layout.tables,
                "bits": self.layout.bits,
                "shift": self._shift,
                "bit_order": "chunk i = bits [i*bits, (i+1)*bits) of the hex text, MSB first",
                "rows": "sorted by chunk-0 key",
            },
            arrays={
                "codes": self._codes,
                "ids": self._ids,
                "blocks": self._blocks,
                "starts": self._starts,
                "postings": self._postings,
            },
        )

    @classmethod
    def load(cls, directory: Path, mmap: bool = True, *, verify: bool = False) -> PdqIndex:
        """Open a saved index. With `mmap` the arrays are paged in from the files on demand
        (instant, shared between processes); without it they are read into memory."""
        meta, arrays = storage.load_arrays(
            directory, fmt=FORMAT, version=FORMAT_VERSION, mmap=mmap, verify=verify
        )
        params = meta["parameters"]
        index = cls(params["threshold"])
        index.layout = Layout(params["tables"], params["bits"])
        index._codes = arrays["codes"]
        index._ids = arrays["ids"]
        index._shift = params["shift"]
        index._blocks = arrays["blocks"]
        index._starts = arrays["starts"]
        index._postings = arrays["postings"]
        if not (len(index._codes) == len(index._ids) == meta["count"]):
            raise storage.StoreError(f"{directory}: array lengths differ from the count")
        return index
