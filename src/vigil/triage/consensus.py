"""Consensus: when a case needs several reviewers to agree (`consensus_reviewers`), each
reviewer's category for a content is a vote, and a decision is recorded only once enough of
them agree. Votes that name different categories wait in a queue of their own.

Votes are append-only (`store.schema.votes`); only each reviewer's latest vote on a content
counts, so changing one's mind replaces the earlier vote rather than adding to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Result,
    Row,
    ScalarSelect,
    distinct,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import ConfigError, StoreError
from vigil.pipeline.categorise import latest_decisions
from vigil.store import CaseStore
from vigil.store.audit import append
from vigil.store.case import now_iso
from vigil.store.schema import decisions, files, votes
from vigil.triage.decisions import check_request, contents_of, decide, record_decisions

_PAGE = 1000
MAX_VOTER = 64  # votes.voted_by


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    contents: int  # contents voted on
    decided: int  # of them, how many this vote brought to a decision
    disagreements: int  # of them, how many now have votes naming different categories
    category: int
    label: str  # the category's label in the case's scheme


def vote(
    store: CaseStore,
    category: int,
    *,
    sha256: str | None = None,
    group: str | None = None,
    note: str | None = None,
    by: str,
    needed: int,
) -> VoteOutcome:
    """Record `by`'s vote for `category` on one content (`sha256`) or every content of a
    `group`, and decide each content on which `needed` reviewers now agree on it, all in one
    transaction with the audit entries. With `needed` 1 a vote is simply a decision (`decide`).

    Only the voted category can be decided: a vote never revives an older agreement on
    another category that a later decision or undo set aside."""
    if needed < 1:
        raise ConfigError(f"a decision needs at least one reviewer, not {needed}")
    if needed == 1:
        done = decide(store, category, sha256=sha256, group=group, note=note, by=by)
        return VoteOutcome(done.contents, done.contents, 0, done.category, done.label)
    who = check_request(store, category, sha256, group, note, by)
    # "+" joins the names of the agreeing reviewers in the decision's `decided_by`.
    if len(who) > MAX_VOTER or "+" in who:
        raise ConfigError(f"not a reviewer name: {who!r} (at most {MAX_VOTER} characters, no '+')")
    scheme = store.scheme
    try:
        with store.engine.begin() as conn:
            hashes = contents_of(conn, sha256, group)
            when = now_iso()
            conn.execute(
                insert(votes),
                [
                    {
                        "sha256": h,
                        "category": category,
                        "scheme": scheme.name,
                        "voted_by": who,
                        "voted_at": when,
                        "note": note,
                        "via_group": group,
                    }
                    for h in hashes
                ],
            )
            agreed, split = _tally(conn, hashes, category, needed)
            on, subject = ("group", group) if group is not None else ("sha256", hashes[0])
            detail = {"category": category, "contents": len(hashes), "needed": needed}
            detail |= {"decided": len(agreed), "disagreements": split, on: subject, "note": note}
            append(conn, who, "vote", subject, detail)
            by_voters: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for h, voters in agreed.items():
                by_voters[voters].append(h)
            for voters, decided in sorted(by_voters.items()):
                record_decisions(
                    conn,
                    store,
                    decided,
                    category,
                    by="consensus:" + "+".join(voters),
                    note=f"consensus of {len(voters)} agreeing votes",
                    group=group,
                )
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record the vote in {store.describe_db()}: {exc}") from exc
    return VoteOutcome(len(hashes), len(agreed), split, category, scheme.label(category))


def _tally(
    conn: Connection, hashes: Sequence[str], category: int, needed: int
) -> tuple[dict[str, tuple[str, ...]], int]:
    """The contents to decide now ({sha256: the agreeing reviewers, sorted}) and how many of
    the others have latest votes naming more than one category."""
    agreed: dict[str, tuple[str, ...]] = {}
    split = 0
    for i in range(0, len(hashes), _PAGE):
        page = hashes[i : i + _PAGE]
        named: dict[str, set[int]] = defaultdict(set)
        voters: dict[str, list[str]] = defaultdict(list)
        for row in _latest(conn, votes.c.sha256.in_(page)):
            named[row.sha256].add(row.category)
            if row.category == category:
                voters[row.sha256].append(row.voted_by)
        decided = latest_decisions(conn, page)
        for h in page:
            if len(voters[h]) >= needed and decided.get(h) != category:
                agreed[h] = tuple(sorted(voters[h]))
            elif len(named[h]) > 1:
                split += 1
    return agreed, split


def disagreements(
    store: CaseStore, *, limit: int = 100, after: str | None = None
) -> list[dict[str, Any]]:
    """Contents whose reviewers' latest votes name more than one category and that no
    decision has settled since (the latest decision, if it is not an undo, is at least as new
    as the newest of those votes), by SHA-256 after `after`, at most `limit` of them. Each: its
    `sha256`, `votes` (each reviewer's latest), `file_count` and `first_file_id`."""
    if limit < 1:
        raise ConfigError(f"a page of disagreements holds at least one, not {limit}")
    found: list[str] = []
    cursor = after or ""
    with store.engine.connect() as conn:
        # Walk the voted contents a page at a time so the votes never sit in memory at once.
        while len(found) < limit:
            page = list(
                conn.execute(
                    select(votes.c.sha256)
                    .where(votes.c.sha256 > cursor)
                    .group_by(votes.c.sha256)
                    .order_by(votes.c.sha256)
                    .limit(_PAGE)
                ).scalars()
            )
            if not page:
                break
            found += _unsettled(conn, cursor, page[-1])[: limit - len(found)]
            cursor = page[-1]
        return _describe(conn, found)


def _unsettled(conn: Connection, above: str, upto: str) -> list[str]:
    """The contents in (above, upto] in disagreement, in SHA-256 order."""
    latest = _latest_ids(votes.c.sha256 > above, votes.c.sha256 <= upto)
    split = dict(
        conn.execute(
            select(votes.c.sha256, func.max(votes.c.voted_at))
            .where(votes.c.id.in_(latest))
            .group_by(votes.c.sha256)
            .having(func.count(distinct(votes.c.category)) > 1)
        ).all()
    )
    if not split:
        return []
    last_decision = (
        select(func.max(decisions.c.id))
        .where(decisions.c.sha256.in_(split))
        .group_by(decisions.c.sha256)
        .scalar_subquery()
    )
    # Votes and decisions are different tables, so "since" compares their timestamps; a
    # decision that a vote brought about shares the vote's transaction and comes after it.
    for h, category, at in conn.execute(
        select(decisions.c.sha256, decisions.c.category, decisions.c.decided_at).where(
            decisions.c.id.in_(last_decision)
        )
    ):
        if category is not None and at >= split[h]:
            del split[h]
    return sorted(split)


def _describe(conn: Connection, hashes: list[str]) -> list[dict[str, Any]]:
    if not hashes:
        return []
    held = {
        h: (count, first)
        for h, count, first in conn.execute(
            select(files.c.sha256, func.count(), func.min(files.c.id))
            .where(files.c.sha256.in_(hashes))
            .group_by(files.c.sha256)
        )
    }
    cast: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _latest(conn, votes.c.sha256.in_(hashes)):
        cast[row.sha256].append(_vote(row))
    out = []
    for h in hashes:
        count, first = held.get(h, (0, None))
        out.append({"sha256": h, "votes": cast[h], "file_count": count, "first_file_id": first})
    return out


def pending(store: CaseStore, sha256: str) -> list[dict[str, Any]]:
    """Each reviewer's latest vote on a content, in the order they were cast."""
    with store.engine.connect() as conn:
        return [_vote(row) for row in _latest(conn, votes.c.sha256 == sha256.strip().lower())]


def _latest_ids(*where: ColumnElement[bool]) -> ScalarSelect[Any]:
    """The id of each reviewer's latest vote on each content that `where` selects."""
    return (
        select(func.max(votes.c.id))
        .where(*where)
        .group_by(votes.c.sha256, votes.c.voted_by)
        .scalar_subquery()
    )


def _latest(conn: Connection, *where: ColumnElement[bool]) -> Result[Any]:
    return conn.execute(
        select(votes)
        .where(votes.c.id.in_(_latest_ids(*where)))
        .order_by(votes.c.sha256, votes.c.id)
    )


def _vote(row: Row[Any]) -> dict[str, Any]:
    return {
        "voted_by": row.voted_by,
        "category": row.category,
        "voted_at": row.voted_at,
        "note": row.note,
    }
