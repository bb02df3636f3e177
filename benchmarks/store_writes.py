"""Bulk writes of the case store: records/s through `RecordWriter` into a SQLite case and a
PostgreSQL case, and on PostgreSQL each table's and its indexes' size scaled to a million
files, with the indexes listed.

Records are generated, not ingested (no bytes are read or hashed): each one carries the
digests, PDQ hash, dihedral variants and EXIF camera fields an image record has, so a row is
as wide as a real one. The PostgreSQL case lives in a scratch database made on the server at
`--pg` (its database name is ignored) and dropped afterwards. Issue 12's target: PostgreSQL
at 20,000 records/s or more.

Wall-clock rates depend on what else the machine runs, so CPU time is printed too: this
process's, and on a local server the case's backends' (read from /proc); records per CPU
second is the rate the writer and the server make together on otherwise idle cores.

Usage: python benchmarks/store_writes.py [--size 200000] [--batch 500] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from vigil.model import FileRecord, Kind, Locator
from vigil.store import CaseStore, RecordWriter

TABLES = ("files", "done")  # the tables that grow with the files; the rest stay small
MILLION = 1_000_000


def records(size: int) -> Iterator[FileRecord]:
    for i in range(size):
        seed = f"{i:032x}"
        pdq = (seed * 2)[::-1]
        yield FileRecord(
            locator=Locator(f"DCIM/{i // 1000:04d}/IMG_{i:08d}.jpg".encode()),
            size=100_000 + i,
            md5=seed,
            sha1=(seed * 2)[:40],
            sha256=seed * 2,
            mime="image/jpeg",
            kind=Kind.IMAGE,
            width=4032,
            height=3024,
            pdq=pdq,
            pdq_quality=90,
            pdq_dihedral=(pdq,) * 8,
            exif={"make": "Bench", "model": "B1", "serial": f"S{i % 50}"},
            mtime=1_700_000_000.0 + i,
        )


def write(store: CaseStore, size: int, batch: int) -> tuple[float, float]:
    """Wall and CPU seconds (this process) writing `size` records, one task each, in
    batches of `batch`."""
    started, cpu = time.perf_counter(), time.process_time()
    with RecordWriter(store, batch_size=batch) as writer:
        source = writer.source_id("bench", "/bench", single_file=False)
        for rec in records(size):
            writer.add(source, rec.locator.relpath, [rec])
    return time.perf_counter() - started, time.process_time() - cpu


def backend_cpu(url: str, database: str) -> float | None:
    """CPU seconds used so far by the server's backends connected to `database`; None when
    the server is not on this machine."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    total = 0.0
    for (pid,) in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def sizes(url: str, size: int) -> None:
    """Each table's size with its indexes, and its indexes alone, per million files."""
    scale = MILLION / size
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # settled sizes, as a finished ingest leaves them
        print(f"PostgreSQL sizes per {MILLION:,} files (scaled from {size:,}):")
        print(f"  {'table':<10} {'total MB':>9} {'indexes MB':>11}")
        for table in TABLES:
            total, indexes = conn.execute(
                "SELECT pg_total_relation_size(%s), pg_indexes_size(%s)", (table, table)
            ).fetchone()
            print(f"  {table:<10} {total * scale / 2**20:>9,.0f} {indexes * scale / 2**20:>11,.0f}")
        rows = conn.execute(
            "SELECT i.relname, pg_relation_size(i.oid), pg_get_indexdef(i.oid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid"
            " WHERE t.relname = ANY(%s) ORDER BY t.relname, i.relname",
            (list(TABLES),),
        ).fetchall()
        print("  indexes (MB per million files):")
        for name, nbytes, definition in rows:
            print(f"    {nbytes * scale / 2**20:>7,.0f}  {name}: {definition.split(' USING ')[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="the writer's batch size")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    base, _, _ = args.pg.rpartition("/")
    scratch = f"vigil_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label, db_url in (("SQLite", None), ("PostgreSQL", f"{base}/{scratch}")):
                case = Path(tmp) / label
                with CaseStore.create(case, name="bench", db_url=db_url) as store:
                    server = backend_cpu(args.pg, scratch) if db_url else 0.0
                    wall, cpu = write(store, args.size, args.batch)
                    after = backend_cpu(args.pg, scratch) if db_url else 0.0
                line = f"{label:<10} {args.size:,} records: {args.size / wall:,.0f} records/s"
                if server is None or after is None:
                    print(f"{line}; client CPU {cpu:.1f} s (server CPU unknown: not local)")
                    continue
                used = cpu + after - server
                print(
                    f"{line}; {args.size / used:,.0f} records per CPU second"
                    f" (client {cpu:.1f} s, server {after - server:.1f} s)"
                )
        sizes(f"{base}/{scratch}", args.size)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    main()
