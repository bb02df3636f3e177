"""Taking a decision back. Decisions are append-only, so an undo is itself a decision row:
it repeats the category the content had before its latest decision, or withdraws (a NULL
category) when there was none, and the content's verdict is its matches' again. Undoing an
undo therefore redoes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, insert, select
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import ConfigError, StoreError
from vigil.store import CaseStore
from vigil.store.audit import append
from vigil.store.case import now_iso
from vigil.store.schema import decisions
from vigil.triage.decisions import contents_of, resolve_contents


def undo(
    store: CaseStore, *, sha256: str | None = None, group: str | None = None, by: str
) -> dict[str, Any]:
    """Undo the latest decision on one content or on every content of a group, in one
    transaction with its audit entry; contents never decided are left alone."""
    if (sha256 is None) == (group is None):
        raise ConfigError("give exactly one of a content (sha256) or a group")
    scheme = store.scheme
    try:
        with store.engine.begin() as conn:
            hashes = contents_of(conn, sha256, group)
            when, rows = now_iso(), []
            for h in hashes:
                last_two = conn.execute(
                    select(decisions.c.id, decisions.c.category)
                    .where(decisions.c.sha256 == h)
                    .order_by(desc(decisions.c.id))
                    .limit(2)
                ).all()
                if not last_two:
                    continue
                before = last_two[1].category if len(last_two) == 2 else None
                rows.append(
                    {
                        "sha256": h,
                        "category": before,
                        "scheme": scheme.name,
                        "decided_by": by,
                        "decided_at": when,
                        "note": f"undo of decision {last_two[0].id}",
                        "via_group": group,
                    }
                )
            if not rows:
                raise ConfigError("nothing to undo: no decision on that content or group")
            conn.execute(insert(decisions), rows)
            undone = [r["sha256"] for r in rows]
            covered = resolve_contents(conn, store, undone)
            subject = group if group is not None else undone[0]
            append(conn, by, "undo", subject, {"contents": len(rows), "files": covered})
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot undo the decision in {store.describe_db()}: {exc}") from exc
    return {"contents": len(rows), "files": covered}
