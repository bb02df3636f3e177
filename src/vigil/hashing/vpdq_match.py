"""Comparing two vPDQ hashes as the reference does — drop frames of quality below the floor,
de-duplicate, then the share of each side's unique frames that have a frame of the other
side within the PDQ distance — plus what the reference leaves out: pruning consecutive
near-identical frames (keeping their count) and the time ranges that matched.

The convention is a value (`VpdqComparison`), so a match row can store what it was made with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.hashing.pdq import hex_to_bytes
from vigil.hashing.vpdq import FrameHash

CHUNK = 512  # query rows per block of the all-pairs distance computation


@dataclass(frozen=True, slots=True)
class Retained:
    """A frame standing for a run of `count` consecutive near-identical frames (itself
    included), the last of which is at `end` seconds."""

    frame: FrameHash
    count: int
    end: float


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class VpdqMatch:
    """Both percentages (of unique, quality-filtered frames), the counts behind them, the
    verdict under the convention used, and the matching time ranges on each side."""

    query_percent: float
    compared_percent: float
    query_frames: int
    compared_frames: int
    query_matched: int
    compared_matched: int
    is_match: bool
    is_weak: bool  # not a match, but one side reached `weak_percent`: for review, no category
    query_ranges: tuple[TimeRange, ...]
    compared_ranges: tuple[TimeRange, ...]

    def summary(self) -> str:
        """python-threatexchange's display: "<query>%[<compared>%]"."""
        return f"{self.query_percent:.0f}%[{self.compared_percent:.0f}%]"


def prune(frames: Iterable[FrameHash], distance: int) -> tuple[Retained, ...]:
    """The reference README's optional pruning: a frame within `distance` bits of the last
    retained frame is dropped and counted on it. Frames are taken in the order given (the
    order they were hashed); distance 0 folds only exact repeats, -1 keeps everything."""
    return _fold((Retained(f, 1, f.timestamp) for f in frames), distance)


def _fold(runs: Iterable[Retained], distance: int) -> tuple[Retained, ...]:
    out: list[Retained] = []
    last = 0
    for run in runs:
        value = int.from_bytes(hex_to_bytes(run.frame.pdq))
        if out and distance >= 0 and (value ^ last).bit_count() <= distance:
            kept = out[-1]
            out[-1] = Retained(kept.frame, kept.count + run.count, run.end)
        else:
            out.append(run)
            last = value
    return tuple(out)


@dataclass(frozen=True, slots=True)
class VpdqComparison:
    """How two vPDQ hashes are compared.

    `distance`: frames match at a PDQ distance <= this (python-threatexchange and the README;
    the C++ brute matcher uses <). `quality_floor`: frames of lower quality are dropped first.
    `query_percent` / `compared_percent`: the thresholds; `require_both` False means a match
    when either side reaches its threshold (python-threatexchange's
    `VideoVPDQSignal.compare_hash`: max of the two >= 80), True when both must (the README
    and `VPDQSignal.compare_hash`). `prune_distance`: consecutive frames within this distance
    fold into one before the unique frames are counted (0: exact repeats only, which leaves the
    reference's percentages unchanged). `gap` unmatched frames may sit inside one time range.
    `weak_percent`: a pair that is no match but where either side reaches this is weak (a
    copy under a logo bar, a partial re-edit), as weak PDQ matches are for pictures.
    """

    distance: int = 31
    quality_floor: int = 50
    query_percent: float = 80.0
    compared_percent: float = 80.0
    require_both: bool = False
    prune_distance: int = 0
    gap: int = 1
    weak_percent: float = 50.0

    def __post_init__(self) -> None:
        if not 0 <= self.distance <= 256 or not 0 <= self.quality_floor <= 100:
            raise ValueError("distance must be 0-256 and quality_floor 0-100")
        percents = (self.query_percent, self.compared_percent, self.weak_percent)
        if not all(0 <= p <= 100 for p in percents):
            raise ValueError("percent thresholds must be 0-100")

    def compare(
        self,
        query: Sequence[FrameHash] | Sequence[Retained],
        compared: Sequence[FrameHash] | Sequence[Retained],
    ) -> VpdqMatch:
        q_runs, c_runs = self._prepare(query), self._prepare(compared)
        q_unique, c_unique = _unique(q_runs), _unique(c_runs)
        q_hit, c_hit = _cross_match(q_unique, c_unique, self.distance)
        q_matched, c_matched = int(q_hit.sum()), int(c_hit.sum())
        q_pct = 100.0 * q_matched / len(q_unique) if q_unique and c_unique else 0.0
        c_pct = 100.0 * c_matched / len(c_unique) if q_unique and c_unique else 0.0
        q_ok, c_ok = q_pct >= self.query_percent, c_pct >= self.compared_percent
        is_match = bool(q_unique and c_unique) and (
            (q_ok and c_ok) if self.require_both else (q_ok or c_ok)
        )
        q_set = {h for h, hit in zip(q_unique, q_hit, strict=True) if hit}
        c_set = {h for h, hit in zip(c_unique, c_hit, strict=True) if hit}
        return VpdqMatch(
            query_percent=q_pct,
            compared_percent=c_pct,
            query_frames=len(q_unique),
            compared_frames=len(c_unique),
            query_matched=q_matched,
            compared_matched=c_matched,
            is_match=is_match,
            is_weak=not is_match
            and bool(q_unique and c_unique)
            and max(q_pct, c_pct) >= self.weak_percent,
            query_ranges=_ranges(q_runs, q_set, self.gap),
            compared_ranges=_ranges(c_runs, c_set, self.gap),
        )

    def _prepare(self, items: Sequence[FrameHash] | Sequence[Retained]) -> tuple[Retained, ...]:
        runs = [
            item if isinstance(item, Retained) else Retained(item, 1, item.timestamp)
            for item in items
        ]
        return _fold(
            (r for r in runs if r.frame.quality >= self.quality_floor), self.prune_distance
        )


def _unique(runs: Sequence[Retained]) -> list[str]:
    """The distinct hashes, in first-seen order (python-threatexchange's `dedupe`)."""
    return list(dict.fromkeys(r.frame.pdq for r in runs))


def _as_words(hashes: Sequence[str]) -> np.ndarray:
    raw = b"".join(hex_to_bytes(h) for h in hashes)
    return np.frombuffer(raw, dtype=np.uint64).reshape(len(hashes), 4)


def _cross_match(
    query: Sequence[str], compared: Sequence[str], distance: int
) -> tuple[np.ndarray, np.ndarray]:
    """(for each query hash: has a compared hash within `distance`; the same the other way)."""
    q_hit = np.zeros(len(query), dtype=bool)
    c_hit = np.zeros(len(compared), dtype=bool)
    if not query or not compared:
        return q_hit, c_hit
    q, c = _as_words(query), _as_words(compared)
    for start in range(0, len(q), CHUNK):
        block = q[start : start + CHUNK]
        dist = np.bitwise_count(block[:, None, :] ^ c[None, :, :]).sum(axis=2, dtype=np.int32)
        close = dist <= distance
        q_hit[start : start + CHUNK] = close.any(axis=1)
        c_hit |= close.any(axis=0)
    return q_hit, c_hit


def _ranges(runs: Sequence[Retained], matched: set[str], gap: int) -> tuple[TimeRange, ...]:
    """Time ranges of matched frames, in time order, bridging up to `gap` unmatched frames."""
    out: list[TimeRange] = []
    start: float | None = None
    end = 0.0
    misses = 0
    for run in sorted(runs, key=lambda r: r.frame.timestamp):
        if run.frame.pdq in matched:
            if start is None:
                start = run.frame.timestamp
            end, misses = run.end, 0
        elif start is not None:
            misses += run.count
            if misses > gap:
                out.append(TimeRange(start, end))
                start, misses = None, 0
    if start is not None:
        out.append(TimeRange(start, end))
    return tuple(out)


# The two reference conventions, for comparison and for lists made with them.
README_CONVENTION = VpdqComparison(query_percent=0.0, compared_percent=80.0, require_both=True)
PYTX_INDEX_CONVENTION = VpdqComparison(query_percent=80.0, compared_percent=0.0, require_both=True)
