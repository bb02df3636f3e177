"""NSRL RDS 1.x/2.x text: `NSRLFile.txt`, a quoted CSV whose header names the columns.

NIST used two column orders, so columns are found by name, never by position:

* RDS 2.x: `"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode",
  "SpecialCode"`
* RDS 1.x, and what NIST's `rds2hk.pl -f 1.5` writes: `"SHA-1","FileName","FileSize",
  "ProductCode","OpSystemCode","MD4","MD5","CRC32","SpecialCode"` (the MD4 is dropped:
  nothing matches on it, and rds2hk fills it with zeros).

The text comes from a file or from a zip member (`NSRLFile.txt.zip`), read as a stream either
way. File names are in whatever encoding the install media used: Latin-1 per line when a line
is not UTF-8, as IPED does.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    cell,
    columns,
    header_key,
    iter_stream_lines,
    make_extra,
    no_entries,
    opt_hex,
    opt_int,
)

_ALIASES = {
    "sha_1": "sha1",
    "md5": "md5",
    "crc32": "crc32",
    "filename": "name",
    "filesize": "size",
    "productcode": "product_code",
    "opsystemcode": "os_code",
    "specialcode": "special_code",
}
_KNOWN = _ALIASES.keys() | {"md4"}
_REQUIRED = frozenset({"sha_1", "md5", "productcode"})


def is_header(fields: list[str]) -> bool:
    """True for an NSRLFile.txt header of any RDS version: only NSRL column names, among
    them SHA-1, MD5 and ProductCode (a generic CSV with hash columns is not NSRL)."""
    keys = {header_key(f) for f in fields}
    return _REQUIRED <= keys <= _KNOWN


def parse_header_line(text: str) -> list[str]:
    """The fields of one header line (quoted or not)."""
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return []


def read_text(fh: IO[bytes]) -> Iterator[HashEntry]:
    """Entries of an NSRLFile.txt stream, one per line (RDS 2.x repeats a hash per product)."""
    lines = iter_stream_lines(fh, legacy=True)
    reader = csv.reader((text + "\n" for _, text in lines), strict=True)
    cols: dict[str, int] | None = None
    count = 0
    try:
        for row in reader:
            line = reader.line_num
            if not any(f.strip() for f in row):
                continue
            if cols is None:
                if not is_header(row):
                    raise HashSetFormatError(
                        'not an NSRLFile.txt header (want "SHA-1","MD5",…,"ProductCode",…)',
                        line=line,
                    )
                cols = columns(row, _ALIASES)
                continue
            count += 1
            yield _entry(row, cols, line)
    except csv.Error as exc:
        raise HashSetFormatError(f"bad CSV: {exc}", line=reader.line_num) from None
    if not count:
        raise no_entries()


def _entry(row: list[str], cols: dict[str, int], line: int) -> HashEntry:
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
    return entry
