"""The priority queue as the app serves it: built by `triage.queue` (which reads every media
row of the case), so it is kept per case for a short while and dropped by every decision."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from vigil.store.schema import files
from vigil.triage.queue import build_queue
from vigil.triage.weights import load_weights
from vigil.web.cases import ServedCase

FRESH = timedelta(seconds=60)
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

    def forget(self, case_key: str) -> None:
        with self._lock:
            self._built.pop(case_key, None)


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
