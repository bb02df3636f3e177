"""A file's effective category and review state.

The matches' rule (`decide_category`): the most severe category among strong matches of alert
sets, else non-pertinent if an ignorable set (NSRL) matched, else none. Only active set
versions count; reference sets inform but never categorise; weak matches never categorise.

The file's verdict (`file_verdict`): a human decision on its content (the latest one) wins;
else the matches' category. Its `state` is then

- ``decided``: a person categorised the content (`category_source` "decision");
- ``matched``: the matches categorised it (`category_source` "match");
- ``review``: it needs a human, and `review_reason` says why: an alert match without a
  category, a weak match of an alert set, or no match at all.

An alert match without a category, or a weak one, also keeps an ignorable set from clearing
the file as non-pertinent: a file that may be on an alert list always needs a human.

`resolve_categories` applies it to files inside a transaction; `matches_for` is the read
side: a page of files' matches as `vigil files` shows them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.categories import CategoryScheme
from vigil.errors import StoreError
from vigil.store import CaseStore
from vigil.store.schema import decisions, files, hash_entries, hashsets, matches

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


@dataclass(frozen=True, slots=True)
class Found:
    """One active match of a file, as the verdict needs it."""

    kind: str  # the set's kind
    category: int | None
    strength: str = "strong"
    hashset: str = ""
    distance: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    category: int | None
    source: str | None  # "decision" | "match" | None
    state: str  # decided | matched | review
    reason: str | None  # why a human is needed (state review)


NO_MATCH = "no match in any hash set"


def file_verdict(
    scheme: CategoryScheme, found: Sequence[Found], decision: int | None = None
) -> Verdict:
    """A file's verdict from its active matches and the latest decision on its content."""
    if decision is not None:
        return Verdict(decision, "decision", "decided", None)
    weak = [f for f in found if f.strength == "weak" and f.kind == "alert"]
    strong = [(f.kind, f.category) for f in found if f.strength != "weak"]
    category = decide_category(scheme, strong)
    alert_categorised = any(k == "alert" and c is not None for k, c in strong)
    if category is not None and (alert_categorised or not weak):
        return Verdict(category, "match", "matched", None)
    if any(k == "alert" for k, _ in strong):
        names = sorted({f.hashset for f in found if f.kind == "alert" and f.strength != "weak"})
        return Verdict(None, None, "review", f"alert match without a category ({', '.join(names)})")
    if weak:
        best = min(weak, key=lambda f: f.distance)
        return Verdict(
            None, None, "review", f"weak match: {best.hashset} at PDQ distance {best.distance}"
        )
    return Verdict(None, None, "review", NO_MATCH)


def latest_decisions(conn: Connection, sha256s: Iterable[str]) -> dict[str, int]:
    """The category of the latest decision on each of these contents that has one (a
    withdrawal, whose category is NULL, leaves the content out)."""
    wanted = sorted({h for h in sha256s if h})
    out: dict[str, int] = {}
    for i in range(0, len(wanted), PAGE):
        latest = (
            select(func.max(decisions.c.id))
            .where(decisions.c.sha256.in_(wanted[i : i + PAGE]))
            .group_by(decisions.c.sha256)
        )
        out.update(
            conn.execute(
                select(decisions.c.sha256, decisions.c.category).where(
                    decisions.c.id.in_(latest.scalar_subquery()),
                    decisions.c.category.is_not(None),
                )
            ).all()
        )
    return out


def resolve_categories(conn: Connection, scheme: CategoryScheme, file_ids: Sequence[int]) -> None:
    """Set the verdict (`category`, `category_source`, `state`, `review_reason`) of these
    files from their matches and decisions (inside the caller's transaction); only rows whose
    verdict changes are written."""
    if not file_ids:
        return
    ids = list(file_ids)
    found: dict[int, list[Found]] = defaultdict(list)
    rows = conn.execute(
        select(
            matches.c.file_id,
            hashsets.c.kind,
            matches.c.category,
            matches.c.strength,
            hashsets.c.name,
            matches.c.distance,
        )
        .join(hashsets, hashsets.c.id == matches.c.hashset_id)
        .where(matches.c.file_id.in_(ids), hashsets.c.active.is_(True))
    )
    for file_id, *match in rows:
        found[file_id].append(Found(*match))
    current = conn.execute(
        select(
            files.c.id,
            files.c.sha256,
            files.c.category,
            files.c.category_source,
            files.c.state,
            files.c.review_reason,
        ).where(files.c.id.in_(ids))
    ).all()
    decided = latest_decisions(conn, (row.sha256 for row in current))
    changes = []
    for row in current:
        verdict = file_verdict(scheme, found.get(row.id, ()), decided.get(row.sha256))
        if (verdict.category, verdict.source, verdict.state, verdict.reason) != tuple(row[2:]):
            changes.append(
                {
                    "fid": row.id,
                    "cat": verdict.category,
                    "src": verdict.source,
                    "st": verdict.state,
                    "why": verdict.reason,
                }
            )
    if changes:
        conn.execute(
            update(files)
            .where(files.c.id == bindparam("fid"))
            .values(
                category=bindparam("cat"),
                category_source=bindparam("src"),
                state=bindparam("st"),
                review_reason=bindparam("why"),
            ),
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
            matches.c.strength,
            hash_entries.c.list_category,
            matches.c.query_match,
            matches.c.compared_match,
            matches.c.time_ranges,
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
        found = {
            "hashset": row.name,
            "hashset_version": row.version,
            "kind": row.kind,
            "algorithm": row.algorithm,
            "distance": row.distance,
            "transform": row.transform,
            "category": row.category,
            "strength": row.strength,
            "list_category": row.list_category,
        }
        if row.query_match is not None:  # a video against a known video (`video_matcher`)
            found["query_match"] = row.query_match
            found["compared_match"] = row.compared_match
            found["time_ranges"] = json.loads(row.time_ranges) if row.time_ranges else None
        out.setdefault(row.file_id, []).append(found)
    return out
