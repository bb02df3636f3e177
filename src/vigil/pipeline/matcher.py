"""Matching a case's files against the active hash-set versions: exact MD5, SHA-1 and SHA-256
through indexed joins, and PDQ near-duplicates (every dihedral and centred-window hash of a
file) through each version's saved `PdqIndex`. Matches are written idempotently and the
files' categories decided again (`categorise`).

A match row is keyed by (file, entry, algorithm). Inserts skip rows already there: for a
given file and entry the best PDQ distance does not depend on the threshold, so a row that
exists already holds the same best hit; its `threshold` is the one it was first found at.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import ConfigError, StoreError
from vigil.hashing.pdq import DIHEDRAL_ORDER
from vigil.hashing.pdq import VERSION as PDQ_VERSION
from vigil.index import PdqIndex, hex_to_codes
from vigil.index.codec import check_threshold
from vigil.pipeline.categorise import (
    file_id_pages,
    matches_for,
    resolve_all_categories,
    resolve_categories,
)
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
CRYPTO = ("md5", "sha1", "sha256")
CRYPTO_VERSION = "1"
_CHUNK = 10_000  # ids per IN (…) when deleting: far below SQLite's 32,766 variables

# What the case file is, relative to the known image, when its dihedral hash `name` (the hash
# it would have after that transform) matches the known hash: the inverse transform. Pillow's
# ROTATE_90 is anticlockwise, so "rot90" is a quarter turn anticlockwise; "mirror" is a
# left-right flip, "flip" top-bottom, "transpose"/"transverse" the two diagonal flips.
TRANSFORM_OF: dict[str, str] = {
    "original": "original",
    "rot90": "rot270",
    "rot180": "rot180",
    "rot270": "rot90",
    "flipx": "flip",
    "flipy": "mirror",
    "flip_plus1": "transpose",
    "flip_minus1": "transverse",
}
_DIHEDRAL_LABELS = [TRANSFORM_OF[name] for name in DIHEDRAL_ORDER]


@dataclass
class MatchSummary:
    files: int = 0
    found: Counter[tuple[str, str]] = field(default_factory=Counter)  # (set, algorithm)
    added: int = 0
    removed: int = 0
    categorised: dict[int, int] = field(default_factory=dict)  # category → files
    threshold: int = 31
    seconds: float = 0.0


def _scale_text(text: str) -> str:
    try:
        return f"{float(text):g}"
    except ValueError:
        return text.strip()[:8]


class Matcher:
    """Matches files against every active set version (or the `hashset_ids` given, which must
    be active). Opens each version's PDQ index memory-mapped once. A context manager."""

    def __init__(
        self,
        store: CaseStore,
        *,
        pdq_threshold: int = 31,
        min_quality: int = 50,
        hashset_ids: Sequence[int] | None = None,
    ) -> None:
        self.store = store
        self.threshold = check_threshold(pdq_threshold)
        self.min_quality = min_quality
        self.scheme = store.scheme
        sets = list_hashsets(store)
        if hashset_ids is not None:
            active = {s.id for s in sets}
            stale = sorted(set(hashset_ids) - active)
            if stale:
                raise ConfigError(f"not an active hash-set version: {', '.join(map(str, stale))}")
            sets = [s for s in sets if s.id in set(hashset_ids)]
        self.sets: dict[int, HashSetInfo] = {s.id: s for s in sets}
        self._indexes: list[tuple[int, PdqIndex]] = []
        for s in sets:
            index = pdq_index(store, s.id) if s.pdq_entries else None
            if index is not None and len(index):
                self._indexes.append((s.id, index))
        self._known_windows = [f"crop:known-{_scale_text(t)}" for t in window_scales()]
        self.found: Counter[tuple[str, str]] = Counter()
        self.removed = 0
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        self._insert = insert[store.engine.dialect.name](matches).on_conflict_do_nothing(
            index_elements=[matches.c.file_id, matches.c.entry_id, matches.c.algorithm]
        )

    def label(self, hashset_id: int) -> str:
        s = self.sets[hashset_id]
        return f"{s.name} v{s.version}"

    # -- matching --------------------------------------------------------------------------

    def match_files(self, conn: Connection, file_ids: list[int], *, replace: bool = False) -> int:
        """Match these files inside the caller's transaction, then decide their categories.
        With `replace`, this matcher's sets' matches of these files that no longer hold (a
        lower threshold) are deleted. Returns the number of match rows added."""
        if not file_ids or (not self.sets and not replace):
            return 0  # nothing to match against: no work on the ingest flush path
        found = self._exact(conn, file_ids) if self.sets else []
        if self._indexes:
            found += self._near(conn, file_ids)
        added = self._save(conn, file_ids, found, replace)
        for row in found:
            self.found[(self.label(row["hashset_id"]), row["algorithm"])] += 1
        resolve_categories(conn, self.scheme, file_ids)
        return added

    def _category(self, hashset_id: int, entry_category: int | None) -> int | None:
        s = self.sets[hashset_id]
        if s.kind == "ignorable":
            return self.scheme.non_pertinent
        if s.kind == "reference":
            return None
        return entry_category if entry_category is not None else s.category

    def _row(
        self,
        file_id: int,
        set_id: int,
        entry_id: int,
        entry_category: int | None,
        algorithm: str,
        distance: int,
        transform: str,
        when: str,
    ) -> dict[str, Any]:
        pdq = algorithm == "pdq"
        return {
            "file_id": file_id,
            "hashset_id": set_id,
            "entry_id": entry_id,
            "algorithm": algorithm,
            "algorithm_version": PDQ_VERSION if pdq else CRYPTO_VERSION,
            "distance": distance,
            "threshold": self.threshold if pdq else 0,
            "transform": transform,
            "category": self._category(set_id, entry_category),
            "matched_at": when,
        }

    def _exact(self, conn: Connection, file_ids: list[int]) -> list[dict[str, Any]]:
        # The set filter is applied here, not in SQL: offered `hashset_id IN (…)`, SQLite
        # (which has no statistics) walks every entry of the set instead of probing by hash.
        when, out = now_iso(), []
        for algo in CRYPTO:
            query = (
                select(
                    files.c.id,
                    hash_entries.c.hashset_id,
                    hash_entries.c.id.label("entry_id"),
                    hash_entries.c.category,
                )
                .select_from(files.join(hash_entries, hash_entries.c[algo] == files.c[algo]))
                .where(files.c.id.in_(file_ids))
            )
            for fid, sid, eid, cat in conn.execute(query):
                if sid in self.sets:
                    out.append(self._row(fid, sid, eid, cat, algo, 0, "original", when))
        return out

    def _near(self, conn: Connection, file_ids: list[int]) -> list[dict[str, Any]]:
        rows = [
            (fid, pdq, dihedral, windows)
            for fid, pdq, quality, dihedral, windows in conn.execute(
                select(
                    files.c.id,
                    files.c.pdq,
                    files.c.pdq_quality,
                    files.c.pdq_dihedral,
                    files.c.pdq_windows,
                ).where(files.c.id.in_(file_ids))  # only by id: see _exact
            )
            if pdq is not None and quality is not None and quality >= self.min_quality
        ]
        if not rows:
            return []
        # One query per hash, a file's queries contiguous: its 8 dihedral hashes in
        # DIHEDRAL_ORDER (or just its PDQ), then its windows; query order breaks distance ties.
        hexes: list[str] = []
        qfile: list[int] = []
        labels: list[str] = []
        for fid, pdq, dihedral, windows in rows:
            hashes = dihedral.split(",") if dihedral else [pdq]
            hexes += hashes
            labels += _DIHEDRAL_LABELS[: len(hashes)]
            qfile += [fid] * len(hashes)
            for part in windows.split(",") if windows else ():
                scale, _, hexa = part.partition(":")
                hexes.append(hexa.strip())
                labels.append(f"crop:{_scale_text(scale)}")
                qfile.append(fid)
        try:
            codes = hex_to_codes(hexes)
        except ValueError as exc:
            raise StoreError(f"a file's PDQ hashes in the case are malformed: {exc}") from exc
        is_window = np.array([label.startswith("crop") for label in labels], dtype=bool)
        qfiles = np.asarray(qfile, dtype=np.int64)
        best: list[tuple[int, int, int, int, int, int]] = []  # file, set, entry, dist, q, var
        for set_id, index in self._indexes:
            hits = index.search(codes, threshold=self.threshold)
            if not len(hits):
                continue
            entry, variant = split_index_id(hits["id"])
            q = hits["query"]
            # Window against window stays in: it is what finds captions and logos drawn inside
            # a picture, and benchmarks/crops.py measured no false match from it. A whole-
            # picture hit wins over any window hit, so a resized copy is not called a crop.
            dist = hits["distance"]
            fid = qfiles[q]
            via_window = is_window[q] | (variant > 0)
            order = np.lexsort((variant, q, dist, via_window, entry, fid))
            first = np.ones(len(order), dtype=bool)
            pairs = np.stack([fid[order], entry[order]], axis=1)
            first[1:] = (pairs[1:] != pairs[:-1]).any(axis=1)
            for i in order[first]:
                best.append(
                    (int(fid[i]), set_id, int(entry[i]), int(dist[i]), int(q[i]), int(variant[i]))
                )
        if not best:
            return []
        categories = dict(
            conn.execute(
                select(hash_entries.c.id, hash_entries.c.category).where(
                    hash_entries.c.id.in_(sorted({b[2] for b in best}))
                )
            ).all()
        )
        when = now_iso()
        return [
            self._row(
                fid,
                sid,
                eid,
                categories.get(eid),
                "pdq",
                dist,
                self._transform(labels[q], var),
                when,
            )
            for fid, sid, eid, dist, q, var in best
        ]

    def _transform(self, label: str, variant: int) -> str:
        if variant == 0:
            return label
        known = (
            self._known_windows[variant - 1]
            if variant <= len(self._known_windows)
            else f"crop:known-w{variant}"
        )
        return known if label == "original" else f"{label}+{known}"

    def _save(
        self, conn: Connection, file_ids: list[int], found: list[dict[str, Any]], replace: bool
    ) -> int:
        have: dict[tuple[int, int, str], int] = {}
        if self.sets:
            for mid, sid, fid, eid, algo in conn.execute(
                select(
                    matches.c.id,
                    matches.c.hashset_id,
                    matches.c.file_id,
                    matches.c.entry_id,
                    matches.c.algorithm,
                ).where(matches.c.file_id.in_(file_ids))  # only by file: see _exact
            ):
                if sid in self.sets:
                    have[(fid, eid, algo)] = mid
        new = [r for r in found if (r["file_id"], r["entry_id"], r["algorithm"]) not in have]
        if new:
            conn.execute(self._insert, new)
        if replace and have:
            wanted = {(r["file_id"], r["entry_id"], r["algorithm"]) for r in found}
            stale = sorted(mid for key, mid in have.items() if key not in wanted)
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
    *,
    pdq_threshold: int = 31,
    hashset_ids: Sequence[int] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> MatchSummary:
    """Match every file of the case, `PAGE` files per transaction (an interrupted run leaves
    every page consistent; run it again). Takes the case's writer lock: not during an ingest.

    With `hashset_ids` None this is a full re-match at `pdq_threshold`: each page's matches of
    the active sets that no longer hold are deleted as the page is redone. With ids given, only
    matches of those (active) versions are added. Categories of every file are decided again.
    """
    started = time.monotonic()
    summary = MatchSummary(threshold=pdq_threshold)
    lock = lock_case(store)
    try:
        with Matcher(store, pdq_threshold=pdq_threshold, hashset_ids=hashset_ids) as matcher:
            for page in file_id_pages(store, PAGE):
                with store.engine.begin() as conn:
                    summary.added += matcher.match_files(conn, page, replace=hashset_ids is None)
                summary.files += len(page)
                if on_progress is not None:
                    on_progress(len(page))
            summary.found = matcher.found
            summary.removed = matcher.removed
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
