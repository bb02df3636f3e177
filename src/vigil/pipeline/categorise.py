"""A file's category from its matches: the most severe category among matches of alert sets,
else non-pertinent if an ignorable set (NSRL) matched, else none. Only active set versions
count; reference sets inform but never categorise.

`decide_category` is the whole rule and has no I/O, so human review decisions can later take
precedence in one place; `resolve_categories` applies it to files inside a transaction.
`matches_for` is the read side: a page of files' matches as `vigil files` shows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.categories import CategoryScheme
from vigil.errors import StoreError
from vigil.store import CaseStore
from vigil.store.schema import files, hash_entries, hashsets, matches

PAGE = 2000


def decide_category(scheme: CategoryScheme, found: Iterable[tuple[str, int | None]]) -> int | None:
    """The category of a file from its (set kind, match category) pairs.

    An alert match without a category still keeps the file from being resolved as
    non-pertinent by an ignorable set: a file on an alert list always needs a human. Codes the
    scheme does not rank come after the ones it does (lowest first), so none is dropped.
    """
    alert: list[int] = []
    seen_alert = ignorable = False
    for kind, category in found:
        if kind == "alert":
            seen_alert = True
            if category is not None:
                alert.append(category)
        elif kind == "ignorable":
            ignorable = True
    if seen_alert:
        if not alert:
            return None
        ranked = scheme.most_severe(alert)
        return ranked if ranked is not None else min(alert)
    return scheme.non_pertinent if ignorable else None


def resolve_categories(conn: Connection, scheme: CategoryScheme, file_ids: Sequence[int]) -> None:
    """Set `files.category` of these files from their matches (inside the caller's
    transaction); only rows whose category changes are written."""
    if not file_ids:
        return
    ids = list(file_ids)
    found: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    rows = conn.execute(
        select(matches.c.file_id, hashsets.c.kind, matches.c.category)
        .join(hashsets, hashsets.c.id == matches.c.hashset_id)
        .where(matches.c.file_id.in_(ids), hashsets.c.active.is_(True))
    )
    for file_id, kind, category in rows:
        found[file_id].append((kind, category))
    current = conn.execute(select(files.c.id, files.c.category).where(files.c.id.in_(ids)))
    changes = [
        {"fid": file_id, "cat": verdict}
        for file_id, category in current
        if (verdict := decide_category(scheme, found.get(file_id, ()))) != category
    ]
    if changes:
        conn.execute(
            update(files).where(files.c.id == bindparam("fid")).values(category=bindparam("cat")),
            changes,
        )


def resolve_all_categories(store: CaseStore, file_ids: Sequence[int] | None = None) -> None:
    """Decide again the category of these files (all files when None), one transaction per
    page of `PAGE` ids; e.g. after `remove_hashset`, with the ids it returns."""
    scheme = store.scheme
    try:
        for page in _pages(store, file_ids):
            with store.engine.begin() as conn:
                resolve_categories(conn, scheme, page)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot update categories in {store.describe_db()}: {exc}") from exc


def _pages(store: CaseStore, file_ids: Sequence[int] | None) -> Iterator[list[int]]:
    if file_ids is not None:
        ids = sorted(set(file_ids))
        for i in range(0, len(ids), PAGE):
            yield ids[i : i + PAGE]
        return
    yield from file_id_pages(store, PAGE)


def file_id_pages(store: CaseStore, size: int = PAGE) -> Iterator[list[int]]:
    """Every file id in order, `size` at a time, by keyset (one short read per page)."""
    last = 0
    while True:
        with store.engine.connect() as conn:
            page = list(
                conn.execute(
                    select(files.c.id).where(files.c.id > last).order_by(files.c.id).limit(size)
                ).scalars()
            )
        if not page:
            return
        yield page
        last = page[-1]


def matches_for(
    conn: Connection, file_ids: list[int], *, include_replaced: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """The matches of these files for `vigil files` (`iter_files(matches=matches_for)`), best
    first. Only matches of active set versions: a replaced version's rows stay as history
    (`include_replaced=True` shows them) but no longer speak for the file."""
    query = (
        select(
            matches.c.file_id,
            hashsets.c.name,
            hashsets.c.version,
            hashsets.c.kind,
            matches.c.algorithm,
            matches.c.distance,
            matches.c.transform,
            matches.c.category,
            hash_entries.c.list_category,
        )
        .join(hashsets, hashsets.c.id == matches.c.hashset_id)
        .outerjoin(hash_entries, hash_entries.c.id == matches.c.entry_id)  # gone if replaced
        .where(matches.c.file_id.in_(file_ids))
        .order_by(matches.c.file_id, matches.c.distance, hashsets.c.name, matches.c.algorithm)
    )
    if not include_replaced:
        query = query.where(hashsets.c.active.is_(True))
    out: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(query):
        out.setdefault(row.file_id, []).append(
            {
                "hashset": row.name,
                "hashset_version": row.version,
                "kind": row.kind,
                "algorithm": row.algorithm,
                "distance": row.distance,
                "transform": row.transform,
                "category": row.category,
                "list_category": row.list_category,
            }
        )
    return out
