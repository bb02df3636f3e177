"""A small case of benign records for the export tests, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import update

from vigil.model import FileRecord, Kind, Locator
from vigil.store import CaseStore, RecordWriter
from vigil.store.schema import files

FOLDER = "seized/Alice's phone"  # must never reach an export
# path → (content, category); the copy shares a.jpg's content under a milder category
RECORDS = {
    f"{FOLDER}/a.jpg": (b"benign-a", 1),
    f"{FOLDER}/b, c.jpg": (b"benign-b", 2),
    f"{FOLDER}/c.jpg": (b"benign-c", 0),
    f"{FOLDER}/d.jpg": (b"benign-d", None),
    f"{FOLDER}/copies/a-copy.jpg": (b"benign-a", 0),
}


def record(path: str, data: bytes) -> FileRecord:
    return FileRecord(
        Locator(path.encode()),
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        kind=Kind.IMAGE,
        pdq=hashlib.sha256(b"pdq" + data).hexdigest(),
        pdq_quality=90,
        pdq_version="pdqhash-test/rgb",
    )


@pytest.fixture
def case(tmp_path: Path, db_url: str | None) -> Path:
    case_dir = tmp_path / "Operation Nightjar"
    with CaseStore.create(case_dir, db_url=db_url) as store:
        with RecordWriter(store) as writer:
            sid = writer.source_id("ev", "/ev", single_file=False)
            for path, (data, _) in RECORDS.items():
                writer.add(sid, path.encode(), [record(path, data)])
        with store.engine.begin() as conn:
            for path, (_, category) in RECORDS.items():
                conn.execute(update(files).where(files.c.path == path).values(category=category))
    return case_dir
