"""NSRL RDS v3: SQLite databases with a `FILE` table (minimal DB) or view (full DB, no `crc32`).

`FILE` has one row per file per package, so a hash repeats across packages (Modern Minimal:
about 440M rows for 74M distinct hashes). The reader folds them in SQL: one entry per distinct
(sha256, sha1, md5), `count` = the rows folded. The minimal table's primary key starts with
(sha256, sha1, md5), so SQLite streams the groups in index order without sorting; the full
DB's view is grouped through SQLite's external sorter (temporary files in SQLITE_TMPDIR or
TMPDIR). Either way memory stays flat. Digests are UPPERCASE in the database.

A folded entry keeps the digests, the count and one representative row's name and size (the
smallest name); per-package facts (`package_id`) do not survive folding, and CRC-32 is never
matched, so neither is kept: each would cost a JSON document per entry on imports of 74M.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import pathname2url

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, no_entries, opt_hex, opt_int

SQLITE_MAGIC = b"SQLite format 3\x00"
_HASHES = ("sha256", "sha1", "md5")
_SPARE_BYTES = 64 * 1024 * 1024  # left free after extracting, for SQLite's own temporary files
_CLEAN = re.compile(r"[0-9a-f]{64}\|[0-9a-f]{40}\|[0-9a-f]{32}")


def connect(path: Path) -> sqlite3.Connection:
    """Read-only: the RDS is a reference file (and may sit on read-only media)."""
    try:
        return sqlite3.connect(f"file:{pathname2url(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise HashSetFormatError(f"cannot open SQLite database: {exc}") from exc


def file_columns(conn: sqlite3.Connection) -> list[str]:
    """Columns of the `FILE` table or view (any case), or [] if there is none."""
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND lower(name) = 'file'"
    ).fetchone()
    if row is None:
        return []
    info = conn.execute(f'PRAGMA table_info("{row[0]}")').fetchall()
    return [str(r[1]).lower() for r in info]


def distinct_query(present: list[str]) -> str:
    """One row per distinct (sha256, sha1, md5) among the columns present, in that order (the
    minimal table's key order, so its index serves the GROUP BY).

    The representative name is the smallest (byte order) of the group's names, and size,
    package and CRC-32 come from that same row: SQLite takes the bare columns of a query with
    a single min() from the row that holds the minimum. The name is read as bytes, decoded
    in Python, so one name in a stray encoding cannot stop the import."""

    def col(name: str) -> str:
        return name if name in present else "NULL"

    name = "CAST(min(file_name) AS BLOB)" if "file_name" in present else "NULL"
    keys = ", ".join(c for c in _HASHES if c in present)
    picked = col("file_size")
    hashes = ", ".join(col(c) for c in _HASHES)
    return f"SELECT {hashes}, count(*), {name}, {picked} FROM FILE GROUP BY {keys}"


def _text(raw: object) -> str | None:
    if raw is None or raw == b"":
        return None
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return str(raw)


def _digests(sha256: object, sha1: object, md5: object, record: int) -> tuple[str | None, ...]:
    """The three digests lower-cased and checked; one regex for the usual all-present row (the
    per-entry cost that dominates the reader), `opt_hex` for the rest and for the error."""
    if isinstance(sha256, str) and isinstance(sha1, str) and isinstance(md5, str):
        joined = f"{sha256}|{sha1}|{md5}".lower()
        if _CLEAN.fullmatch(joined):
            return joined[:64], joined[65:105], joined[106:]
    return (
        opt_hex(sha256, "sha256", record=record),
        opt_hex(sha1, "sha1", record=record),
        opt_hex(md5, "md5", record=record),
    )


def read_db(path: Path) -> Iterator[HashEntry]:
    """Entries of an RDS v3 database; `record` in an error is the distinct hash's ordinal."""
    conn = connect(path)
    record = 0
    try:
        present = file_columns(conn)
        if not present:
            raise HashSetFormatError("no FILE table or view: not an NSRL RDS v3 database")
        if not set(_HASHES) & set(present):
            raise HashSetFormatError("FILE has no sha256, sha1 or md5 column")
        for sha256, sha1, md5, rows, name, size in conn.execute(distinct_query(present)):
            record += 1
            digests = _digests(sha256, sha1, md5, record)
            entry = HashEntry(
                md5=digests[2],
                sha1=digests[1],
                sha256=digests[0],
                name=_text(name),
                size=opt_int(size, "file_size", record=record),
                count=rows,
            )
            if not entry.has_hash:
                raise HashSetFormatError("row has no digest", record=record)
            yield entry
    except sqlite3.Error as exc:
        raise HashSetFormatError(f"SQLite error: {exc}", record=record + 1) from exc
    finally:
        conn.close()
    if not record:
        raise no_entries()


@contextmanager
def extracted(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[Path]:
    """The database `member` copied out of the zip into a new folder under the system
    temporary directory (TMPDIR), removed on exit, error or not: SQLite reads only real
    files. Refused up front when that disk lacks the member's uncompressed size."""
    root = Path(tempfile.gettempdir())
    free = shutil.disk_usage(root).free
    if free < member.file_size + _SPARE_BYTES:
        raise HashSetFormatError(
            f"extracting {member.filename} needs {_gb(member.file_size)} free in {root}, "
            f"which has {_gb(free)}: set TMPDIR to a larger disk, or unzip it and import the .db"
        )
    with tempfile.TemporaryDirectory(prefix="vigil-rds-", dir=root) as folder:
        target = Path(folder) / "rds.db"
        with archive.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        yield target


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB"
