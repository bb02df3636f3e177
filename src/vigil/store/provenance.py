"""What the case store adds to a run's provenance: its URL, without a password, and the
version of the database server that holds the records (SQLite's library or the PostgreSQL
server), which `vigil.provenance` cannot know without a connection.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings
from vigil.errors import StoreError
from vigil.provenance import run_provenance
from vigil.store.case import SQLITE_FILE, CaseStore


def store_url(store: CaseStore) -> str:
    """`sqlite:////abs/CASE/case.db` or `postgresql://user@host:port/db`. Case URLs refuse a
    password already; it is dropped here as well so that no path can ever record one."""
    if store.db_url is None:
        return URL.create("sqlite", database=str(store.case_dir / SQLITE_FILE)).render_as_string()
    url = store.db_url
    shown = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    )
    return shown.render_as_string(hide_password=False)


def database_version(conn: Connection) -> str:
    """`SQLite 3.45.1` or `PostgreSQL 16.4 (Debian 16.4-1)`: the engine that ran the queries,
    which for SQLite is the library inside Python, not a server."""
    if conn.dialect.name == "postgresql":
        return "PostgreSQL " + str(conn.exec_driver_sql("SHOW server_version").scalar_one())
    return "SQLite " + str(conn.exec_driver_sql("SELECT sqlite_version()").scalar_one())


def store_provenance(store: CaseStore, settings: Settings) -> dict[str, Any]:
    """`run_provenance` for a run on this case: asks the server its version (one short read)."""
    try:
        with store.engine.connect() as conn:
            database = database_version(conn)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot read the database version of {store.describe_db()}: {exc}"
        ) from exc
    return run_provenance(settings, store_url(store), database)
