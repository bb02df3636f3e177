"""The HashEntry value every reader yields, the HashSetFormat contract, and the small
validation rules (hex, integers, flags, text lines) that all readers share.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from vigil.errors import HashSetFormatError

HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
HEAD_SIZE = 64 * 1024
MAX_LINE = 1024 * 1024  # a longer "line" means a binary or newline-free file: fail, never buffer it
UTF8_BOM = b"\xef\xbb\xbf"

_HEX = re.compile(r"[0-9a-f]+")
_TRUE = frozenset({"y", "yes", "t", "true", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "0"})


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One known item from a hash list. Hashes are lowercase hex, None when absent.

    `category` None means uncategorised, which is not the same as 0 (VICS "non-pertinent").
    It is the code as the list writes it, in the list's own scheme (`HashSetFormat.
    category_scheme`); what it means for a case is decided at import (`categories.CategoryMap`).
    `count` is how many rows of the list this entry stands for (a reader that folds repeated
    hashes, as NSRL RDS v3 repeats one hash per package, says how many it folded).
    `extra` holds a few format-specific facts worth keeping (series, victim flags, NSRL
    package id …) as sorted (key, text) pairs with snake_case keys shared across formats.
    """

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    category: int | None = None
    name: str | None = None
    size: int | None = None
    extra: tuple[tuple[str, str], ...] = ()
    count: int = 1

    @property
    def has_hash(self) -> bool:
        return bool(self.md5 or self.sha1 or self.sha256 or self.pdq)

    def extras(self) -> dict[str, str]:
        return dict(self.extra)


class HashSetFormat(Protocol):
    """A hash-list exchange format. `name` is persisted with every imported set."""

    name: str
    version: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """Cheap content test on the first ~64 KiB (and the path, for SQLite files)."""
        ...

    def read(self, path: Path) -> Iterator[HashEntry]:
        """Stream entries; raise HashSetFormatError(line=/record=) on the first bad one."""
        ...

    def category_scheme(self, path: Path) -> str | None:
        """The category scheme the file says its codes are written in (a `categories.SCHEMES`
        name such as "projectvic" or "uk", or "vics-region:<REGION>" for a region Vigil has no
        scheme for), or None when the format does not say."""
        ...


def norm_hex(value: str, algo: str, *, line: int | None = None, record: int | None = None) -> str:
    """Lowercase `value` and check it is a hex digest of `algo`'s length."""
    text = value.strip().lower()
    want = HEX_LENGTHS[algo]
    if len(text) != want or not _HEX.fullmatch(text):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise HashSetFormatError(
            f"bad {algo.upper()} {shown!r}: need {want} hex digits", line=line, record=record
        )
    return text


def opt_hex(
    value: object, algo: str, *, line: int | None = None, record: int | None = None
) -> str | None:
    """Like norm_hex, but None or an empty string mean "absent"."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise HashSetFormatError(f"{algo.upper()} is not a string", line=line, record=record)
    if not value.strip():
        return None
    return norm_hex(value, algo, line=line, record=record)


def opt_int(
    value: object,
    what: str,
    *,
    low: int = 0,
    high: int | None = None,
    line: int | None = None,
    record: int | None = None,
) -> int | None:
    """A bounded integer from an int, an integral number or a decimal string; None/"" → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise HashSetFormatError(f"{what} is a boolean, not a number", line=line, record=record)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                as_float = float("nan")
            if not as_float.is_integer():
                raise HashSetFormatError(
                    f"{what} {text[:40]!r} is not a whole number", line=line, record=record
                ) from None
            number = int(as_float)
    if number < low or (high is not None and number > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise HashSetFormatError(f"{what} {number} out of range {bounds}", line=line, record=record)
    return number


def norm_flag(value: object) -> str | None:
    """Yes/no flags as "true"/"false"; string forms vary ("True", "Y", "|true|"). Unknown text
    is kept (stripped, lowercased) rather than guessed; empty means absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).replace("|", "").strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    return text


def make_extra(pairs: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in pairs.items() if v is not None and v != ""))


def read_head(path: Path, size: int = HEAD_SIZE) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(UTF8_BOM) else data


def head_lines(head: bytes, limit: int = 20) -> list[str]:
    """Up to `limit` complete, non-blank lines of a text head (BOM and CR removed), for sniffing.
    Undecodable bytes become U+FFFD: sniffing only looks at structure."""
    data = strip_bom(head)
    if len(head) >= HEAD_SIZE and b"\n" in data:
        data = data[: data.rindex(b"\n")]  # drop the partial last line
    if b"\0" in data:
        return []
    out = []
    for raw in data.split(b"\n"):
        text = raw.rstrip(b"\r").decode("utf-8", "replace")
        if text.strip():
            out.append(text)
            if len(out) >= limit:
                break
    return out


def iter_lines(path: Path, *, legacy: bool = False) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without line end) for every line of a text file
    (`iter_stream_lines`)."""
    with open(path, "rb") as fh:
        yield from iter_stream_lines(fh, legacy=legacy)


def iter_stream_lines(
    fh: IO[bytes], *, legacy: bool = False, max_line: int = MAX_LINE
) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without line end) for every line of a binary stream (a
    file, or a zip member).

    A UTF-8 BOM is dropped and CRLF accepted. Lines must be UTF-8; `legacy` formats fall
    back to Latin-1 per line (old Windows-era lists carry names in 8-bit code pages).
    NUL bytes or lines past `max_line` bytes mean "not a text list" and raise.
    """
    number = 0
    while raw := fh.readline(max_line + 1):
        number += 1
        if len(raw) > max_line:
            raise HashSetFormatError("line too long (not a text hash list?)", line=number)
        if number == 1:
            raw = strip_bom(raw)
        if b"\0" in raw:
            raise HashSetFormatError("NUL byte (binary file?)", line=number)
        raw = raw.rstrip(b"\n").rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if not legacy:
                raise HashSetFormatError(
                    f"not valid UTF-8 at byte {exc.start}", line=number
                ) from None
            text = raw.decode("latin-1")
        yield number, text


def check_not_empty(path: Path) -> None:
    """Fail early, and in our own terms, on a missing, unreadable or empty file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HashSetFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise HashSetFormatError("empty file")


def csv_rows(
    path: Path, *, delimiter: str = ",", legacy: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) per CSV record; the number is the record's last physical line."""
    reader = csv.reader(
        (text + "\n" for _, text in iter_lines(path, legacy=legacy)),
        delimiter=delimiter,
        strict=True,
    )
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise HashSetFormatError(f"bad CSV: {exc}", line=reader.line_num) from None


def header_key(name: str) -> str:
    """Normalise a column name for alias lookup: "Hash MD5" / "hash-md5" → "hash_md5"."""
    return re.sub(r"[\s\-./]+", "_", name.strip().strip('"').lower()).strip("_")


def columns(header: list[str], aliases: dict[str, str]) -> dict[str, int]:
    """field → column index, first occurrence wins; unknown columns are ignored."""
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        field = aliases.get(header_key(name))
        if field is not None and field not in found:
            found[field] = index
    return found


def cell(row: list[str], cols: dict[str, int], field: str) -> str | None:
    index = cols.get(field)
    if index is None or index >= len(row):
        return None
    value = row[index].strip()
    return value or None


def no_entries() -> HashSetFormatError:
    return HashSetFormatError("no hash entries in file")


def read_line_entries(
    path: Path, parse_line: Callable[[str, int], HashEntry | None]
) -> Iterator[HashEntry]:
    """Entries of a one-hash-per-line list; `parse_line` returns None for lines to skip."""
    check_not_empty(path)
    count = 0
    for number, text in iter_lines(path):
        entry = parse_line(text, number)
        if entry is not None:
            count += 1
            yield entry
    if not count:
        raise no_entries()
