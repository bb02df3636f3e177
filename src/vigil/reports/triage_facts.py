"""What triage found, gathered for the case report: devices, series and the priority queue."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from vigil.config import Settings
from vigil.reports.case_data import TriageFacts
from vigil.store import CaseStore
from vigil.store.schema import contents, files, series
from vigil.triage.devices import list_devices
from vigil.triage.queue import build_queue
from vigil.triage.weights import Weights

TOP_SERIES = 50
QUEUE_GROUPS = 100


def triage_facts(store: CaseStore, settings: Settings, weights: Weights) -> TriageFacts:
    queue = build_queue(store, weights, limit=QUEUE_GROUPS, threshold=settings.pdq_threshold)
    return TriageFacts(
        devices=list_devices(store),
        series=_series(store),
        queue=[
            {
                "group": item.group,
                "kind": item.kind,
                "score": item.score,
                "reasons": item.reasons,
                "file_count": item.file_count,
                "files": [
                    {"path": p, "sha256": h} for p, h in zip(item.files, item.hashes, strict=True)
                ],
            }
            for item in queue
        ],
    )


def _series(store: CaseStore) -> list[dict[str, Any]]:
    """The biggest live series, with their file counts and what ties them."""
    count = func.count(files.c.id)
    query = (
        select(series.c.id, series.c.reasons, count.label("files"))
        .join(contents, contents.c.series_id == series.c.id)
        .join(files, files.c.sha256 == contents.c.sha256)
        .where(series.c.merged_into.is_(None))
        .group_by(series.c.id, series.c.reasons)
        .order_by(count.desc(), series.c.id)
        .limit(TOP_SERIES)
    )
    with store.engine.connect() as conn:
        return [
            {
                "group": f"s{row.id}",
                "kind": "series",
                "files": row.files,
                "reasons": [f"{why}: {n} tie(s)" for why, n in json.loads(row.reasons).items()],
            }
            for row in conn.execute(query)
        ]
