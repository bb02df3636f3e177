"""HashKeeper `.hsh` (NDIC, discontinued 2012): CSV with a quoted header
`"file_id","hashset_id","file_name","directory","hash","file_size",…`; `hash` is an MD5.
Legacy Windows-era files: names that are not UTF-8 are read as Latin-1, line by line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
    norm_hex,
    opt_int,
)

_HEADER_START = ("file_id", "hashset_id", "file_name", "directory", "hash")
_ALIASES = {
    "hash": "md5",
    "file_name": "name",
    "directory": "directory",
    "file_size": "size",
    "hashset_id": "hashset_id",
    "comments": "comments",
}


class HashKeeperFormat:
    name = "hashkeeper"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = head_lines(head, limit=1)
        if not lines:
            return False
        fields = [header_key(f) for f in lines[0].split(",")]
        return tuple(fields[:5]) == _HEADER_START

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        rows = csv_rows(path, legacy=True)
        cols: dict[str, int] | None = None
        count = 0
        for line, row in rows:
            if not any(f.strip() for f in row):
                continue
            if cols is None:
                if tuple(header_key(f) for f in row[:5]) != _HEADER_START:
                    raise HashSetFormatError(
                        'not a HashKeeper header (want "file_id","hashset_id","file_name",…)',
                        line=line,
                    )
                cols = columns(row, _ALIASES)
                continue
            md5 = cell(row, cols, "md5")
            if md5 is None:
                raise HashSetFormatError("no hash", line=line)
            count += 1
            yield HashEntry(
                md5=norm_hex(md5, "md5", line=line),
                name=cell(row, cols, "name"),
                size=opt_int(cell(row, cols, "size"), "file_size", line=line),
                extra=make_extra(
                    {
                        "directory": cell(row, cols, "directory"),
                        "hashset_id": cell(row, cols, "hashset_id"),
                        "comments": cell(row, cols, "comments"),
                    }
                ),
            )
        if cols is None:
            raise HashSetFormatError("no header line")
        if not count:
            raise no_entries()
