"""NIST NSRL RDS: v3 SQLite (minimal DB: table `FILE`; full DB: view `FILE`, same columns
less `crc32`) and the RDS 2.x text file `NSRLFile.txt` (quoted CSV with a header).
Digests are UPPERCASE in both; 2.x file names come in any encoding (Latin-1 fallback).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.request import pathname2url

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    cell,
    check_not_empty,
    columns,
    csv_rows,
    head_lines,
    header_key,
    make_extra,
    no_entries,
    opt_hex,
    opt_int,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
_V3_COLUMNS = ("sha256", "sha1", "md5", "crc32", "file_name", "file_size", "package_id")
_V2_ALIASES = {
    "sha_1": "sha1",
    "md5": "md5",
    "crc32": "crc32",
    "filename": "name",
    "filesize": "size",
    "productcode": "product_code",
    "opsystemcode": "os_code",
    "specialcode": "special_code",
}


def _connect(path: Path) -> sqlite3.Connection:
    """Read-only: the RDS is a reference file (and may sit on read-only media)."""
    try:
        return sqlite3.connect(f"file:{pathname2url(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise HashSetFormatError(f"cannot open SQLite database: {exc}") from exc


def _file_columns(conn: sqlite3.Connection) -> list[str]:
    """Columns of the `FILE` table or view (any case), or [] if there is none."""
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND lower(name) = 'file'"
    ).fetchone()
    if row is None:
        return []
    info = conn.execute(f'PRAGMA table_info("{row[0]}")').fetchall()
    return [str(r[1]).lower() for r in info]


def _read_v3(path: Path) -> Iterator[HashEntry]:
    conn = _connect(path)
    record = 0
    try:
        present = _file_columns(conn)
        if not present:
            raise HashSetFormatError("no FILE table or view: not an NSRL RDS v3 database")
        if not {"sha256", "sha1", "md5"} & set(present):
            raise HashSetFormatError("FILE has no sha256, sha1 or md5 column")
        wanted = [c if c in present else "NULL" for c in _V3_COLUMNS]
        cursor = conn.execute(f"SELECT {', '.join(wanted)} FROM FILE")
        for sha256, sha1, md5, crc32, name, size, package in cursor:
            record += 1
            entry = HashEntry(
                md5=opt_hex(md5, "md5", record=record),
                sha1=opt_hex(sha1, "sha1", record=record),
                sha256=opt_hex(sha256, "sha256", record=record),
                name=str(name) if name not in (None, "") else None,
                size=opt_int(size, "file_size", record=record),
                extra=make_extra(
                    {
                        "crc32": str(crc32).lower() if crc32 not in (None, "") else None,
                        "package_id": str(package) if package is not None else None,
                    }
                ),
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


def _is_v2_header(fields: list[str]) -> bool:
    keys = [header_key(f) for f in fields]
    return len(keys) >= 2 and keys[0] == "sha_1" and keys[1] == "md5"


def _read_v2(path: Path) -> Iterator[HashEntry]:
    cols: dict[str, int] | None = None
    count = 0
    for line, row in csv_rows(path, legacy=True):
        if not any(f.strip() for f in row):
            continue
        if cols is None:
            if not _is_v2_header(row):
                raise HashSetFormatError(
                    'not an NSRLFile.txt header (want "SHA-1","MD5","CRC32",…)', line=line
                )
            cols = columns(row, _V2_ALIASES)
            continue
        crc = cell(row, cols, "crc32")
        entry = HashEntry(
            sha1=opt_hex(cell(row, cols, "sha1"), "sha1", line=line),
            md5=opt_hex(cell(row, cols, "md5"), "md5", line=line),
            name=cell(row, cols, "name"),
            size=opt_int(cell(row, cols, "size"), "FileSize", line=line),
            extra=make_extra(
                {
                    "crc32": crc.lower() if crc else None,
                    "product_code": cell(row, cols, "product_code"),
                    "os_code": cell(row, cols, "os_code"),
                    "special_code": cell(row, cols, "special_code"),
                }
            ),
        )
        if not entry.has_hash:
            raise HashSetFormatError("row has no SHA-1 or MD5", line=line)
        count += 1
        yield entry
    if not count:
        raise no_entries()


class NsrlFormat:
    name = "nsrl"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(SQLITE_MAGIC):
            try:
                conn = _connect(path)
                try:
                    return bool(_file_columns(conn))
                finally:
                    conn.close()
            except (HashSetFormatError, sqlite3.Error):
                return False
        lines = head_lines(head, limit=1)
        return bool(lines) and _is_v2_header(lines[0].split(","))

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        with open(path, "rb") as fh:
            magic = fh.read(len(SQLITE_MAGIC))
        yield from (_read_v3(path) if magic == SQLITE_MAGIC else _read_v2(path))
