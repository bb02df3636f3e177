"""Human decisions: a person's category for a content, recorded once per content and applied
to every file that holds it, archive members included.

Decisions are append-only (`store.schema.decisions`); the latest per content counts, and it
wins over whatever the matches say, now and after any later re-match (`pipeline.categorise`).
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import ConfigError, StoreError
from vigil.pipeline.categorise import resolve_categories
from vigil.store import CaseStore
from vigil.store.audit import append
from vigil.store.case import now_iso
from vigil.store.groups import group_contents
from vigil.store.schema import decisions, files

_PAGE = 1000
MAX_NOTE = 4000


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    contents: int  # decisions recorded
    files: int  # files whose content they cover
    category: int
    label: str  # the category's label in the case's scheme


def decide(
    store: CaseStore,
    category: int,
    *,
    sha256: str | None = None,
    group: str | None = None,
    note: str | None = None,
    by: str | None = None,
) -> DecisionOutcome:
    """Record `category` for one content (`sha256`) or every content of a `group` label, then
    decide the verdict of every file holding them again, in one transaction with its audit
    entry (by `by`)."""
    who = check_request(store, category, sha256, group, note, by or _user())
    try:
        with store.engine.begin() as conn:
            hashes = contents_of(conn, sha256, group)
            covered = record_decisions(
                conn, store, hashes, category, by=who, note=note, group=group
            )
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record the decision in {store.describe_db()}: {exc}") from exc
    return DecisionOutcome(len(hashes), covered, category, store.scheme.label(category))


def check_request(
    store: CaseStore,
    category: int,
    sha256: str | None,
    group: str | None,
    note: str | None,
    by: str,
) -> str:
    """Refuse a request no decision (or vote) can come of; returns who makes it, stripped."""
    if (sha256 is None) == (group is None):
        raise ConfigError("give exactly one of a content (--sha256) or a group (--group)")
    store.scheme.check(category)
    if note is not None and len(note) > MAX_NOTE:
        raise ConfigError(f"a decision note holds at most {MAX_NOTE} characters")
    who = by.strip()
    if not who:
        raise ConfigError("a decision needs the name of who made it (--by)")
    return who


def record_decisions(
    conn: Connection,
    store: CaseStore,
    hashes: Sequence[str],
    category: int,
    *,
    by: str,
    note: str | None = None,
    group: str | None = None,
) -> int:
    """Append `category` for each content, decide its files' verdicts again and write the
    audit entry, all inside the caller's transaction; returns the files covered."""
    when = now_iso()
    conn.execute(
        insert(decisions),
        [
            {
                "sha256": h,
                "category": category,
                "scheme": store.scheme.name,
                "decided_by": by,
                "decided_at": when,
                "note": note,
                "via_group": group,
            }
            for h in hashes
        ],
    )
    covered = resolve_contents(conn, store, hashes)
    on, subject = ("group", group) if group is not None else ("sha256", hashes[0])
    detail = {"category": category, "contents": len(hashes), "files": covered}
    append(conn, by, "decision", subject, {**detail, on: subject, "note": note})
    return covered


def contents_of(conn: Connection, sha256: str | None, group: str | None) -> list[str]:
    """The contents a request names: the one `sha256` (which a file must hold) or every
    content of `group`; ConfigError otherwise."""
    if group is not None:
        return group_contents(conn, group)
    wanted = (sha256 or "").strip().lower()
    if len(wanted) != 64 or any(c not in "0123456789abcdef" for c in wanted):
        raise ConfigError(f"not a SHA-256: {sha256!r}")
    if conn.execute(select(files.c.id).where(files.c.sha256 == wanted).limit(1)).first() is None:
        raise ConfigError(f"no file in this case has SHA-256 {wanted}")
    return [wanted]


def resolve_contents(conn: Connection, store: CaseStore, hashes: Sequence[str]) -> int:
    """Decide again the verdict of every file holding these contents; returns how many."""
    scheme, covered = store.scheme, 0
    for i in range(0, len(hashes), _PAGE):
        ids = list(
            conn.execute(
                select(files.c.id).where(files.c.sha256.in_(hashes[i : i + _PAGE]))
            ).scalars()
        )
        resolve_categories(conn, scheme, ids)
        covered += len(ids)
    return covered


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        return ""


def history(store: CaseStore, sha256: str) -> list[dict]:
    """Every decision on a content, oldest first (the last one counts)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(decisions).where(decisions.c.sha256 == sha256).order_by(decisions.c.id)
        ).mappings()
        return [dict(row) for row in rows]
