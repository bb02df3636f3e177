"""Alembic environment for the case database, run programmatically by `vigil.store.case`.

The caller passes an open connection in `config.attributes["connection"]`; there is no
alembic.ini and no URL here, so migrations always run on the case's own engine and transaction.
"""

from __future__ import annotations

from alembic import context

from vigil.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable from the alembic command line
    raise RuntimeError("vigil migrations run through vigil.store, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
