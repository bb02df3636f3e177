"""Matching a case's files against the active hash-set versions: exact MD5, SHA-1 and SHA-256
through indexed joins, and PDQ near-duplicates (every dihedral and window hash of a file)
through each version's saved `PdqIndex`. What a row says — which hit, which transform, which
category — is `match_rules`; this module finds the hits and stores them, then has the files'
categories decided again (`categorise`).

A match row is keyed by (file, entry, algorithm) and always holds what a fresh match at the
current settings finds: rows whose best hit changed are updated, rows that no longer hold are
deleted (with `replace`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings, load_settings
from vigil.errors import ConfigError, StoreError
from vigil.index import PdqIndex, hex_to_codes
from vigil.index.codec import check_threshold
from vigil.pipeline import match_rules as rules
from vigil.pipeline.categorise import (
    file_id_pages,
    matches_for,
    resolve_all_categories,
    resolve_categories,
)
from vigil.pipeline.video_matcher import VideoMatcher, match_videos
from vigil.store import CaseStore
from vigil.store.case import now_iso
from vigil.store.hashsets import (
    HashSetInfo,
    list_hashsets,
    pdq_index,
    split_index_id,
    window_scales,
)
from vigil.store.schema import files, hash_entries, matches
from vigil.store.video_lists import is_video_list
from vigil.store.writer import lock_case

__all__ = [
    "MatchSummary",
    "Matcher",
    "file_count",
    "match_case",
    "matches_for",
    "resolve_all_categories",
    "resolve_categories",
]

PAGE = 2000
_CHUNK = 10_000  # ids per IN (…) when deleting: far below SQLite's 32,766 variables
# The columns of a match row that a fresh match may find different (not `matched_at`).
_COMPARED = (
    "hashset_id",
    "algorithm_version",
    "distance",
    "threshold",
    "transform",
    "category",
    "strength",
)


@dataclass
class MatchSummary:
    files: int = 0
    found: Counter[tuple[str, str]] = field(default_factory=Counter)  # (set, algorithm)
    added: int = 0
    updated: int = 0
    removed: int = 0
    categorised: dict[int, int] = field(default_factory=dict)  # category → files
    threshold: int = 31
    seconds: float = 0.0


class Matcher:
    """Matches files against every active set version (or the `hashset_ids` given, which must
    be active) at the settings' `pdq_threshold` and `pdq_min_quality` (the case's settings
    when none are given). Opens each version's PDQ index memory-mapped once. A context
    manager."""

    def __init__(
        self,
        store: CaseStore,
        settings: Settings | None = None,
        *,
        hashset_ids: Sequence[int] | None = None,
    ) -> None:
        settings = settings if settings is not None else load_settings(store.case_dir)
        self.store = store
        self.threshold = check_threshold(settings.pdq_threshold)
        self.min_quality = settings.pdq_min_quality
        self.weak_distance = max(self.threshold, settings.weak_pdq_distance)
        self.weak_low_quality = min(settings.weak_low_quality_distance, self.threshold)
        self.scheme = store.scheme
        sets = list_hashsets(store)
        if hashset_ids is not None:
            active = {s.id for s in sets}
            stale = sorted(set(hashset_ids) - active)
            if stale:
                raise ConfigError(f"not an active hash-set version: {', '.join(map(str, stale))}")
            sets = [s for s in sets if s.id in set(hashset_ids)]
        # Video lists are `video_matcher`'s: their entries have neither digests nor PDQ.
        sets = [s for s in sets if not is_video_list(s)]
        self.sets: dict[int, HashSetInfo] = {s.id: s for s in sets}
        self._indexes: list[tuple[int, PdqIndex]] = []
        for s in sets:
            index = pdq_index(store, s.id) if s.pdq_entries else None
            if index is not None and len(index):
                self._indexes.append((s.id, index))
        self._known_scales = window_scales()
        self.found: Counter[tuple[str, str]] = Counter()
        self.updated = 0
        self.removed = 0
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        self._insert = insert[store.engine.dialect.name](matches).on_conflict_do_nothing(
            index_elements=[matches.c.file_id, matches.c.entry_id, matches.c.algorithm]
        )
        self._update = (
            update(matches)
            .where(matches.c.id == bindparam("mid"))
            .values({name: bindparam(f"new_{name}") for name in (*_COMPARED, "matched_at")})
        )

    def label(self, hashset_id: int) -> str:
        s = self.sets[hashset_id]
        return f"{s.name} v{s.version}"

    # -- matching --------------------------------------------------------------------------

    def match_files(self, conn: Connection, file_ids: list[int], *, replace: bool = False) -> int:
        """Match these files inside the caller's transaction, then decide their categories.
        With `replace`, this matcher's sets' matches of these files that no longer hold (a
        lower threshold) are deleted. Returns the number of match rows added."""
        if not file_ids:
            return 0
        found = self._exact(conn, file_ids) if self.sets else []
        if self._indexes:
            found += self._near(conn, file_ids)
        added = self._save(conn, file_ids, found, replace) if self.sets or replace else 0
        for row in found:
            self.found[(self.label(row["hashset_id"]), row["algorithm"])] += 1
        resolve_categories(conn, self.scheme, file_ids)
        return added

    def _category(
        self, hashset_id: int, entry_category: int | None, list_category: int | None
    ) -> int | None:
        s = self.sets[hashset_id]
        return rules.match_category(self.scheme, s.kind, entry_category, list_category, s.category)

    def _row(
        self,
        file_id: int,
        set_id: int,
        entry: tuple[int, int | None, int | None],
        algorithm: str,
        distance: int,
        transform: str,
        version: str,
        when: str,
        weak_limit: int = 0,
    ) -> dict[str, Any]:
        """A match row; `weak_limit` > 0 makes it a weak match admitted by that distance."""
        entry_id, entry_category, list_category = entry
        strong_threshold = self.threshold if algorithm == "pdq" else 0
        return {
            "file_id": file_id,
            "hashset_id": set_id,
            "entry_id": entry_id,
            "algorithm": algorithm,
            "algorithm_version": version,
            "distance": distance,
            "threshold": weak_limit or strong_threshold,
            "transform": transform,
            "category": None
            if weak_limit
            else self._category(set_id, entry_category, list_category),
            "strength": "weak" if weak_limit else "strong",
            "matched_at": when,
        }

    def _exact(self, conn: Connection, file_ids: list[int]) -> list[dict[str, Any]]:
        # The set filter is applied here, not in SQL: offered `hashset_id IN (…)`, SQLite
        # (which has no statistics) walks every entry of the set instead of probing by hash.
        when = now_iso()
        first: dict[tuple[int, int, str, int | None], dict[str, Any]] = {}
        for algo in rules.CRYPTO:
            query = (
                select(
                    files.c.id,
                    hash_entries.c.hashset_id,
                    hash_entries.c.id.label("entry_id"),
                    hash_entries.c.category,
                    hash_entries.c.list_category,
                )
                .select_from(files.join(hash_entries, hash_entries.c[algo] == files.c[algo]))
                .where(files.c.id.in_(file_ids), files.c.size > 0)  # empty content: never
            )
            for fid, sid, eid, cat, list_cat in conn.execute(query):
                if sid not in self.sets:
                    continue
                row = self._row(
                    fid, sid, (eid, cat, list_cat), algo, 0, "original", rules.CRYPTO_VERSION, when
                )
                key = (fid, sid, algo, row["category"])
                if key not in first or eid < first[key]["entry_id"]:
                    first[key] = row
        return list(first.values())

    def _near(self, conn: Connection, file_ids: list[int]) -> list[dict[str, Any]]:
        rows = [
            row
            for row in conn.execute(
                select(
                    files.c.id,
                    files.c.pdq,
                    files.c.pdq_quality,
                    files.c.pdq_dihedral,
                    files.c.pdq_windows,
                    files.c.pdq_version,
                    files.c.windows_version,
                ).where(files.c.id.in_(file_ids), files.c.size > 0)  # only by id: see _exact
            )
            if row.pdq is not None and row.pdq_quality is not None
        ]
        if not rows:
            return []
        # One query per hash, a file's queries contiguous: its 8 dihedral hashes in
        # DIHEDRAL_ORDER (or just its PDQ), then its windows.
        hexes: list[str] = []
        qfile: list[int] = []
        labels: list[str] = []
        versions: dict[int, tuple[str | None, str | None]] = {}
        low = {row.id for row in rows if row.pdq_quality < self.min_quality}
        for row in rows:
            hashes = row.pdq_dihedral.split(",") if row.pdq_dihedral else [row.pdq]
            hexes += hashes
            labels += rules.DIHEDRAL_LABELS[: len(hashes)]
            qfile += [row.id] * len(hashes)
            for part in row.pdq_windows.split(",") if row.pdq_windows else ():
                scale, _, hexa = part.partition(":")
                hexes.append(hexa.strip())
                labels.append(rules.case_window_label(scale))
                qfile.append(row.id)
            versions[row.id] = (row.pdq_version, row.windows_version)
        try:
            codes = hex_to_codes(hexes)
        except ValueError as exc:
            raise StoreError(f"a file's PDQ hashes in the case are malformed: {exc}") from exc
        is_window = np.array([label.startswith("crop") for label in labels], dtype=bool)
        qfiles = np.asarray(qfile, dtype=np.int64)
        low_quality = np.isin(qfiles, np.fromiter(low, dtype=np.int64, count=len(low)))
        best: list[tuple[int, int, int, int, int, int]] = []  # file, set, entry, dist, q, var
        # The weak band past the threshold is searched with each good picture's own hash only:
        # a radius of 40 costs about 12 times one of 31 (measured on 1M hashes), and the
        # other 15 queries of a picture would multiply that for hits nobody categorises.
        band = np.flatnonzero(
            (np.asarray(labels) == rules.DIHEDRAL_LABELS[0]) & ~low_quality & ~is_window
        )
        for set_id, index in self._indexes:
            hits = index.search(codes, threshold=self.threshold)
            if self.weak_distance > self.threshold and len(band):
                extra = index.search(codes[band], threshold=self.weak_distance)
                extra = extra[extra["distance"] > self.threshold]
                extra["query"] = band[extra["query"]]
                hits = np.concatenate([hits, extra])
            q, dist = hits["query"], hits["distance"]
            weak = rules.weak_hits(
                dist, low_quality[q], self.threshold, self.weak_distance, self.weak_low_quality
            )
            keep = weak >= 0
            hits, weak = hits[keep], weak[keep].astype(bool)
            if not len(hits):
                continue
            entry, variant = split_index_id(hits["id"])
            q, dist, fid = hits["query"], hits["distance"], qfiles[hits["query"]]
            chosen = rules.best_hits(
                fid, entry, dist, q, variant, is_window[q] | (variant > 0), weak
            )
            best += [
                (int(fid[i]), set_id, int(entry[i]), int(dist[i]), int(q[i]), int(variant[i]))
                for i in chosen
            ]
        if not best:
            return []
        entries = {
            eid: (eid, cat, list_cat)
            for eid, cat, list_cat in conn.execute(
                select(
                    hash_entries.c.id, hash_entries.c.category, hash_entries.c.list_category
                ).where(hash_entries.c.id.in_(sorted({b[2] for b in best})))
            )
        }
        when = now_iso()
        out = []
        for fid, sid, eid, dist, q, var in best:
            pdq_version, windows_version = versions[fid]
            version = rules.algorithm_version(
                "pdq", pdq_version, windows_version, via_window=bool(is_window[q])
            )
            transform = rules.transform_label(labels[q], var, self._known_scales)
            entry_row = entries.get(eid, (eid, None, None))
            limit = 0
            if fid in low:
                limit = self.weak_low_quality
            elif dist > self.threshold:
                limit = self.weak_distance
            out.append(self._row(fid, sid, entry_row, "pdq", dist, transform, version, when, limit))
        return out

    def _save(
        self, conn: Connection, file_ids: list[int], found: list[dict[str, Any]], replace: bool
    ) -> int:
        have: dict[tuple[int, int, str], Any] = {}
        if self.sets:
            for row in conn.execute(
                select(
                    matches.c.id,
                    matches.c.file_id,
                    matches.c.entry_id,
                    matches.c.algorithm,
                    *(matches.c[name] for name in _COMPARED),
                ).where(matches.c.file_id.in_(file_ids))  # only by file: see _exact
            ):
                if row.hashset_id in self.sets:
                    have[(row.file_id, row.entry_id, row.algorithm)] = row
        new, changed = [], []
        for r in found:
            old = have.get((r["file_id"], r["entry_id"], r["algorithm"]))
            if old is None:
                new.append(r)
            elif any(getattr(old, name) != r[name] for name in _COMPARED):
                changed.append(
                    {"mid": old.id, **{f"new_{k}": r[k] for k in (*_COMPARED, "matched_at")}}
                )
        if new:
            conn.execute(self._insert, new)
        if changed:
            conn.execute(self._update, changed)
            self.updated += len(changed)
        if replace and have:
            wanted = {(r["file_id"], r["entry_id"], r["algorithm"]) for r in found}
            stale = sorted(row.id for key, row in have.items() if key not in wanted)
            for i in range(0, len(stale), _CHUNK):
                conn.execute(delete(matches).where(matches.c.id.in_(stale[i : i + _CHUNK])))
            self.removed += len(stale)
        return len(new)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._indexes.clear()  # drops the memory maps

    def __enter__(self) -> Matcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def match_case(
    store: CaseStore,
    settings: Settings | None = None,
    *,
    hashset_ids: Sequence[int] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> MatchSummary:
    """Match every file of the case, `PAGE` files per transaction (an interrupted run leaves
    every page consistent; run it again). Takes the case's writer lock: not during an ingest.

    With `hashset_ids` None this is a full re-match at the settings (the case's when None):
    each page's matches of the active sets that no longer hold are deleted as the page is
    redone. With ids given, only matches of those (active) versions are added or updated.
    Categories of every file are decided again. Videos are then matched against the video
    lists among those sets (`video_matcher`), their rows counted in the same summary.
    """
    started = time.monotonic()
    settings = settings if settings is not None else load_settings(store.case_dir)
    summary = MatchSummary(threshold=settings.pdq_threshold)
    lock = lock_case(store)
    try:
        with Matcher(store, settings, hashset_ids=hashset_ids) as matcher:
            for page in file_id_pages(store, PAGE):
                with store.engine.begin() as conn:
                    summary.added += matcher.match_files(conn, page, replace=hashset_ids is None)
                summary.files += len(page)
                if on_progress is not None:
                    on_progress(len(page))
            summary.found = matcher.found
            summary.removed = matcher.removed
            summary.updated = matcher.updated
        videos = match_videos(store, VideoMatcher(store, settings, hashset_ids=hashset_ids))
        summary.found += videos.found
        summary.added += videos.added
        summary.removed += videos.removed
        with store.engine.connect() as conn:
            summary.categorised = dict(
                conn.execute(
                    select(files.c.category, func.count())
                    .where(files.c.category.is_not(None))
                    .group_by(files.c.category)
                ).all()
            )
    except SQLAlchemyError as exc:
        raise StoreError(f"matching failed on {store.describe_db()}: {exc}") from exc
    finally:
        lock.close()
    summary.seconds = time.monotonic() - started
    return summary


def file_count(store: CaseStore) -> int:
    """How many file rows the case holds (the total for a progress bar)."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(files)).scalar_one())
