"""The case report's data: one JSON-able dict of what a case holds, rendered as HTML or JSON by
`case_report`. Counts come from SQL; the timeline and the places from one keyset pass over the
records; every list is bounded (the top rows with the total), so a 9M-record case reports in
bounded memory.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, distinct, func, select
from sqlalchemy.exc import SQLAlchemyError

import vigil
from vigil.errors import StoreError
from vigil.reports.places import place_of
from vigil.store import CaseStore, case_summary
from vigil.store.case import now_iso
from vigil.store.exposure import reveals_per_decided
from vigil.store.queries import file_pages
from vigil.store.schema import files, hashsets, matches, sources

REPORT_FORMAT = 1
TOP = 50  # rows of a ranked table: hash sets, error reasons, devices, series
QUEUE_GROUPS = 100
QUEUE_FILES = 12  # files named per queue group
MAX_PLACES = 5_000
LAST_RUNS = 5
PAGE = 5_000
MEDIA = frozenset({"image", "video"})
# A camera clock reset to 1970 or 2000 is evidence worth seeing; a year outside these is not a
# date, and leaving it out bounds the timeline at about 48,000 days whatever EXIF claims.
YEARS = (1970, 2100)


@dataclass(frozen=True, slots=True)
class TriageFacts:
    """What triage found, as the report shows it (see `gather` for each item's keys)."""

    devices: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    queue: list[dict[str, Any]] = field(default_factory=list)


def _bounded(items: list[dict[str, Any]], top: int) -> dict[str, Any]:
    return {"total": len(items), "items": items[:top]}


def _day(text: Any) -> str | None:
    """The day of an EXIF `datetime_original` ("YYYY-MM-DDTHH:MM:SS", the camera's local time
    as written, no zone), or None when it is not a date in `YEARS`."""
    if not isinstance(text, str):
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    return day.isoformat() if YEARS[0] <= day.year <= YEARS[1] else None


def _mtime_day(mtime: float | None) -> str | None:
    if mtime is None:
        return None
    try:
        day = datetime.fromtimestamp(mtime, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None
    return day.isoformat() if YEARS[0] <= day.year <= YEARS[1] else None


def _scan(store: CaseStore, max_places: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The timeline (media per day, EXIF original date else file mtime in UTC) and the first
    `max_places` GPS points with the number of all of them, in one pass of keyset pages."""
    days: dict[str, list[int]] = {}  # day → [by EXIF, by mtime]
    undated = media = places_total = 0
    points: list[dict[str, Any]] = []
    columns = (files.c.kind, files.c.path, files.c.sha256, files.c.exif, files.c.mtime)
    for rows, given in file_pages(store, columns, page=PAGE):
        for row in rows:
            exif = json.loads(row.exif) if row.exif else {}
            if row.kind in MEDIA:
                media += 1
                by_exif = _day(exif.get("datetime_original"))
                day = by_exif or _mtime_day(row.mtime)
                if day is None:
                    undated += 1
                else:
                    days.setdefault(day, [0, 0])[0 if by_exif else 1] += 1
            source = given[row.source_id]
            place = place_of(exif, source=source, path=row.path, sha256=row.sha256)
            if place is not None:
                places_total += 1
                if len(points) < max_places:
                    points.append(
                        {"lat": place.lat, "lon": place.lon, "source": place.source}
                        | {"path": place.path, "sha256": place.sha256, "datetime": place.datetime}
                    )
    timeline = {
        "media_files": media,
        "undated": undated,
        "days": [{"date": d, "exif": e, "mtime": m} for d, (e, m) in sorted(days.items())],
    }
    places = {
        "total": places_total,
        "left_out": places_total - len(points),
        "points": points,
    }
    return timeline, places


def _sources(conn: Connection) -> list[dict[str, Any]]:
    """Each source with its record count and, for a single-file source, the file's hashes
    (its one top-level record); a folder has no one hash, so those are None."""
    counts = dict(
        conn.execute(select(files.c.source_id, func.count()).group_by(files.c.source_id)).all()
    )
    rows = conn.execute(select(sources).order_by(sources.c.id)).all()
    single = [r.id for r in rows if r.single_file]
    hashes: dict[int, Any] = {}
    if single:
        tops = conn.execute(
            select(files.c.source_id, files.c.sha256, files.c.md5)
            .where(files.c.source_id.in_(single), files.c.depth == 0)
            .order_by(files.c.id.desc())
        ).all()
        hashes = {t.source_id: t for t in tops}  # the first row of each source wins
    out = []
    for r in rows:
        top = hashes.get(r.id)
        out.append(
            {"given": r.given, "root": r.root, "single_file": bool(r.single_file)}
            | {"files": counts.get(r.id, 0), "added_at": r.created_at}
            | {"sha256": top.sha256 if top else None, "md5": top.md5 if top else None}
        )
    return out


def _hashsets(conn: Connection) -> dict[str, Any]:
    """The active sets, the ones matching most files first."""
    matched = func.count(distinct(matches.c.file_id))
    rows = conn.execute(
        select(hashsets, matched.label("files"))
        .select_from(hashsets.outerjoin(matches, matches.c.hashset_id == hashsets.c.id))
        .where(hashsets.c.active)
        .group_by(hashsets.c.id)
        .order_by(matched.desc(), hashsets.c.name)
    ).all()
    items = [
        {"name": r.name, "version": r.version, "kind": r.kind, "category": r.category}
        | {"format": r.format, "entries": r.entries, "imported_at": r.imported_at}
        | {"files_matched": r.files}
        for r in rows
    ]
    return _bounded(items, TOP)


def _runs(summary: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for run in summary["runs"]:
        prov = run["provenance"] or {}
        out.append(
            {key: run[key] for key in ("id", "started_at", "finished_at", "status", "argv")}
            | {"counts": run["counts"], "versions": prov.get("versions")}
            | {"host": prov.get("host"), "user": prov.get("user")}
        )
    return out


def _by_category(summary: dict[str, Any], labels: dict[int, str]) -> list[dict[str, Any]]:
    """Every code of the scheme (zero too: "no CAM found" is a finding), codes the scheme does
    not define, then the records no verdict covers."""
    found: Counter[int] = Counter(summary["by_category"])
    codes = [*labels, *sorted(set(found) - set(labels))]
    rows = [
        {"category": c, "label": labels.get(c, f"unknown ({c})"), "files": found[c]} for c in codes
    ]
    rest = summary["files"] - sum(found.values())
    return [*rows, {"category": None, "label": "uncategorised", "files": rest}]


def gather(
    store: CaseStore, triage: TriageFacts | None = None, *, max_places: int = MAX_PLACES
) -> dict[str, Any]:
    """The report's data. `triage` None means triage has not run (the sections say so);
    each queue item's `files` is a list of {"path", "sha256"}."""
    summary = case_summary(store, last_runs=LAST_RUNS)
    meta = store.meta()
    scheme = store.scheme
    try:
        with store.engine.connect() as conn:
            source_rows = _sources(conn)
            sets = _hashsets(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the case database: {exc}") from exc
    timeline, places = _scan(store, max_places)
    reasons = [{"reason": r, "files": n} for r, n in summary["errors_by_reason"].items()]
    queued = triage.queue if triage else []
    queue = [
        item
        | {
            "files": item["files"][:QUEUE_FILES],
            "files_total": item.get("file_count", len(item["files"])),
        }
        for item in queued[:QUEUE_GROUPS]
    ]
    return {
        "report_format": REPORT_FORMAT,
        "generated_at": now_iso(),
        "vigil_version": vigil.__version__,
        "case": {
            "name": meta.get("name"),
            "uuid": meta.get("case_uuid"),
            "created_at": meta.get("created_at"),
            "database": store.describe_db(),
            "category_scheme": {
                "name": scheme.name,
                "labels": [{"code": c, "label": label} for c, label in scheme.labels.items()],
            },
        },
        "totals": {key: summary[key] for key in ("files", "bytes", "unique_sha256")}
        | {"matched_files": summary["matched_files"]},
        "sources": source_rows,
        "runs": _runs(summary),
        "by_kind": [{"kind": k, "files": n} for k, n in summary["by_kind"].items()],
        "by_status": [{"status": s, "files": n} for s, n in summary["by_status"].items()],
        "by_category": _by_category(summary, scheme.labels),
        "hashsets": sets,
        "errors": {"files": sum(r["files"] for r in reasons)} | _bounded(reasons, TOP),
        "timeline": timeline,
        "places": places,
        "triage_run": triage is not None,
        "devices": _bounded(triage.devices if triage else [], TOP),
        "series": _bounded(triage.series if triage else [], TOP),
        "queue": {"total": len(queued), "items": queue},
        "exposure": reveals_per_decided(store),
    }
