"""Series candidates: clusters and single pictures tied together by evidence that they were
made by the same person, so one look at a series covers pictures no hash relates.

A tie joins the groups (visual cluster, else single content) of two contents when

- **camera body**: both carry the same EXIF make + model + serial (the serial from the
  standard tags, the maker note or XMP: `vigil.media.serials`). Make + model alone is a
  product, not a body, and never ties;
- **burst**: both sit in the same folder or archive, come from the same make + model, and
  were captured within `burst_seconds` of each other (consecutive pictures of a sequence; a
  folder alone ties nothing, since a "Pictures" folder holds everything);
- **thumbnail**: both embed the same EXIF thumbnail (an edited or cropped copy keeps the
  thumbnail of the picture it was made from).

Ties are transitive: a series is a connected set of groups. Two series joined by a new tie
merge into the older (smaller id); the younger keeps its row with `merged_into`. A burst that
spans two ingest runs is only found when the runs' files are adjacent in one pass (the last
picture per folder and camera is remembered for the rest of the pass).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from vigil.store.case import now_iso
from vigil.store.groups import current_series
from vigil.store.schema import contents, files, series

CAMERA_BODY, BURST, THUMBNAIL = "camera body", "burst", "thumbnail"
_IN = 2000


@dataclass(frozen=True, slots=True)
class Sighting:
    """What series ties read of one new content (from its first file)."""

    sha256: str
    cluster_id: int | None
    folder: str
    make: str | None
    model: str | None
    serial: str | None
    captured_at: str | None
    thumb_sha256: str | None


class SeriesBuilder:
    """Finds ties for new contents, page after page of one grouping pass, and stores the
    series they make."""

    def __init__(self, *, burst_seconds: int) -> None:
        self.burst_seconds = burst_seconds
        self.ties: Counter[str] = Counter()
        self._bodies: dict[tuple[str, str, str], str] = {}
        self._last_shot: dict[tuple[str, str, str], tuple[datetime, str]] = {}

    def add(self, conn: Connection, sightings: Sequence[Sighting]) -> None:
        pairs = [
            *self._body_ties(conn, sightings),
            *self._burst_ties(sightings),
            *_thumbnail_ties(conn, sightings),
        ]
        pairs = [(a, b, why) for a, b, why in pairs if a != b]
        if pairs:
            _store(conn, pairs)
            self.ties.update(why for _, _, why in pairs)

    def _body_ties(self, conn: Connection, sightings: Sequence[Sighting]) -> Iterable[tuple]:
        for s in sightings:
            if not (s.make and s.model and s.serial):
                continue
            body = (s.make, s.model, s.serial)
            first = self._bodies.get(body)
            if first is None:
                first = (
                    conn.execute(
                        select(contents.c.sha256)
                        .join(files, files.c.id == contents.c.first_file_id)
                        .where(
                            files.c.camera_make == s.make,
                            files.c.camera_model == s.model,
                            files.c.camera_serial == s.serial,
                        )
                        .order_by(contents.c.first_file_id)
                        .limit(1)
                    ).scalar()
                    or s.sha256
                )
                self._bodies[body] = first
            yield first, s.sha256, CAMERA_BODY

    def _burst_ties(self, sightings: Sequence[Sighting]) -> Iterable[tuple]:
        shots = []
        for s in sightings:
            when = _moment(s.captured_at)
            if when is not None and s.make and s.model:
                shots.append(((s.folder, s.make, s.model), when, s.sha256))
        shots.sort()
        for key, when, sha in shots:
            last = self._last_shot.get(key)
            if last is not None and abs((when - last[0]).total_seconds()) <= self.burst_seconds:
                yield last[1], sha, BURST
            self._last_shot[key] = (when, sha)


def _thumbnail_ties(conn: Connection, sightings: Sequence[Sighting]) -> Iterable[tuple]:
    thumbs = sorted({s.thumb_sha256 for s in sightings if s.thumb_sha256})
    first: dict[str, str] = {}
    for i in range(0, len(thumbs), _IN):
        rows = conn.execute(
            select(files.c.thumb_sha256, contents.c.sha256)
            .join(contents, contents.c.first_file_id == files.c.id)
            .where(files.c.thumb_sha256.in_(thumbs[i : i + _IN]))
            .order_by(contents.c.first_file_id)
        )
        for thumb, sha in rows:
            first.setdefault(thumb, sha)
    for s in sightings:
        if s.thumb_sha256 in first:
            yield first[s.thumb_sha256], s.sha256, THUMBNAIL


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _store(conn: Connection, pairs: list[tuple[str, str, str]]) -> None:
    """Union the groups the pairs tie, and write the series they form or join."""
    involved = sorted({h for a, b, _ in pairs for h in (a, b)})
    where: dict[str, tuple[str, int | str, int | None]] = {}
    for i in range(0, len(involved), _IN):
        for sha, cluster_id, series_id in conn.execute(
            select(contents.c.sha256, contents.c.cluster_id, contents.c.series_id).where(
                contents.c.sha256.in_(involved[i : i + _IN])
            )
        ):
            unit = ("c", cluster_id) if cluster_id is not None else ("h", sha)
            where[sha] = (*unit, series_id)
    parent: dict[tuple, tuple] = {}

    def root(unit: tuple) -> tuple:
        while parent.get(unit, unit) != unit:
            unit = parent[unit] = parent.get(parent[unit], parent[unit])
        return unit

    reasons: dict[tuple, Counter[str]] = {}
    tied: set[tuple] = set()
    for a, b, why in pairs:
        if a not in where or b not in where:
            continue
        ua, ub = where[a][:2], where[b][:2]
        if ua == ub:
            continue
        ra, rb = root(ua), root(ub)
        if ra != rb:
            parent[rb] = ra
        tied.update((ua, ub))
        reasons.setdefault(ua, Counter())[why] += 1
    components: dict[tuple, set[tuple]] = {}
    for unit in tied:
        components.setdefault(root(unit), set()).add(unit)
    for units in components.values():
        held = {w[2] for w in where.values() if w[:2] in units and w[2] is not None}
        why = sum((reasons.get(u, Counter()) for u in units), Counter())
        _join(conn, units, held, why)


def _join(conn: Connection, units: set[tuple], held: set[int], why: Counter[str]) -> None:
    held = {current_series(conn, s) for s in held}
    if held:
        target = min(held)
        row = conn.execute(select(series.c.reasons).where(series.c.id == target)).scalar()
        why = Counter(json.loads(row or "{}")) + why
        conn.execute(
            update(series).where(series.c.id == target).values(reasons=json.dumps(dict(why)))
        )
    else:
        target = conn.execute(
            insert(series).values(reasons=json.dumps(dict(why)), created_at=now_iso())
        ).inserted_primary_key[0]
    others = sorted(held - {target})
    if others:
        conn.execute(update(series).where(series.c.id.in_(others)).values(merged_into=target))
        conn.execute(
            update(contents).where(contents.c.series_id.in_(others)).values(series_id=target)
        )
    for kind, key in units:
        column = contents.c.cluster_id if kind == "c" else contents.c.sha256
        conn.execute(update(contents).where(column == key).values(series_id=target))
