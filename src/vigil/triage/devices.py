"""Devices: every camera body the case's pictures name, with how much of its output is known.

A body is make + model + serial (`files.camera_*`, filled from EXIF, maker notes and XMP). A
body that made pictures an alert list categorises *and* pictures nobody knows is the strongest
lead triage has: the same person, with the same camera, probably made both. Pictures naming a
make and model without a serial are counted per model, flagged as not one body.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from vigil.store import CaseStore
from vigil.store.schema import files


def _matched_alert(non_pertinent: int) -> Any:
    """A file an alert list categorised: matched, and not as non-pertinent."""
    return and_(files.c.category_source == "match", files.c.category != non_pertinent)


def bodies_with_matched(conn: Connection, non_pertinent: int) -> set[tuple[str, str, str]]:
    """The camera bodies that made at least one picture an alert list categorises."""
    rows = conn.execute(
        select(files.c.camera_make, files.c.camera_model, files.c.camera_serial)
        .where(
            files.c.camera_serial.is_not(None),
            files.c.camera_make.is_not(None),
            files.c.camera_model.is_not(None),
            _matched_alert(non_pertinent),
        )
        .distinct()
    )
    return {tuple(row) for row in rows}


def list_devices(store: CaseStore) -> list[dict[str, Any]]:
    """One dict per body (or per make + model when no serial was read), most files first:
    make, model, serial, files, unmatched (in review), matched (categorised by an alert
    list), decided, first and last capture time."""
    non_pertinent = store.scheme.non_pertinent

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            files.c.camera_make,
            files.c.camera_model,
            files.c.camera_serial,
            func.count().label("files"),
            count(files.c.state == "review").label("unmatched"),
            count(_matched_alert(non_pertinent)).label("matched"),
            count(files.c.state == "decided").label("decided"),
            func.min(files.c.captured_at).label("first"),
            func.max(files.c.captured_at).label("last"),
        )
        .where(files.c.camera_make.is_not(None) | files.c.camera_model.is_not(None))
        .group_by(files.c.camera_make, files.c.camera_model, files.c.camera_serial)
        .order_by(func.count().desc(), files.c.camera_make, files.c.camera_model)
    )
    with store.engine.connect() as conn:
        return [
            {
                "make": row.camera_make,
                "model": row.camera_model,
                "serial": row.camera_serial,
                "files": row.files,
                "unmatched": int(row.unmatched or 0),
                "matched": int(row.matched or 0),
                "decided": int(row.decided or 0),
                "first": row.first,
                "last": row.last,
                "one_body": row.camera_serial is not None,
                "also_matched": bool(row.camera_serial) and int(row.matched or 0) > 0,
            }
            for row in conn.execute(query)
        ]
