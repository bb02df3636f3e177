"""Bulk inserts into a PostgreSQL case with COPY (psycopg 3): the row-by-row INSERTs psycopg
makes of an executemany cost about twice the CPU, client and server together, and three times
the client's (benchmarks/store_writes.py).

COPY cannot skip conflicting rows, so rows are copied into a staging table and moved with
one `INSERT … SELECT … ON CONFLICT DO NOTHING` in the order they were given: the same rows end
up stored, with ids in the same order, as the row-by-row insert gives (a duplicate is skipped,
the first copy wins).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, Table

_ORDER = "_vigil_order"  # the staging table's extra column: each row's place in the input


def copy_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Iterable[Any]],
    *,
    conflict: Sequence[str] = (),
) -> None:
    """Insert `rows` (values in `columns` order) into `table` within `conn`'s transaction,
    skipping those that conflict on `conflict` (any unique constraint when empty). A table
    is always given the same `columns`: its staging table is made once per session."""
    stage = sql.Identifier(f"_vigil_stage_{table.name}")
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    target = sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Identifier, conflict)))
    driver = conn.connection.driver_connection  # psycopg's own connection, same transaction
    assert driver is not None, "a connection inside a transaction has its driver connection"
    with driver.cursor() as cursor:
        # The table's own column types, no constraints or defaults. Kept for the session:
        # creating it on every flush cost more than the COPY. The move below empties it;
        # the commit truncates it, or the dead rows would pile up (autovacuum never visits
        # temporary tables).
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS"
                " SELECT 0::bigint AS {order}, {names} FROM {table} WITH NO DATA"
            ).format(stage=stage, order=sql.Identifier(_ORDER), names=names, table=_name(table))
        )
        with cursor.copy(
            sql.SQL("COPY {} ({}, {}) FROM STDIN").format(stage, sql.Identifier(_ORDER), names)
        ) as copy:
            for number, row in enumerate(rows):
                copy.write_row((number, *row))
        cursor.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM {stage} RETURNING *)"
                " INSERT INTO {table} ({names}) SELECT {names} FROM moved ORDER BY {order}"
                " ON CONFLICT {target} DO NOTHING"
            ).format(
                table=_name(table),
                names=names,
                stage=stage,
                order=sql.Identifier(_ORDER),
                target=target if conflict else sql.SQL(""),
            )
        )


def _name(table: Table) -> sql.Composable:
    if table.schema is None:
        return sql.Identifier(table.name)
    return sql.Identifier(table.schema, table.name)
