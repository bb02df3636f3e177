"""The review app's reads: a page of files under filters (keyset by id, so page 5,000 of a
9M-file case costs what page 1 does), one file in full, and the files of a group."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from vigil.errors import ConfigError
from vigil.pipeline.categorise import matches_for
from vigil.store import CaseStore
from vigil.store.groups import current_series, group_labels, parse_label
from vigil.store.schema import contents, decisions, files, matches, sources

STATES = ("decided", "matched", "review")
MAX_LIMIT = 500
MAX_OCCURRENCES = 100  # paths listed per content in the detail; `occurrences` counts them all
MAX_MEMBERS = 60

_ITEM = (
    files.c.id,
    files.c.source_id,
    files.c.path,
    files.c.kind,
    files.c.state,
    files.c.category,
    files.c.category_source,
    files.c.review_reason,
    files.c.sha256,
    files.c.size,
    files.c.width,
    files.c.height,
    files.c.status,
    files.c.captured_at,
    files.c.mtime,
    files.c.thumbnail,
)


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    category: int | None = None
    uncategorised: bool = False
    kind: str | None = None
    group: str | None = None
    hashset: int | None = None
    device: tuple[str, str, str] | None = None  # make, model, serial
    captured_from: str | None = None  # ISO date or time, inclusive
    captured_to: str | None = None  # exclusive

    def where(self, conn: Connection) -> list[Any]:
        out: list[Any] = []
        if self.state is not None:
            if self.state not in STATES:
                raise ConfigError(f"state must be one of {', '.join(STATES)}")
            out.append(files.c.state == self.state)
        if self.uncategorised:
            out.append(files.c.category.is_(None))
        elif self.category is not None:
            out.append(files.c.category == self.category)
        if self.kind is not None:
            out.append(files.c.kind == self.kind)
        if self.group is not None:
            out.append(files.c.sha256.in_(_group_hashes(conn, self.group)))
        if self.hashset is not None:
            hit = select(matches.c.file_id).where(matches.c.hashset_id == self.hashset)
            out.append(files.c.id.in_(hit))
        if self.device is not None:
            make, model, serial = self.device
            out += [
                files.c.camera_make == make,
                files.c.camera_model == model,
                files.c.camera_serial == serial,
            ]
        if self.captured_from is not None:
            out.append(files.c.captured_at >= self.captured_from)
        if self.captured_to is not None:
            out.append(files.c.captured_at < self.captured_to)
        return out


def _group_hashes(conn: Connection, label: str) -> Any:
    kind, number = parse_label(label)
    if kind == "f":
        return select(files.c.sha256).where(files.c.id == number).scalar_subquery()
    if kind == "s":
        return select(contents.c.sha256).where(contents.c.series_id == current_series(conn, number))
    return select(contents.c.sha256).where(contents.c.cluster_id == number)


def page(store: CaseStore, filters: Filters, *, limit: int = 100, after: int = 0) -> dict[str, Any]:
    """`{"items": [...], "next": cursor or None}`: up to `limit` files with id > `after`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"limit must be 1 to {MAX_LIMIT}")
    scheme = store.scheme
    with store.engine.connect() as conn:
        query = (
            select(*_ITEM)
            .where(files.c.id > after, *filters.where(conn))
            .order_by(files.c.id)
            .limit(limit + 1)
        )
        rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        given = _sources(conn, {r.source_id for r in rows})
        labels = group_labels(conn, [(r.id, r.sha256) for r in rows])
    items = [_item(r, given, labels, scheme) for r in rows]
    return {"items": items, "next": str(rows[-1].id) if more and rows else None}


def _sources(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(sources.c.id, sources.c.given).where(sources.c.id.in_(sorted(ids)))
    return dict(conn.execute(query).all())


def _item(row: Any, given: dict[int, str], labels: dict[str, str], scheme) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "category": row.category,
        "category_label": scheme.label(row.category) if row.category is not None else None,
        "category_source": row.category_source,
        "review_reason": row.review_reason,
        "path": row.path,
        "source": given.get(row.source_id),
        "sha256": row.sha256,
        "size": row.size,
        "width": row.width,
        "height": row.height,
        "status": row.status,
        "captured_at": row.captured_at,
        "group": labels.get(row.sha256) if row.sha256 else None,
        "has_thumbnail": row.thumbnail is not None,
    }


def detail(store: CaseStore, file_id: int) -> dict[str, Any] | None:
    """One file with everything a reviewer may need to decide without looking: hashes, every
    path holding the same content, EXIF, matches (distance, transform, set), the group's
    other members, and the decisions on the content."""
    scheme = store.scheme
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                *_ITEM,
                files.c.md5,
                files.c.sha1,
                files.c.mime,
                files.c.error,
                files.c.pdq,
                files.c.pdq_quality,
                files.c.exif,
                files.c.camera_make,
                files.c.camera_model,
                files.c.camera_serial,
                files.c.gps_lat,
                files.c.gps_lon,
                files.c.warnings,
            ).where(files.c.id == file_id)
        ).first()
        if row is None:
            return None
        given = _sources(conn, {row.source_id})
        labels = group_labels(conn, [(row.id, row.sha256)])
        out = _item(row, given, labels, scheme)
        out.update(
            md5=row.md5,
            sha1=row.sha1,
            mime=row.mime,
            error=row.error,
            pdq=row.pdq,
            pdq_quality=row.pdq_quality,
            exif=json.loads(row.exif) if row.exif else {},
            camera={
                "make": row.camera_make,
                "model": row.camera_model,
                "serial": row.camera_serial,
            },
            gps=[row.gps_lat, row.gps_lon] if row.gps_lat is not None else None,
            warnings=json.loads(row.warnings) if row.warnings else [],
            matches=matches_for(conn, [row.id]).get(row.id, []),
        )
        if row.sha256:
            out["occurrences"], out["occurrence_count"] = _occurrences(conn, row.sha256)
            out["decisions"] = _decisions(conn, row.sha256, scheme)
        else:
            out["occurrences"], out["occurrence_count"], out["decisions"] = [], 0, []
        group = out["group"]
        out["members"] = _members(conn, group, row.id) if group else []
    return out


def _occurrences(conn: Connection, sha256: str) -> tuple[list[dict[str, Any]], int]:
    rows = conn.execute(
        select(files.c.id, files.c.source_id, files.c.path)
        .where(files.c.sha256 == sha256)
        .order_by(files.c.id)
        .limit(MAX_OCCURRENCES + 1)
    ).all()
    given = _sources(conn, {r.source_id for r in rows})
    listed = [{"id": r.id, "source": given.get(r.source_id), "path": r.path} for r in rows]
    count = len(listed)
    if count > MAX_OCCURRENCES:
        count = conn.execute(
            select(func.count()).select_from(files).where(files.c.sha256 == sha256)
        ).scalar_one()
    return listed[:MAX_OCCURRENCES], int(count)


def _decisions(conn: Connection, sha256: str, scheme) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(decisions).where(decisions.c.sha256 == sha256).order_by(decisions.c.id)
    ).mappings()
    return [
        {
            "id": r["id"],
            "category": r["category"],
            "category_label": None if r["category"] is None else scheme.label(r["category"]),
            "by": r["decided_by"],
            "at": r["decided_at"],
            "note": r["note"],
            "via_group": r["via_group"],
        }
        for r in rows
    ]


def _members(conn: Connection, group: str, file_id: int) -> list[dict[str, Any]]:
    """The first files of each other content of the group: one file per content."""
    hashes = _group_hashes(conn, group)
    rows = conn.execute(
        select(files.c.id, files.c.sha256, files.c.state, files.c.category, files.c.kind)
        .where(files.c.sha256.in_(hashes), files.c.id != file_id)
        .order_by(files.c.id)
        .limit(MAX_MEMBERS * 4)
    ).all()
    seen: set[str] = set()
    out = []
    for r in rows:
        if r.sha256 in seen:
            continue
        seen.add(r.sha256)
        out.append({"id": r.id, "state": r.state, "category": r.category, "kind": r.kind})
        if len(out) == MAX_MEMBERS:
            break
    return out
