"""Shared fixtures.

`db_url` runs a test on SQLite and on PostgreSQL: a fresh database made for this test session
on the server at 127.0.0.1:5432 (override with VIGIL_TEST_PG=postgresql://user@host:port/db)
and dropped afterwards; each test starts from an empty `public` schema. Without a server the
PostgreSQL half skips, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.helpers import gradient_image, image_bytes


@pytest.fixture
def jpeg_bytes() -> bytes:
    return image_bytes(gradient_image(1), "JPEG", quality=90)


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
