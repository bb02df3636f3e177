"""Generic CSV: a header row names the columns (case-insensitive aliases such as `MD5`,
`hash_md5`, `sha-1`, `pdq`, `quality`, `category`, `filename`, `size`); unknown columns are
ignored and at least one hash column is required. The delimiter (`,` `;` tab `|`) is taken from
the header line.

Also read: Windows PowerShell's `Export-Csv` of `Get-FileHash` (`#TYPE
Microsoft.Powershell.Utility.FileHash` first unless `-NoTypeInformation`, then
`"Algorithm","Hash","Path"`): a `hash` column counts only beside an `algorithm` column, which
names each row's digest (MD5, SHA1, SHA256); `path` stands in for a missing name column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.categories import PROJECT_VIC, code_of_label
from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    cell,
    check_not_empty,
    columns,
    csv_rows,
    head_lines,
    header_key,
    iter_lines,
    no_entries,
    norm_hex,
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
    "path": ("path", "full_path", "filepath", "file_path"),
    "hash": ("hash", "hash_value", "hashvalue", "digest"),
    "algorithm": ("algorithm", "hash_algorithm", "hash_type", "hashtype"),
    "size": ("size", "file_size", "filesize", "bytes", "media_size"),
}
_ALIASES = {alias: field for field, aliases in _FIELD_ALIASES.items() for alias in aliases}
_DELIMITERS = (",", ";", "\t", "|")
_ALGORITHMS = {
    "md5": "md5",
    "sha1": "sha1",
    "sha_1": "sha1",
    "sha256": "sha256",
    "sha_256": "sha256",
}
_SCHEME_ROWS = 1000  # rows `category_scheme` looks at
_PS_TYPE_LINE = "#TYPE "  # Windows PowerShell Export-Csv type information


def _has_hash_column(cols: dict[str, int]) -> bool:
    return any(f in cols for f in _HASHES) or ("hash" in cols and "algorithm" in cols)


def _typed_hash(row: list[str], cols: dict[str, int], line: int) -> dict[str, str]:
    """`Hash` + `Algorithm` columns (Get-FileHash) → {algo: hex}; {} when absent."""
    value = cell(row, cols, "hash")
    if value is None or "algorithm" not in cols:
        return {}
    written = cell(row, cols, "algorithm") or ""
    algo = _ALGORITHMS.get(header_key(written))
    if algo is None:
        raise HashSetFormatError(
            f"unsupported algorithm {written!r} (want MD5, SHA1, SHA256)", line=line
        )
    return {algo: norm_hex(value, algo, line=line)}


def _category(value: str | None, line: int) -> int | None:
    """A code, or a Project VIC label (which `category_scheme` then reports)."""
    if value is None or value.strip().lstrip("-").isdigit():
        return opt_int(value, "category", line=line)
    code = code_of_label(PROJECT_VIC, value)
    if code is None:
        raise HashSetFormatError(
            f"category {value[:60]!r} is neither a code nor a Project VIC label", line=line
        )
    return code


def _delimiter(header: str) -> str:
    return max(_DELIMITERS, key=header.count)


def _hash_columns(header: list[str]) -> dict[str, int]:
    return columns(header, _ALIASES)


class CsvFormat:
    name = "csv"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        """Codes are read as the case's own, but label text (Griffeye writes
        `Child Exploitive (non-CAM) / Age Difficult`) is Project VIC's: say so when the first
        rows carry labels, so a case on another scheme does not take them as its codes."""
        for index, (_, category) in enumerate(self._categories(path)):
            if category is not None and not category.strip().lstrip("-").isdigit():
                return PROJECT_VIC.name
            if index >= _SCHEME_ROWS:
                break
        return None

    def _categories(self, path: Path) -> Iterator[tuple[int, str | None]]:
        cols: dict[str, int] | None = None
        for line, row in csv_rows(path, delimiter=self._delimiter_of(path)):
            if not any(f.strip() for f in row) or (
                cols is None and row[0].startswith(_PS_TYPE_LINE)
            ):
                continue
            if cols is None:
                cols = _hash_columns(row)
                if "category" not in cols:
                    return
                continue
            yield line, cell(row, cols, "category")

    @staticmethod
    def _delimiter_of(path: Path) -> str:
        for _, text in iter_lines(path):
            if text.strip() and not text.startswith(_PS_TYPE_LINE):
                return _delimiter(text)
        return ","

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = [t for t in head_lines(head, limit=2) if not t.startswith(_PS_TYPE_LINE)]
        if not lines:
            return False
        header = lines[0].split(_delimiter(lines[0]))
        return _has_hash_column(_hash_columns(header))

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        delimiter = self._delimiter_of(path)
        cols: dict[str, int] | None = None
        count = 0
        for line, row in csv_rows(path, delimiter=delimiter):
            if not any(f.strip() for f in row):
                continue
            if cols is None:
                if row[0].startswith(_PS_TYPE_LINE):
                    continue
                cols = _hash_columns(row)
                if not _has_hash_column(cols):
                    raise HashSetFormatError(
                        "header names no hash column (md5, sha1, sha256 or pdq)", line=line
                    )
                continue
            typed = _typed_hash(row, cols, line)
            entry = HashEntry(
                md5=typed.get("md5") or opt_hex(cell(row, cols, "md5"), "md5", line=line),
                sha1=typed.get("sha1") or opt_hex(cell(row, cols, "sha1"), "sha1", line=line),
                sha256=typed.get("sha256")
                or opt_hex(cell(row, cols, "sha256"), "sha256", line=line),
                pdq=opt_hex(cell(row, cols, "pdq"), "pdq", line=line),
                pdq_quality=opt_int(cell(row, cols, "quality"), "quality", high=100, line=line),
                category=_category(cell(row, cols, "category"), line),
                name=cell(row, cols, "name") or cell(row, cols, "path"),
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
