"""Group labels, the read side of triage's groups.

A file belongs to one group, named by a label a person can type:

- ``s<id>``: a series (visual clusters and single pictures tied by camera body, burst or
  embedded thumbnail; `vigil.triage.series`);
- ``c<id>``: a visual cluster of two or more contents (`vigil.triage.clusters`);
- ``f<id>``: a single content (its exact stack: every file with that SHA-256), named by the
  first file that holds it.

A series absorbed by an older one keeps its row with `merged_into`, so a label someone noted
down still names the same files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, func, select

from vigil.errors import ConfigError
from vigil.store.schema import contents, files, series

_LABEL = re.compile(r"([scf])(\d{1,18})")
_PAGE = 2000


def group_labels(conn: Connection, pairs: Sequence[tuple[int, str | None]]) -> dict[str, str]:
    """{sha256: label} for the contents of these (file id, sha256) pairs that the grouping
    pass has seen; contents it has not seen yet have no label."""
    hashes = sorted({sha for _, sha in pairs if sha})
    if not hashes:
        return {}
    rows = conn.execute(
        select(
            contents.c.sha256, contents.c.first_file_id, contents.c.cluster_id, contents.c.series_id
        ).where(contents.c.sha256.in_(hashes))
    ).all()
    clusters = sorted({r.cluster_id for r in rows if r.cluster_id is not None and not r.series_id})
    sizes = dict(
        conn.execute(
            select(contents.c.cluster_id, func.count())
            .where(contents.c.cluster_id.in_(clusters))
            .group_by(contents.c.cluster_id)
        ).all()
    )
    return {r.sha256: label_of(r.first_file_id, r.cluster_id, r.series_id, sizes) for r in rows}


def label_of(
    first_file_id: int, cluster_id: int | None, series_id: int | None, sizes: dict[int, int]
) -> str:
    if series_id is not None:
        return f"s{series_id}"
    if cluster_id is not None and sizes.get(cluster_id, 1) > 1:
        return f"c{cluster_id}"
    return f"f{first_file_id}"


def parse_label(label: str) -> tuple[str, int]:
    found = _LABEL.fullmatch(label.strip())
    if found is None:
        raise ConfigError(
            f"not a group label: {label!r} (s<id> for a series, c<id> for a cluster, "
            "f<id> for a single content, as `vigil files` and `vigil queue` print them)"
        )
    return found.group(1), int(found.group(2))


def group_contents(conn: Connection, label: str) -> list[str]:
    """The SHA-256 of every content of the group `label`; ConfigError when no such group."""
    kind, number = parse_label(label)
    if kind == "f":
        sha = conn.execute(select(files.c.sha256).where(files.c.id == number)).scalar()
        found = [sha] if sha else []
    else:
        if kind == "s":
            number = current_series(conn, number)
        column = contents.c.series_id if kind == "s" else contents.c.cluster_id
        found = list(
            conn.execute(
                select(contents.c.sha256).where(column == number).order_by(contents.c.sha256)
            ).scalars()
        )
    if not found:
        raise ConfigError(f"no group {label} in this case (`vigil queue` lists the groups)")
    return found


def current_series(conn: Connection, series_id: int) -> int:
    """The series that now holds what `series_id` held (following merges)."""
    seen: set[int] = set()
    while series_id not in seen:
        seen.add(series_id)
        merged = conn.execute(select(series.c.merged_into).where(series.c.id == series_id)).scalar()
        if merged is None:
            return series_id
        series_id = merged
    return series_id


def labels_for_files(conn: Connection, file_ids: Iterable[int]) -> dict[int, str]:
    """{file id: label} for these files (those the grouping pass has seen)."""
    ids = sorted(set(file_ids))
    out: dict[int, str] = {}
    for i in range(0, len(ids), _PAGE):
        pairs = conn.execute(
            select(files.c.id, files.c.sha256).where(files.c.id.in_(ids[i : i + _PAGE]))
        ).all()
        labels = group_labels(conn, pairs)
        out.update({fid: labels[sha] for fid, sha in pairs if sha in labels})
    return out


def file_groups(store, file_ids: list[int]) -> list[str]:
    """The distinct group labels of these files, in label order (`vigil link`'s series
    lookup: which series or cluster a shared content sits in, per case)."""
    with store.engine.connect() as conn:
        return sorted(set(labels_for_files(conn, file_ids).values()))
