"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh database made for this test session on the server at
127.0.0.1:5432 (override with VIGIL_TEST_PG=postgresql://user@host:port/maintenance-db) and
dropped afterwards; each test starts from an empty `public` schema. Without a server they skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from vigil.model import FileRecord, Kind, Locator, Status
from vigil.store import CaseStore

_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)


def _maintenance_url() -> tuple[str | None, str]:
    candidates = [os.environ["VIGIL_TEST_PG"]] if os.environ.get("VIGIL_TEST_PG") else _CANDIDATES
    errors = []
    for url in candidates:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as exc:
            errors.append(f"{url}: {str(exc).strip().splitlines()[0]}")
    return None, "; ".join(errors)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL (postgresql://, no driver, no password) of a database made for this session."""
    maintenance, why = _maintenance_url()
    if maintenance is None:
        pytest.skip(f"no PostgreSQL server for the store tests ({why})")
    name = f"vigil_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = maintenance.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded SQLite store, else an empty PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


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
