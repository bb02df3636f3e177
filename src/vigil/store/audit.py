"""The case's tamper-evident audit log: every login, reveal, decision, hash-set change, export
and user change, as one append-only chain of hashed entries.

Each entry's `entry_hash` covers its fields and the previous entry's hash, exactly so (an
outside tool can re-verify an export from this alone):

    field(NULL)  = b"-\\n"
    field(value) = b"<n>:" + text + b"\\n"   text: the value's UTF-8 bytes (`id` in decimal),
                                             n: their count in decimal
    message      = b"vigil-audit-1\\n" + field(id) + field(at) + field(actor) + field(action)
                   + field(subject) + field(detail) + field(prev_hash)
    entry_hash   = lowercase hex SHA-256(message)

`detail` is hashed as the stored text (JSON, keys sorted, no spaces, non-ASCII unescaped), so
a verifier never re-serialises JSON. Ids run 1, 2, 3 … with no gaps; the first entry's
`prev_hash` is 64 zeros. Nothing updates or deletes an entry.

What the chain proves: an edited, deleted or inserted entry breaks it, and `audit_head`
(the last id and hash) shows a cut tail. Whoever can write the database can rebuild the whole
chain, so keep the last hash `vigil audit verify` prints somewhere outside the case: a later
verify that still ends at it shows nothing before it changed.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import StoreError
from vigil.store.case import CaseStore, now_iso
from vigil.store.schema import audit, audit_head

ZERO_HASH = "0" * 64
ACTIONS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "reveal",
        "decision",
        "hashset_import",
        "hashset_remove",
        "export",
        "user_add",
        "user_disable",
        "user_grant",
        "user_password",
        "user_budget",
        "user_rendering",
        "outcome",
        "undo",
        "vote",
    }
)
FIELDS = ("id", "at", "actor", "action", "subject", "detail", "prev_hash", "entry_hash")
_MAGIC = b"vigil-audit-1\n"
_PAGE = 5000


def entry_hash(
    entry_id: int,
    at: str,
    actor: str,
    action: str,
    subject: str | None,
    detail: str | None,
    prev_hash: str,
) -> str:
    """The hash the module docstring defines."""
    digest = hashlib.sha256(_MAGIC)
    for value in (str(entry_id), at, actor, action, subject, detail, prev_hash):
        if value is None:
            digest.update(b"-\n")
        else:
            data = value.encode("utf-8")
            digest.update(b"%d:%s\n" % (len(data), data))
    return digest.hexdigest()


def canonical_detail(detail: Mapping[str, Any] | None) -> str | None:
    if detail is None:
        return None
    return json.dumps(
        detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def cli_actor() -> str:
    """The actor of a change made from the command line: `cli:<login name>`."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        login = "unknown"
    return f"cli:{login}"


def append(
    conn: Connection,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Add one entry inside the caller's transaction, so it commits or rolls back with the
    change it records; returns its id. Database errors are the caller's to translate."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not actor:
        raise ValueError("an audit entry needs an actor")
    text = canonical_detail(detail)
    # Writing the head first takes the write lock before the last hash is read: SQLite's
    # deferred BEGIN then behaves as BEGIN IMMEDIATE, and PostgreSQL holds the row until
    # commit, so concurrent appenders queue here and each sees the one before it.
    head = conn.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(last_id=audit_head.c.last_id + 1)
        .returning(audit_head.c.last_id, audit_head.c.last_hash)
    ).first()
    if head is None:
        raise StoreError("the audit log has lost its head row: run `vigil audit verify`")
    entry_id, prev_hash = int(head[0]), str(head[1])
    at = now_iso()
    digest = entry_hash(entry_id, at, actor, action, subject, text, prev_hash)
    conn.execute(
        insert(audit).values(
            id=entry_id,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=text,
            prev_hash=prev_hash,
            entry_hash=digest,
        )
    )
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(last_hash=digest))
    return entry_id


def record(
    store: CaseStore,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """`append` in a transaction of its own, for a change that has already committed (or
    that, like an exported file, is not in the database)."""
    try:
        with store.engine.begin() as conn:
            return append(conn, actor, action, subject, detail)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot write the audit log in {store.describe_db()}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class VerifyResult:
    entries: int  # entries that verified, from the first on
    last_hash: str  # the entry_hash of the last of them (ZERO_HASH for none)
    broken_id: int | None = None  # the first entry that does not verify
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def check_chain(entries: Iterable[Any]) -> VerifyResult:
    """Check entries (objects with the `FIELDS` as attributes) in id order: each id follows
    the last, each links to the last's hash, each hash fits its fields. Stops at the first
    that does not."""
    count, expected, prev = 0, 1, ZERO_HASH

    def broken(entry_id: int, reason: str) -> VerifyResult:
        return VerifyResult(count, prev, entry_id, reason)

    for row in entries:
        if row.id != expected:
            if row.id < expected:
                return broken(row.id, f"entry id {row.id} cannot be in the log (ids start at 1)")
            start = f"goes from entry {expected - 1}" if expected > 1 else "starts"
            return broken(expected, f"entry {expected} is missing: the log {start} to {row.id}")
        if row.prev_hash != prev:
            if row.id == 1:
                return broken(1, "its prev_hash is not the 64 zeros that open the log")
            return broken(
                row.id,
                f"its prev_hash does not match entry {row.id - 1}'s hash: the chain is "
                f"broken between them (entry {row.id - 1} was rewritten, or this link was)",
            )
        fields = (row.id, row.at, row.actor, row.action, row.subject, row.detail, row.prev_hash)
        if entry_hash(*fields) != row.entry_hash:
            return broken(row.id, "its fields do not match its hash: the entry was altered")
        count, expected, prev = count + 1, expected + 1, row.entry_hash
    return VerifyResult(count, prev)


@contextmanager
def _snapshot(store: CaseStore) -> Iterator[Connection]:
    """One read transaction that sees a single state of the log however long it streams:
    SQLite's WAL read gives that already; PostgreSQL needs REPEATABLE READ."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _entries(conn: Connection) -> Iterator[Any]:
    """Every entry in id order, a keyset page at a time: memory stays flat for any size."""
    after = 0
    while True:
        page = conn.execute(
            select(*(audit.c[f] for f in FIELDS))
            .where(audit.c.id > after)
            .order_by(audit.c.id)
            .limit(_PAGE)
        ).all()
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].id


def verify(store: CaseStore) -> VerifyResult:
    """Check the whole chain, then that it ends where the head says."""
    try:
        with _snapshot(store) as conn:
            head = conn.execute(
                select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == 1)
            ).first()
            result = check_chain(_entries(conn))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the audit log in {store.describe_db()}: {exc}") from exc
    return result if not result.ok else _against_head(result, head)


def _against_head(chain: VerifyResult, head: Any) -> VerifyResult:
    """A whole chain checked against the head row: a log cut short, or grown without it."""

    def broken(entry_id: int, reason: str) -> VerifyResult:
        return VerifyResult(chain.entries, chain.last_hash, entry_id, reason)

    last = chain.entries
    if head is None:
        return broken(last + 1, "the audit head row is missing")
    head_id, head_hash = int(head[0]), str(head[1])
    if head_id > last:
        gone = f"entry {head_id} is" if head_id == last + 1 else f"entries {last + 1}-{head_id} are"
        return broken(last + 1, f"{gone} missing from the end of the log")
    if head_id < last:
        return broken(
            head_id + 1,
            f"the log runs past its head (entry {head_id}): entries "
            "were added outside Vigil, or the head was set back",
        )
    if head_hash != chain.last_hash:
        return broken(last, "the last entry is not the one the head recorded: it was replaced")
    return chain


def export_jsonl(store: CaseStore, out: TextIO) -> int:
    """Write every entry as one JSON object a line, fields as stored (`detail` as its exact
    text, so each line re-verifies with the definition above); returns the count."""
    count = 0
    try:
        with _snapshot(store) as conn:
            for row in _entries(conn):
                out.write(json.dumps(dict(zip(FIELDS, row, strict=True)), ensure_ascii=False))
                out.write("\n")
                count += 1
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the audit log in {store.describe_db()}: {exc}") from exc
    return count
