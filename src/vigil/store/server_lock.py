"""One writer per case across machines: a PostgreSQL session advisory lock.

The case folder's flock (`writer.lock_case`) only stops a second writer on the same machine,
or on a file server whose flock is honest; two lab machines that each mount the case and
point at one PostgreSQL database would otherwise both write. The database server sees every
writer, so the lock lives there: `pg_try_advisory_lock` on a key drawn from the case's UUID,
held by a connection of its own for as long as the writer runs. PostgreSQL drops it when that
connection ends, a killed process or a lost network included.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import StoreError
from vigil.store.case import CaseStore

# Keys of every application share one 64-bit space per database: a fixed tag keeps Vigil's
# apart from another program's that also locks small integers.
_TAG = b"vigil-case-writer:"


def lock_key(case_uuid: str) -> int:
    """A non-negative 63-bit key for the case (a bigint that pg_locks shows unchanged)."""
    digest = hashlib.sha256(_TAG + case_uuid.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class ServerLock:
    """Held from construction until `close()`; refuses with a StoreError naming who holds it."""

    def __init__(self, store: CaseStore) -> None:
        self._key = lock_key(store.meta()["case_uuid"])
        self._conn: Connection | None = None
        conn = store.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
            held = bool(got.scalar())
            holder = "" if held else self._holder(conn)
            conn.commit()  # the lock is the session's: no transaction left open
        except SQLAlchemyError as exc:
            conn.invalidate()
            raise StoreError(f"cannot take the case's writer lock on the server: {exc}") from exc
        if not held:
            conn.close()
            raise StoreError(
                f"another Vigil process is writing to the case {store.case_dir} "
                f"({holder}); wait for it to finish (one ingest at a time per case)"
            )
        self._conn = conn

    def _holder(self, conn: Connection) -> str:
        """Where the other writer connects from, as the server knows it."""
        row = conn.execute(
            text(
                "SELECT a.client_addr, a.pid, a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
            ),
            {"k": self._key},
        ).first()
        if row is None:
            return "its connection has just ended"
        addr = row.client_addr or "this server's socket"
        return f"held by server process {row.pid} for a client at {addr}"

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            # The pool keeps the session open after close(): unlock first, and where that
            # fails end the session itself, which releases the lock on the server.
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()
            with suppress(SQLAlchemyError):
                conn.close()
