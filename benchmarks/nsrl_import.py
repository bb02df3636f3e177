"""NSRL RDS v3 import benchmark: a generated minimal database, read raw and imported into a case.

The database has NIST's minimal `FILE` schema (UPPERCASE hex, primary key over all seven
columns) and is shaped like Modern Minimal: most hashes repeat across packages (about 3 FILE
rows per distinct hash by default), under a few thousand recurring file names. Nothing in it
is real: digests are random bytes, names are made up.

(a) the raw reader (`NsrlFormat().read`): FILE rows/s and distinct entries/s, peak RSS growth
(b) a full `vigil.store.hashsets.import_hashset` into a fresh SQLite case, kind ignorable,
    against the README's import rate of 70-90k entries/s

Usage: python benchmarks/nsrl_import.py [--rows 10000000] [--rows-per-hash 3.0] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from vigil.hashsets import get_format
from vigil.store import CaseStore
from vigil.store.hashsets import import_hashset

NIST_MINIMAL_FILE = (
    "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,"
    " crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,"
    " package_id INTEGER NOT NULL, CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5,"
    " crc32, file_name, file_size, package_id))"
)
README_RATE = (70_000, 90_000)
_STEMS = ("setup", "readme", "libcore", "msvcr", "icon", "license", "update", "locale", "data")
_EXTS = ("dll", "exe", "txt", "png", "so", "xml", "dat", "mo", "js")


def _rows(
    rows: int, per_hash: float, seed: int
) -> Iterator[tuple[str, str, str, str, str, int, int]]:
    """FILE rows in primary-key order, so the index is built by appending and the generator
    holds nothing: the sha256 of the k-th hash starts with k spread evenly over 64 bits
    (increasing, as a sorted random set would be), the rest is random. Each hash gets
    1 + a geometric number of extra rows, each in another package, mostly under one name."""
    rng = random.Random(seed)
    step = 2**64 // int(rows / per_hash * 1.5 + 1)
    extra_p = 1 / per_hash  # 1 + (geometric(p) - 1) rows: mean 1/p = per_hash
    made = k = 0
    while made < rows:
        tail = rng.randbytes(64).hex().upper()
        sha256, sha1, md5, crc = (
            f"{k * step:016X}{tail[:48]}",
            tail[48:88],
            tail[88:120],
            tail[120:],
        )
        k += 1
        repeat = 1
        while rng.random() > extra_p:
            repeat += 1
        name = f"{rng.choice(_STEMS)}{rng.randrange(500)}.{rng.choice(_EXTS)}"
        size = rng.randrange(1, 50_000_000)
        group = []
        for _ in range(min(repeat, rows - made)):
            other = name if rng.random() < 0.8 else name.upper()
            group.append((sha256, sha1, md5, crc, other, size, rng.randrange(1, 300_000)))
        made += len(group)
        yield from sorted(group)


def make_db(path: Path, rows: int, per_hash: float, seed: int = 7) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(NIST_MINIMAL_FILE)
        conn.execute(
            "CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE"
        )
        conn.executemany(
            "INSERT OR IGNORE INTO FILE VALUES (?,?,?,?,?,?,?)", _rows(rows, per_hash, seed)
        )
        conn.commit()
    finally:
        conn.close()


class PeakRss:
    """Samples this process's RSS every 50 ms; `growth` is the peak over the starting value."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="FILE rows (default 10M)")
    parser.add_argument("--rows-per-hash", type=float, default=3.0)
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    parser.add_argument("--skip-import", action="store_true", help="time the reader only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-nsrl-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        db = work / "RDS_2099.01.1_modern_minimal.db"
        t0 = time.perf_counter()
        make_db(db, args.rows, args.rows_per_hash)
        print(
            f"generated {args.rows:,} FILE rows in {time.perf_counter() - t0:.0f} s "
            f"({db.stat().st_size / 1e9:.2f} GB)"
        )

        fmt = get_format("nsrl")
        rss = PeakRss()
        t0 = time.perf_counter()
        rows = entries = 0
        for entry in fmt.read(db):
            rows += entry.count
            entries += 1
        took = time.perf_counter() - t0
        grew = rss.stop()
        print(
            f"(a) reader: {rows:,} rows -> {entries:,} distinct entries in {took:.1f} s: "
            f"{rows / took:,.0f} rows/s, {entries / took:,.0f} entries/s; "
            f"peak RSS +{grew / 2**20:.0f} MiB"
        )
        if args.skip_import:
            return

        store = CaseStore.create(work / "case")
        try:
            rss = PeakRss()
            t0 = time.perf_counter()
            info = import_hashset(store, db, fmt=fmt, kind="ignorable")
            took = time.perf_counter() - t0
            grew = rss.stop()
        finally:
            store.close()
        low, high = README_RATE
        rate = entries / took
        print(
            f"(b) import: {entries:,} entries ({rows:,} rows) as {info.name} v{info.version} "
            f"in {took:.1f} s: {rate:,.0f} entries/s, {rows / took:,.0f} rows/s; "
            f"peak RSS +{grew / 2**20:.0f} MiB; README says {low:,}-{high:,} entries/s "
            f"({rate / ((low + high) / 2):.2f}x its midpoint)"
        )


if __name__ == "__main__":
    main()
