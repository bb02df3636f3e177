"""The read side of the case database: resume lookups, streamed export, case summary.

Every function takes a `CaseStore` (and opens short transactions of its own) or a
`Connection` (and runs inside the caller's). Nothing reads a whole table into memory.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, case, distinct, func, select
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import StoreError
from vigil.model import EXPORT_FIELDS
from vigil.store.case import CaseStore
from vigil.store.groups import group_labels
from vigil.store.schema import (
    case_meta,
    done,
    files,
    hashsets,
    matches,
    runs,
    sources,
    video_frames,
    video_hashes,
)
from vigil.store.writer import path_key

_COLUMNS = [files.c[name] for name in EXPORT_FIELDS if name in files.c]

# ids of one page → {file id: [match dicts]}; the matches table plugs in here later
MatchesLookup = Callable[[Connection, list[int]], dict[int, list[Any]]]


@contextmanager
def _connection(source: CaseStore | Connection) -> Iterator[Connection]:
    try:
        if isinstance(source, Connection):
            yield source
        else:
            with source.engine.connect() as conn:
                yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the case database: {exc}") from exc


def done_tops(conn: CaseStore | Connection, source_id: int, tops: list[bytes]) -> set[bytes]:
    """Which of these top-level relpaths are already recorded completely (primary-key lookup)."""
    if not tops:
        return set()
    by_key = {path_key(top): top for top in tops}
    query = select(done.c.top_key).where(
        done.c.source_id == source_id, done.c.top_key.in_(list(by_key))
    )
    with _connection(conn) as c:
        return {by_key[bytes(key)] for key in c.execute(query).scalars()}


def iter_files(
    store: CaseStore | Connection, *, batch: int = 5000, matches: MatchesLookup | None = None
) -> Iterator[dict[str, Any]]:
    """Every file row in id order as an export dict (`EXPORT_FIELDS`, in that order).

    Keyset pagination, one short transaction per page when given a store, so a 9M-row export
    holds neither memory nor a long read snapshot (which would stall SQLite's WAL checkpoints).
    """
    given: dict[int, str] = {}
    last = 0
    while True:
        query = (
            select(files.c.id, files.c.source_id, *_COLUMNS)
            .where(files.c.id > last)
            .order_by(files.c.id)
            .limit(batch)
        )
        with _connection(store) as conn:
            rows = conn.execute(query).all()
            if not rows:
                return
            if any(row.source_id not in given for row in rows):
                given = dict(conn.execute(select(sources.c.id, sources.c.given)).all())
            found = matches(conn, [row.id for row in rows]) if matches else {}
            labels = group_labels(conn, [(row.id, row.sha256) for row in rows])
        for row in rows:
            yield {
                "source": given[row.source_id],
                "path": row.path,
                "size": row.size,
                "md5": row.md5,
                "sha1": row.sha1,
                "sha256": row.sha256,
                "mime": row.mime,
                "kind": row.kind,
                "status": row.status,
                "error": row.error,
                "width": row.width,
                "height": row.height,
                "pdq": row.pdq,
                "pdq_quality": row.pdq_quality,
                "exif": json.loads(row.exif) if row.exif else {},
                "matches": found.get(row.id, []),
                "category": row.category,
                "category_source": row.category_source,
                "state": row.state,
                "review_reason": row.review_reason,
                "group": labels.get(row.sha256),
                "warnings": json.loads(row.warnings) if row.warnings else [],
                "deleted": bool(row.deleted),
                "inode": row.inode,
                "duration": row.duration,
                "fps": row.fps,
                "codec": row.codec,
                "frames_hashed": row.frames_hashed,
            }
        last = rows[-1].id


def video_convention(store: CaseStore | Connection, sha256: str) -> str | None:
    """The vPDQ convention the frames of this video content were made by (None: no frame
    hashes stored for it); compare frames only with frames of the same convention."""
    query = select(video_hashes.c.vpdq_version).where(video_hashes.c.sha256 == sha256)
    with _connection(store) as conn:
        return conn.execute(query).scalar()


def iter_frame_hashes(
    store: CaseStore | Connection, sha256: str, *, batch: int = 5000
) -> Iterator[tuple[int, float, int, str]]:
    """One video content's vPDQ frames as (frame number, timestamp, quality, pdq hex), in
    frame order: by keyset on the primary key, a page per short read, so a 10-hour video's
    36,000 frames never sit in memory at once."""
    last = -1
    while True:
        query = (
            select(
                video_frames.c.frame_number,
                video_frames.c.timestamp,
                video_frames.c.quality,
                video_frames.c.pdq,
            )
            .where(video_frames.c.sha256 == sha256, video_frames.c.frame_number > last)
            .order_by(video_frames.c.frame_number)
            .limit(batch)
        )
        with _connection(store) as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        for row in rows:
            yield (row.frame_number, row.timestamp, row.quality, row.pdq)
        last = rows[-1].frame_number


def file_pages(
    store: CaseStore, columns: Sequence[Any], *where: Any, page: int = 5000
) -> Iterator[tuple[list[Any], dict[int, str]]]:
    """The `files` rows matching `where`, as (page of rows in id order, {source id: SOURCE
    as given}), by keyset in one short read per page (rows carry `id` and `source_id`)."""
    given: dict[int, str] = {}
    last = 0
    while True:
        query = (
            select(files.c.id, files.c.source_id, *columns)
            .where(files.c.id > last, *where)
            .order_by(files.c.id)
            .limit(page)
        )
        with _connection(store) as conn:
            rows = conn.execute(query).all()
            if any(row.source_id not in given for row in rows):
                given = dict(conn.execute(select(sources.c.id, sources.c.given)).all())
        if not rows:
            return
        yield rows, given
        last = rows[-1].id


def error_reason(conn: Connection) -> Any:
    """SQL for the part of `error` before the first ": " (ItemError's reason)."""
    if conn.dialect.name == "postgresql":
        pos = func.strpos(files.c.error, ": ")
    else:
        pos = func.instr(files.c.error, ": ")
    return case((pos > 0, func.substr(files.c.error, 1, pos - 1)), else_=files.c.error)


def case_summary(store: CaseStore | Connection, *, last_runs: int = 5) -> dict[str, Any]:
    """Counts for `vigil case info`. A few full scans of `files`; no row leaves the database.

    `bytes` sums the size of every ok or error occurrence that has one (duplicates count each
    time); `unique_sha256` counts distinct contents. `errors_by_reason` covers every row with
    an `error` text, skipped ones included ("empty file", "fifo"); `by_status` tells them apart.
    """
    with _connection(store) as conn:
        meta = dict(conn.execute(select(case_meta.c.key, case_meta.c.value)).all())
        sized = case((files.c.status.in_(("ok", "error")), files.c.size), else_=None)
        groups = conn.execute(
            select(
                files.c.source_id,
                files.c.kind,
                files.c.status,
                func.count(),
                func.coalesce(func.sum(sized), 0),
            ).group_by(files.c.source_id, files.c.kind, files.c.status)
        ).all()
        unique = conn.execute(select(func.count(distinct(files.c.sha256)))).scalar_one()
        reason = error_reason(conn)
        reasons = conn.execute(
            select(reason, func.count()).where(files.c.error.is_not(None)).group_by(reason)
        ).all()
        source_rows = conn.execute(
            select(sources.c.id, sources.c.given, sources.c.root).order_by(sources.c.id)
        ).all()
        run_rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(last_runs)).all()
        by_category = conn.execute(
            select(files.c.category, func.count())
            .where(files.c.category.is_not(None))
            .group_by(files.c.category)
        ).all()
        matched = conn.execute(
            select(func.count(distinct(matches.c.file_id)))
            .select_from(matches.join(hashsets, hashsets.c.id == matches.c.hashset_id))
            .where(hashsets.c.active)
        ).scalar_one()

    per_source: Counter[int] = Counter()
    by_kind: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    total_bytes = 0
    for source_id, kind, status, count, size in groups:
        per_source[source_id] += count
        by_kind[kind] += count
        by_status[status] += count
        total_bytes += int(size)
    return {
        "name": meta.get("name"),
        "created_at": meta.get("created_at"),
        "sources": [
            {"given": s.given, "root": s.root, "files": per_source[s.id]} for s in source_rows
        ],
        "files": sum(by_status.values()),
        "bytes": total_bytes,
        "unique_sha256": unique,
        "by_kind": dict(by_kind.most_common()),
        "by_status": dict(by_status.most_common()),
        "errors_by_reason": {r: n for r, n in sorted(reasons, key=lambda rn: (-rn[1], rn[0]))},
        "category_scheme": meta.get("category_scheme", "projectvic"),
        "matched_files": matched,
        "by_category": {int(c): n for c, n in sorted(by_category)},
        "runs": [
            {
                "id": r.id,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "argv": json.loads(r.argv),
                "status": r.status,
                "counts": json.loads(r.counts) if r.counts else None,
                # None for runs recorded before Vigil kept provenance (migration 0004)
                "provenance": json.loads(r.provenance) if r.provenance else None,
            }
            for r in run_rows
        ],
    }
