"""Keeping a case's groups up to date: exact stacks, visual clusters and series, incrementally.

Each pass reads only the files recorded since the last one (a watermark in `case_meta`), in
file id order. A content (SHA-256) seen for the first time gets its `contents` row: its exact
stack is every file with that digest, its visual cluster comes from the `Clusterer` fed with
the case's existing anchors (`vigil.triage.clusters`), and its series ties come from
`vigil.triage.series`. Nothing already assigned moves, except series merging into the older
one, so labels stay stable across runs. Empty content is never grouped: it says nothing about
what a file shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings, load_settings
from vigil.errors import StoreError
from vigil.hashing.windows import parse_windows
from vigil.index import hex_to_codes
from vigil.store import CaseStore
from vigil.store.schema import case_meta, contents, files
from vigil.triage.anchors import FIRST_WINDOW, NO_CLUSTER, Anchors, Contents
from vigil.triage.clusters import Clusterer
from vigil.triage.series import SeriesBuilder, Sighting

WATERMARK = "grouped_through_file_id"
PAGE = 20_000


@dataclass
class GroupingSummary:
    files: int = 0  # files read in this pass
    contents: int = 0  # new contents
    clustered: int = 0  # new contents that joined or founded a cluster
    new_clusters: int = 0
    series_ties: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def update_groups(
    store: CaseStore,
    settings: Settings | None = None,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> GroupingSummary:
    """Group the files recorded since the last pass. The caller holds the case's writer lock
    (ingest and `vigil match` do) or knows no other writer runs."""
    started = time.monotonic()
    settings = settings if settings is not None else load_settings(store.case_dir)
    summary = GroupingSummary()
    try:
        with store.engine.connect() as conn:
            watermark = _watermark(conn)
            anchors = _anchors(conn)
        clusterer = Clusterer(
            anchors, threshold=settings.pdq_threshold, min_quality=settings.pdq_min_quality
        )
        builder = SeriesBuilder(burst_seconds=settings.burst_seconds)
        while True:
            with store.engine.begin() as conn:
                page = _page(conn, watermark)
                if not page:
                    break
                _group_page(conn, page, clusterer, builder, summary)
                watermark = page[-1].id
                _set_watermark(conn, watermark)
            summary.files += len(page)
            if on_progress is not None:
                on_progress(len(page))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot update groups in {store.describe_db()}: {exc}") from exc
    summary.series_ties = dict(builder.ties)
    summary.seconds = time.monotonic() - started
    return summary


def _watermark(conn: Connection) -> int:
    value = conn.execute(select(case_meta.c.value).where(case_meta.c.key == WATERMARK)).scalar()
    return int(value) if value else 0


def _set_watermark(conn: Connection, file_id: int) -> None:
    done = conn.execute(
        update(case_meta).where(case_meta.c.key == WATERMARK).values(value=str(file_id))
    )
    if not done.rowcount:
        conn.execute(insert(case_meta).values(key=WATERMARK, value=str(file_id)))


def _anchors(conn: Connection) -> Anchors:
    """Every cluster anchor's full and window hashes, as the `Clusterer` needs them."""
    cluster: list[int] = []
    hexes: list[str] = []
    rows = conn.execute(
        select(contents.c.cluster_id, files.c.pdq, files.c.pdq_windows)
        .join(files, files.c.id == contents.c.first_file_id)
        .where(contents.c.is_anchor.is_(True))
    )
    for cluster_id, pdq, windows in rows:
        for hexa in [pdq, *(h for _, h in _windows(windows))]:
            cluster.append(cluster_id)
            hexes.append(hexa)
    if not hexes:
        return Anchors.empty()
    return Anchors(np.asarray(cluster, dtype=np.int64), hex_to_codes(hexes))


def _windows(text: str | None) -> list[tuple[float | str, str]]:
    try:
        return parse_windows(text or "")
    except ValueError:
        return []  # a malformed window list only costs the crops their cluster


_COLUMNS = (
    files.c.id,
    files.c.sha256,
    files.c.path,
    files.c.pdq,
    files.c.pdq_quality,
    files.c.pdq_dihedral,
    files.c.pdq_windows,
    files.c.camera_make,
    files.c.camera_model,
    files.c.camera_serial,
    files.c.captured_at,
    files.c.thumb_sha256,
)


def _page(conn: Connection, after: int) -> list:
    return conn.execute(
        select(*_COLUMNS)
        .where(files.c.id > after, files.c.sha256.is_not(None), files.c.size > 0)
        .order_by(files.c.id)
        .limit(PAGE)
    ).all()


def _group_page(
    conn: Connection,
    page: list,
    clusterer: Clusterer,
    builder: SeriesBuilder,
    summary: GroupingSummary,
) -> None:
    hashes = sorted({row.sha256 for row in page})
    known = set(
        conn.execute(select(contents.c.sha256).where(contents.c.sha256.in_(hashes))).scalars()
    )
    new: dict[str, object] = {}
    for row in page:
        if row.sha256 not in known and row.sha256 not in new:
            new[row.sha256] = row
    if not new:
        return
    fresh = list(new.values())
    assigned = _cluster(fresh, clusterer)
    conn.execute(
        insert(contents),
        [
            {
                "sha256": row.sha256,
                "first_file_id": row.id,
                "cluster_id": assigned.get(row.id, (None, None, False))[0],
                "anchor_distance": assigned.get(row.id, (None, None, False))[1],
                "is_anchor": assigned.get(row.id, (None, None, False))[2],
                "series_id": None,
            }
            for row in fresh
        ],
    )
    summary.contents += len(fresh)
    summary.clustered += len(assigned)
    summary.new_clusters += sum(1 for _, _, anchor in assigned.values() if anchor)
    _inherit_series(conn, {v[0] for v in assigned.values() if not v[2]})
    builder.add(
        conn,
        [
            Sighting(
                sha256=row.sha256,
                cluster_id=assigned.get(row.id, (None, None, False))[0],
                folder=_folder(row.path),
                make=row.camera_make,
                model=row.camera_model,
                serial=row.camera_serial,
                captured_at=row.captured_at,
                thumb_sha256=row.thumb_sha256,
            )
            for row in fresh
        ],
    )


def _cluster(rows: list, clusterer: Clusterer) -> dict[int, tuple[int, int, bool]]:
    """{first file id: (cluster id, distance to anchor, is anchor)} of the clustered rows."""
    keys, quality, hexes, owner, variant = [], [], [], [], []
    for row in rows:
        if row.pdq is None or row.pdq_quality is None:
            continue
        dihedral = row.pdq_dihedral.split(",") if row.pdq_dihedral else [row.pdq]
        windows = _windows(row.pdq_windows)
        keys.append(row.id)
        quality.append(row.pdq_quality)
        for i, hexa in enumerate(dihedral):
            hexes.append(hexa)
            owner.append(row.id)
            variant.append(i)
        for i, (_, hexa) in enumerate(windows):
            hexes.append(hexa)
            owner.append(row.id)
            variant.append(FIRST_WINDOW + i)
    if not keys:
        return {}
    try:
        codes = hex_to_codes(hexes)
    except ValueError as exc:
        raise StoreError(f"a file's PDQ hashes in the case are malformed: {exc}") from exc
    result = clusterer.add(
        Contents(
            keys=np.asarray(keys, dtype=np.int64),
            quality=np.asarray(quality, dtype=np.int64),
            codes=codes,
            owner=np.asarray(owner, dtype=np.int64),
            variant=np.asarray(variant, dtype=np.int64),
        )
    )
    return {
        int(key): (int(c), int(d), bool(a))
        for key, c, d, a in zip(
            result.keys, result.cluster, result.distance, result.anchor, strict=True
        )
        if c != NO_CLUSTER
    }


def _inherit_series(conn: Connection, cluster_ids: set[int]) -> None:
    """New members of a cluster that is in a series join that series."""
    if not cluster_ids:
        return
    held = conn.execute(
        select(contents.c.cluster_id, func.min(contents.c.series_id))
        .where(contents.c.cluster_id.in_(sorted(cluster_ids)), contents.c.series_id.is_not(None))
        .group_by(contents.c.cluster_id)
    ).all()
    for cluster_id, series_id in held:
        conn.execute(
            update(contents)
            .where(contents.c.cluster_id == cluster_id, contents.c.series_id.is_(None))
            .values(series_id=series_id)
        )


def _folder(path: str) -> str:
    """The folder or archive a file sits in, as its displayed path says."""
    cut = max(path.rfind("/"), path.rfind("!"))
    return path[:cut] if cut > 0 else ""
