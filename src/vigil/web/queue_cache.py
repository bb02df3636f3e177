"""The priority queue as the app serves it. `triage.queue` reads every media row of the case
(about 75-150 s for a 1M-file case, benchmarks/web.py), so the built queue is kept per case
for `FRESH` and a decision only strikes the groups it covered from it; a new build happens
when it is older than that, or when too few groups are left."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from vigil.store.schema import files
from vigil.triage.queue import build_queue
from vigil.triage.weights import load_weights
from vigil.web.cases import ServedCase

FRESH = timedelta(minutes=10)
SHOWN = 12  # contents of a group whose thumbnails the queue shows


class Queues:
    def __init__(self) -> None:
        self._built: dict[str, tuple[datetime, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def get(self, case: ServedCase, now: datetime, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            found = self._built.get(case.key)
        if found is None or now - found[0] > FRESH or len(found[1]) < limit:
            items = build_queue(
                case.store,
                load_weights(case.store.case_dir),
                limit=max(limit, 100),
                threshold=case.settings.pdq_threshold,
            )
            found = (now, _with_file_ids(case, items))
            with self._lock:
                self._built[case.key] = found
        return found[1][:limit]

    def decided(self, case_key: str, *, group: str | None, sha256: str | None) -> None:
        """Strike the groups a decision (or undo) on `group` or `sha256` touched."""
        with self._lock:
            found = self._built.get(case_key)
            if found is None:
                return
            kept = [
                item
                for item in found[1]
                if item["group"] != group and (sha256 is None or sha256 not in item["sha256s"])
            ]
            self._built[case_key] = (found[0], kept)


def _with_file_ids(case: ServedCase, items: list[Any]) -> list[dict[str, Any]]:
    """Each group as `vigil queue --format json` prints it, plus one file id for each of its
    first contents (the page shows their degraded thumbnails)."""
    wanted = sorted({h for q in items for h in dict.fromkeys(q.hashes[:SHOWN]) if h})
    first: dict[str, int] = {}
    with case.store.engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            first.update(
                conn.execute(
                    select(files.c.sha256, func.min(files.c.id))
                    .where(files.c.sha256.in_(wanted[i : i + 500]))
                    .group_by(files.c.sha256)
                ).all()
            )
    out = []
    for q in items:
        item = q.as_json()
        shown = [h for h in dict.fromkeys(q.hashes[:SHOWN]) if h in first]
        item["file_ids"] = [first[h] for h in shown]
        item["sha256s"] = shown
        out.append(item)
    return out
