"""Matching a case's videos against the active vPDQ video lists without comparing every pair:
each case video's distinct good frames are looked up in each list's frame `PdqIndex`, and only
the known videos that got a hit are compared with it as the reference does
(`hashing.vpdq_match`). A match row (algorithm "vpdq") keeps both percentages and the matching
time ranges; its category follows the same rule as a picture's (`match_rules`).

A case video matches a known video when the share of its unique good frames found in the known
video reaches `video_query_match_percent` (a clip cut from it, a re-encoded copy), or the share
of the known video's found in it reaches `video_compared_match_percent` (known material inside
a longer compilation). Frames match at `pdq_threshold`; frames below `pdq_min_quality` (the
reference's floor is 50) are dropped first on both sides.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings
from vigil.errors import ConfigError, StoreError
from vigil.hashing.vpdq import FrameHash
from vigil.hashing.vpdq_match import TimeRange, VpdqComparison, VpdqMatch
from vigil.index import PdqIndex, hex_to_codes
from vigil.index.codec import check_threshold
from vigil.pipeline import match_rules as rules
from vigil.pipeline.categorise import resolve_categories
from vigil.store import CaseStore
from vigil.store.case import now_iso
from vigil.store.hashsets import HashSetInfo, list_hashsets
from vigil.store.queries import iter_frame_hashes
from vigil.store.schema import files, matches, video_hashes
from vigil.store.video_lists import frame_index, is_video_list, known_frames, split_frame_index_id
from vigil.store.writer import lock_case

ALGORITHM = "vpdq"
PAGE = 200  # case video contents per transaction


@dataclass
class VideoMatchSummary:
    videos: int = 0  # case video contents compared
    found: Counter[tuple[str, str]] = field(default_factory=Counter)  # (set, algorithm)
    added: int = 0
    removed: int = 0


class VideoMatcher:
    """Matches case videos against every active video list version (or those of
    `hashset_ids` that are video lists) at the settings' thresholds; opens each list's frame
    index memory-mapped once."""

    def __init__(
        self, store: CaseStore, settings: Settings, *, hashset_ids: Sequence[int] | None = None
    ) -> None:
        self.scheme = store.scheme
        threshold = check_threshold(settings.pdq_threshold)
        self.query_percent = settings.video_query_match_percent
        self.compared_percent = settings.video_compared_match_percent
        # The verdict is `_is_match`'s (either test, 0 turning one off); the comparison's own
        # thresholds are only its weak band's, which this matcher does not record.
        self.comparison = VpdqComparison(distance=threshold, quality_floor=settings.pdq_min_quality)
        sets = [s for s in list_hashsets(store) if is_video_list(s)]
        if hashset_ids is not None:
            sets = [s for s in sets if s.id in set(hashset_ids)]
        self.sets: dict[int, HashSetInfo] = {s.id: s for s in sets}
        self._indexes: list[tuple[int, PdqIndex]] = []
        for s in sets:
            index = frame_index(store, s.id)
            if index is not None and len(index):
                self._indexes.append((s.id, index))

    def _is_match(self, result: VpdqMatch) -> bool:
        query_ok = self.query_percent > 0 and result.query_percent >= self.query_percent
        compared_ok = self.compared_percent > 0 and result.compared_percent >= self.compared_percent
        return query_ok or compared_ok

    def match_video(
        self, conn: Connection, frames: list[FrameHash]
    ) -> list[tuple[int, int, VpdqMatch]]:
        """(set id, known video entry id, comparison) of every known video this case video
        matches: candidates are the known videos one of its distinct good frames hits."""
        floor = self.comparison.quality_floor
        hexes = list(dict.fromkeys(f.pdq for f in frames if f.quality >= floor))
        if not hexes or not self._indexes:
            return []
        try:
            codes = hex_to_codes(hexes)
        except ValueError as exc:
            raise StoreError(f"a video's frame hashes in the case are malformed: {exc}") from exc
        out = []
        for set_id, index in self._indexes:
            hits = index.search(codes, threshold=self.comparison.distance)
            entries, _ = split_frame_index_id(hits["id"])
            for entry_id in np.unique(entries).tolist():
                result = self.comparison.compare(frames, known_frames(conn, entry_id))
                if self._is_match(result):
                    out.append((set_id, entry_id, result))
        return out

    def row(
        self, file_id: int, set_id: int, entry_id: int, result: VpdqMatch, version: str, when: str
    ) -> dict[str, Any]:
        s = self.sets[set_id]
        return {
            "file_id": file_id,
            "hashset_id": set_id,
            "entry_id": entry_id,
            "algorithm": ALGORITHM,
            "algorithm_version": version,
            "distance": 0,  # a video's closeness is its percentages, not one distance
            "threshold": self.comparison.distance,
            "transform": "original",
            "category": rules.match_category(self.scheme, s.kind, None, None, s.category),
            "strength": "strong",
            "matched_at": when,
            "query_match": round(result.query_percent, 3),
            "compared_match": round(result.compared_percent, 3),
            "time_ranges": json.dumps(
                {
                    "query": _spans(result.query_ranges),
                    "compared": _spans(result.compared_ranges),
                },
                separators=(",", ":"),
            ),
        }


def _spans(ranges: tuple[TimeRange, ...]) -> list[list[float]]:
    return [[round(r.start, 3), round(r.end, 3)] for r in ranges]


def _content_pages(
    store: CaseStore, size: int, run_id: int | None
) -> Iterator[list[tuple[str, str]]]:
    """(sha256, vpdq_version) of every case video content with frames (first hashed by run
    `run_id`, when given), by keyset."""
    last = ""
    while True:
        query = select(video_hashes.c.sha256, video_hashes.c.vpdq_version).where(
            video_hashes.c.sha256 > last, video_hashes.c.frames > 0
        )
        if run_id is not None:
            query = query.where(video_hashes.c.run_id == run_id)
        with store.engine.connect() as conn:
            page = [
                (row.sha256, row.vpdq_version)
                for row in conn.execute(query.order_by(video_hashes.c.sha256).limit(size))
            ]
        if not page:
            return
        yield page
        last = page[-1][0]


def match_videos(
    store: CaseStore, matcher: VideoMatcher, *, run_id: int | None = None
) -> VideoMatchSummary:
    """Match every case video content (those an ingest run `run_id` hashed first, when
    given), `PAGE` contents per transaction; each page's files' video matches of the
    matcher's sets are replaced by what this match finds, and the files' categories decided
    again. The caller holds the case's writer lock."""
    summary = VideoMatchSummary()
    if not matcher.sets:
        return summary
    for page in _content_pages(store, PAGE, run_id):
        with store.engine.begin() as conn:
            found: list[dict[str, Any]] = []
            when = now_iso()
            for sha256, version in page:
                frames = [
                    FrameHash(number, quality, pdq, timestamp)
                    for number, timestamp, quality, pdq in iter_frame_hashes(conn, sha256)
                ]
                hits = matcher.match_video(conn, frames)
                if not hits:
                    continue
                copies = conn.execute(select(files.c.id).where(files.c.sha256 == sha256))
                for file_id in copies.scalars():
                    found += [
                        matcher.row(file_id, set_id, entry_id, result, version, when)
                        for set_id, entry_id, result in hits
                    ]
            file_ids = _files_of(conn, [sha for sha, _ in page])
            summary.added, summary.removed = _save(
                conn, matcher, file_ids, found, (summary.added, summary.removed)
            )
            for r in found:
                s = matcher.sets[r["hashset_id"]]
                summary.found[(f"{s.name} v{s.version}", ALGORITHM)] += 1
            resolve_categories(conn, matcher.scheme, file_ids)
        summary.videos += len(page)
    return summary


def _files_of(conn: Connection, sha256s: list[str]) -> list[int]:
    return list(conn.execute(select(files.c.id).where(files.c.sha256.in_(sha256s))).scalars())


def _save(
    conn: Connection,
    matcher: VideoMatcher,
    file_ids: list[int],
    found: list[dict[str, Any]],
    counts: tuple[int, int],
) -> tuple[int, int]:
    """Replace these files' vPDQ matches of the matcher's sets with `found`; returns the
    running (added, removed) counts (a row found again is neither)."""
    sets = sorted(matcher.sets)
    old = {
        (row.file_id, row.entry_id)
        for row in conn.execute(
            select(matches.c.file_id, matches.c.entry_id).where(
                matches.c.file_id.in_(file_ids),
                matches.c.algorithm == ALGORITHM,
                matches.c.hashset_id.in_(sets),
            )
        )
    }
    new = {(r["file_id"], r["entry_id"]) for r in found}
    if old:
        conn.execute(
            delete(matches).where(
                matches.c.file_id.in_(file_ids),
                matches.c.algorithm == ALGORITHM,
                matches.c.hashset_id.in_(sets),
            )
        )
    if found:
        conn.execute(matches.insert(), found)
    added, removed = counts
    return added + len(new - old), removed + len(old - new)


def match_case_videos(
    store: CaseStore, settings: Settings, *, hashset_ids: Sequence[int] | None = None
) -> VideoMatchSummary:
    """`match_videos` under the case's writer lock (not during an ingest), against the
    active video lists (those of `hashset_ids` when given, which must be active)."""
    if hashset_ids is not None:
        active = {s.id for s in list_hashsets(store)}
        stale = sorted(set(hashset_ids) - active)
        if stale:
            raise ConfigError(f"not an active hash-set version: {', '.join(map(str, stale))}")
    lock = lock_case(store)
    try:
        return match_videos(store, VideoMatcher(store, settings, hashset_ids=hashset_ids))
    except SQLAlchemyError as exc:
        raise StoreError(f"video matching failed on {store.describe_db()}: {exc}") from exc
    finally:
        lock.close()
