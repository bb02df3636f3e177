"""Generic CSV: a header row names the columns (case-insensitive aliases such as `MD5`,
`hash_md5`, `sha-1`, `pdq`, `quality`, `category`, `filename`, `size`); unknown columns are
ignored and at least one hash column is required. The delimiter (`,` `;` tab `|`) is taken from
the header line.
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
    iter_lines,
    no_entries,
    opt_hex,
    opt_int,
)

_HASHES = ("md5", "sha1", "sha256", "pdq")
_FIELD_ALIASES = {
    "md5": ("md5", "hash_md5", "md5_hash", "md5hash", "md5sum"),
    "sha1": ("sha1", "sha_1", "hash_sha1", "sha1_hash", "sha1hash", "sha1sum"),
    "sha256": (
        "sha256",
        "sha_256",
        "sha2_256",
        "hash_sha256",
        "sha256_hash",
        "sha256hash",
        "sha256sum",
    ),
    "pdq": ("pdq", "pdq_hash", "pdqhash", "hash_pdq"),
    "quality": ("quality", "pdq_quality"),
    "category": ("category", "cat", "vics_category"),
    "name": ("name", "filename", "file_name", "file"),
    "size": ("size", "file_size", "filesize", "bytes", "media_size"),
}
_ALIASES = {alias: field for field, aliases in _FIELD_ALIASES.items() for alias in aliases}
_DELIMITERS = (",", ";", "\t", "|")


def _delimiter(header: str) -> str:
    return max(_DELIMITERS, key=header.count)


def _hash_columns(header: list[str]) -> dict[str, int]:
    return columns(header, _ALIASES)


class CsvFormat:
    name = "csv"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = head_lines(head, limit=1)
        if not lines:
            return False
        header = lines[0].split(_delimiter(lines[0]))
        return any(f in _hash_columns(header) for f in _HASHES)

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        delimiter = ","
        for _, text in iter_lines(path):
            if text.strip():
                delimiter = _delimiter(text)
                break
        cols: dict[str, int] | None = None
        count = 0
        for line, row in csv_rows(path, delimiter=delimiter):
            if not any(f.strip() for f in row):
                continue
            if cols is None:
                cols = _hash_columns(row)
                if not any(f in cols for f in _HASHES):
                    raise HashSetFormatError(
                        "header names no hash column (md5, sha1, sha256 or pdq)", line=line
                    )
                continue
            entry = HashEntry(
                md5=opt_hex(cell(row, cols, "md5"), "md5", line=line),
                sha1=opt_hex(cell(row, cols, "sha1"), "sha1", line=line),
                sha256=opt_hex(cell(row, cols, "sha256"), "sha256", line=line),
                pdq=opt_hex(cell(row, cols, "pdq"), "pdq", line=line),
                pdq_quality=opt_int(cell(row, cols, "quality"), "quality", high=100, line=line),
                category=opt_int(cell(row, cols, "category"), "category", line=line),
                name=cell(row, cols, "name"),
                size=opt_int(cell(row, cols, "size"), "size", line=line),
            )
            if not entry.has_hash:
                raise HashSetFormatError("row has no hash", line=line)
            count += 1
            yield entry
        if cols is None:
            raise HashSetFormatError("no header line")
        if not count:
            raise no_entries()
