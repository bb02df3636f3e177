"""Store fixtures; the SQLite/PostgreSQL `db_url` fixture lives in tests/conftest.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vigil.model import FileRecord, Kind, Locator, Status
from vigil.store import CaseStore


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    return tmp_path / "case"


@pytest.fixture
def store(case_dir: Path, db_url: str | None) -> Iterator[CaseStore]:
    with CaseStore.create(case_dir, name="Test case", db_url=db_url) as opened:
        yield opened


def _record(
    relpath: bytes | str,
    *members: bytes | str,
    size: int | None = 10,
    status: Status = Status.OK,
    **fields: object,
) -> FileRecord:
    """A plausible record; digests derive from the locator so distinct items differ."""

    def raw(part: bytes | str) -> bytes:
        return part.encode() if isinstance(part, str) else part

    loc = Locator(raw(relpath), tuple(raw(m) for m in members))
    seed = uuid.uuid5(uuid.NAMESPACE_URL, loc.raw.hex()).hex
    values: dict[str, object] = {
        "size": size,
        "md5": seed,
        "sha1": (seed * 2)[:40],
        "sha256": seed * 2,
        "mime": "image/jpeg",
        "kind": Kind.IMAGE,
        "status": status,
        "width": 64,
        "height": 48,
        "pdq": seed * 2,
        "pdq_quality": 100,
    }
    values.update(fields)
    return FileRecord(loc, **values)  # type: ignore[arg-type]


@pytest.fixture
def make_record() -> Callable[..., FileRecord]:
    """`make_record(relpath, *members, size=…, status=…, **fields)` → a plausible FileRecord."""
    return _record
