"""The priority queue: the groups that still need a human, most urgent first, each with its
score and its reasons in words.

A group (series, visual cluster, or single content with all its copies) is in the queue when
one of its pictures or videos is in state ``review`` (`pipeline.categorise`). Its score is the
sum of the weights (`vigil.triage.weights`) of the reasons that hold for it; ties go to the
smaller label, so the order is reproducible.

The case's media files are read once, ordered so that each group's files are adjacent, and
only the best `limit` groups are kept (a heap), so memory follows `limit`, not the case.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, tuple_

from vigil.store import CaseStore
from vigil.store.schema import contents, files
from vigil.triage.devices import bodies_with_matched
from vigil.triage.originals import editor_named, is_camera_original, thumbnail_differs
from vigil.triage.weights import RECENT_DAYS, Weights

MEDIA_KINDS = ("image", "video")
MAX_PATHS = 1000  # paths listed per group; `file_count` says how many it holds
_PAGE = 5000


@dataclass(order=True)
class QueueItem:
    sort_key: tuple[float, str] = field(repr=False)
    group: str = field(compare=False)
    kind: str = field(compare=False)
    score: float = field(compare=False)
    reasons: list[str] = field(compare=False)
    files: list[str] = field(compare=False)
    file_count: int = field(compare=False)
    hashes: list[str] = field(compare=False, repr=False)  # each listed file's SHA-256

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "kind": self.kind,
            "score": self.score,
            "reasons": self.reasons,
            "files": self.files,
            "file_count": self.file_count,
        }


@dataclass
class _Group:
    unit: tuple
    first_file_id: int
    contents: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    count: int = 0
    review: int = 0
    why: dict[str, int] = field(default_factory=dict)  # review reason → files
    originals: int = 0
    edited: set[str] = field(default_factory=set)
    thumb_differs: int = 0
    gps: int = 0
    newest: str | None = None
    bodies: set[tuple[str, str, str]] = field(default_factory=set)


def build_queue(
    store: CaseStore,
    weights: Weights,
    *,
    limit: int | None = 100,
    threshold: int = 31,
    now: datetime | None = None,
) -> list[QueueItem]:
    """The `limit` most urgent groups (all with None), best first."""
    now = now or datetime.now()
    recent = (now - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    with store.engine.connect() as conn:
        linked = bodies_with_matched(conn, store.scheme.non_pertinent)
    heap: list[QueueItem] = []
    for group in _groups(store, threshold):
        if not group.review:
            continue
        item = _score(group, weights, linked, recent)
        if limit is None:
            heap.append(item)
        elif len(heap) < limit:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return sorted(heap, reverse=True)


def _score(group: _Group, w: Weights, linked: set, recent: str) -> QueueItem:
    parts: list[tuple[float, str]] = []
    unmatched = group.why.get("no match in any hash set", 0)
    if unmatched:
        parts.append((w.unmatched, f"{unmatched} file(s) match no hash set"))
    shared = sorted(group.bodies & linked)
    if shared:
        names = "; ".join(" ".join(b) for b in shared[:3])
        parts.append((w.device_with_matched, f"camera body also made matched material: {names}"))
    if group.originals:
        parts.append((w.camera_original, f"{group.originals} camera original(s), no editor"))
    weak = sorted(r for r in group.why if r.startswith("weak match"))
    if weak:
        parts.append((w.weak_match, weak[0]))
    uncategorised = sorted(r for r in group.why if r.startswith("alert match without"))
    if uncategorised:
        parts.append((w.alert_uncategorised, uncategorised[0]))
    if group.thumb_differs:
        parts.append((w.thumbnail_differs, "embedded thumbnail shows a different picture"))
    kind, label = _kind_and_label(group)
    if kind == "series":
        parts.append((w.series, "series: tied by camera body, burst or thumbnail"))
    if group.gps:
        parts.append((w.gps, f"GPS position in {group.gps} file(s)"))
    if group.newest and group.newest >= recent:
        parts.append((w.recent, f"recent capture ({group.newest[:10]})"))
    parts.append((w.size_score(group.count), f"{group.count} file(s) in the group"))
    if group.edited:
        parts.append((0.0, f"edited with {sorted(group.edited)[0]}"))
    score = round(sum(p for p, _ in parts), 3)
    reasons = [text for points, text in sorted(parts, key=lambda p: -p[0]) if text]
    return QueueItem(
        (score, _inverted(label)),
        label,
        kind,
        score,
        reasons,
        group.paths,
        group.count,
        group.hashes,
    )


def _inverted(label: str) -> str:
    """A key that sorts labels in reverse, so the heap's ties go to the smaller label."""
    return "".join(chr(0x10FFFF - ord(c)) for c in label)


def _kind_and_label(group: _Group) -> tuple[str, str]:
    kind, key = group.unit[0], group.unit[1]
    if kind == "s":
        return "series", f"s{key}"
    if kind == "c" and len(group.contents) > 1:
        return "cluster", f"c{key}"
    return "file", f"f{group.first_file_id}"


def _groups(store: CaseStore, threshold: int) -> Iterator[_Group]:
    """Every grouped media file, folded into its group, groups one after another."""
    current: _Group | None = None
    for row in _rows(store):
        unit = (
            ("s", row.series_id)
            if row.series_id is not None
            else ("c", row.cluster_id)
            if row.cluster_id is not None
            else ("h", row.sha256)
        )
        if current is None or current.unit != unit:
            if current is not None:
                yield current
            current = _Group(unit, row.first_file_id)
        _fold(current, row, threshold)
    if current is not None:
        yield current


def _fold(group: _Group, row: Any, threshold: int) -> None:
    group.contents.add(row.sha256)
    group.first_file_id = min(group.first_file_id, row.first_file_id)
    group.count += 1
    if len(group.paths) < MAX_PATHS:
        group.paths.append(row.path)
        group.hashes.append(row.sha256)
    if row.gps_lat is not None:
        group.gps += 1
    if row.captured_at and (group.newest is None or row.captured_at > group.newest):
        group.newest = row.captured_at
    if row.camera_serial and row.camera_make and row.camera_model:
        group.bodies.add((row.camera_make, row.camera_model, row.camera_serial))
    if row.state != "review":
        return
    group.review += 1
    reason = row.review_reason or "no match in any hash set"
    group.why[reason] = group.why.get(reason, 0) + 1
    exif = json.loads(row.exif) if row.exif else {}
    if is_camera_original(exif):
        group.originals += 1
    editor = editor_named(exif)
    if editor:
        group.edited.add(editor)
    if thumbnail_differs(exif, row.pdq, threshold):
        group.thumb_differs += 1


# The queue's read order: series first, then clusters, then single contents, each by id, so
# a group's files are adjacent. NULL ids become 0 behind a flag, the same on every database.
_ORDER = (
    case((contents.c.series_id.is_(None), 1), else_=0),
    func.coalesce(contents.c.series_id, 0),
    case((contents.c.cluster_id.is_(None), 1), else_=0),
    func.coalesce(contents.c.cluster_id, 0),
    files.c.sha256,
    files.c.id,
)


def _rows(store: CaseStore) -> Iterator[Any]:
    """Media files with their group columns, by group, by keyset pages (short reads)."""
    query = (
        select(
            files.c.id,
            files.c.sha256,
            files.c.path,
            files.c.state,
            files.c.review_reason,
            files.c.exif,
            files.c.pdq,
            files.c.gps_lat,
            files.c.captured_at,
            files.c.camera_make,
            files.c.camera_model,
            files.c.camera_serial,
            contents.c.first_file_id,
            contents.c.cluster_id,
            contents.c.series_id,
            *(column.label(f"k{i}") for i, column in enumerate(_ORDER[:4])),
        )
        .join(contents, contents.c.sha256 == files.c.sha256)
        .where(files.c.kind.in_(MEDIA_KINDS))
        .order_by(*_ORDER)
        .limit(_PAGE)
    )
    after: tuple | None = None
    while True:
        page = query if after is None else query.where(tuple_(*_ORDER) > tuple_(*after))
        with store.engine.connect() as conn:
            rows = conn.execute(page).all()
        yield from rows
        if len(rows) < _PAGE:
            return
        last = rows[-1]
        after = (last.k0, last.k1, last.k2, last.k3, last.sha256, last.id)
