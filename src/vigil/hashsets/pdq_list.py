"""PDQ hash lists: one 64-hex PDQ per line, optionally followed by a quality (`,q` or
whitespace) and a name, as `pdq-photo-hasher` writes (`hex,quality,filename` or its `-d`
form `hash=…,quality=…,filename=…`), optionally with python-threatexchange's `pdq ` prefix.

A first line may name the columns instead (`pdq,quality`, `hash,quality,filename`, or what
`threatexchange dataset -P --csv` writes: `signal_type,signal_str,collab,category,tags`, and
`collab,signal_type,…` before it); the rows are then read by those names (`PdqHeader`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    head_lines,
    header_key,
    make_extra,
    norm_hex,
    opt_int,
    read_line_entries,
)

# python-threatexchange LocalFileSignalExchangeAPI: "<signal_type> <signal>"
_OTHER_SIGNALS = frozenset(
    {"vpdq", "video_md5", "video_sha256", "url", "url_md5", "raw_text", "trend_query"}
)
_BARE = re.compile(r"[0-9A-Fa-f]{64}")
_GNU_LIKE = re.compile(r"[0-9A-Fa-f]{64}( |  | \*)\D")  # sha256sum output, not PDQ
_PDQ_HINT = re.compile(r"pdq", re.IGNORECASE)


def _details(body: str, line: int) -> HashEntry:
    """`hash=<hex>,norm=…,delta=…,quality=…,filename=<name>`; the name may hold commas."""
    head, sep, name = body.partition(",filename=")
    fields = {}
    for part in head.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise HashSetFormatError(f"expected key=value, got {part[:40]!r}", line=line)
        fields[key.strip().lower()] = value.strip()
    if "hash" not in fields:
        raise HashSetFormatError("no hash= field", line=line)
    return HashEntry(
        pdq=norm_hex(fields["hash"], "pdq", line=line),
        pdq_quality=opt_int(fields.get("quality"), "quality", high=100, line=line),
        name=(name if sep else None) or None,
    )


def parse_line(text: str, line: int) -> HashEntry | None:
    """One line → entry; None for blank and `#` comment lines."""
    body = text.strip()
    if not body or body.startswith("#"):
        return None
    word, _, rest = body.partition(" ")
    if word.lower() == "pdq" and rest.strip():
        body = rest.strip()
    elif word.lower() in _OTHER_SIGNALS:
        raise HashSetFormatError(f"signal type {word!r} is not PDQ", line=line)
    if body.lower().startswith("hash="):
        return _details(body, line)
    parts = [p.strip() for p in body.split(",", 2)] if "," in body else body.split(None, 2)
    pdq = norm_hex(parts[0], "pdq", line=line)
    quality = opt_int(parts[1], "quality", high=100, line=line) if len(parts) > 1 else None
    name = parts[2] if len(parts) > 2 else None
    return HashEntry(pdq=pdq, pdq_quality=quality, name=name or None)


_FIELDS = {
    **dict.fromkeys(
        ("pdq", "hash", "pdq_hash", "pdqhash", "hash_pdq", "signal", "signal_str"), "pdq"
    ),
    **dict.fromkeys(("quality", "pdq_quality"), "quality"),
    **dict.fromkeys(("name", "filename", "file_name", "file", "path"), "name"),
    "signal_type": "signal_type",
    "collab": "collab",
    "category": "category",
    "tags": "tags",
}
_CSV_ONLY = frozenset({"md5", "sha1", "sha_1", "sha256", "sha_256", "size", "file_size"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_ .\-]*")


@dataclass(frozen=True)
class PdqHeader:
    """Column positions taken from the header line, and the delimiter it used."""

    delimiter: str
    cols: dict[str, int]
    width: int

    def _cell(self, row: list[str], field: str) -> str | None:
        index = self.cols.get(field)
        if index is None or index >= len(row):
            return None
        return row[index].strip() or None

    def parse(self, text: str, line: int) -> HashEntry | None:
        """One row → entry; None for blank and `#` comment lines."""
        if not text.strip() or text.lstrip().startswith("#"):
            return None
        try:
            row = next(csv.reader([text], delimiter=self.delimiter, strict=True))
        except csv.Error as exc:
            raise HashSetFormatError(f"bad CSV: {exc}", line=line) from None
        if self.cols.get("name") == self.width - 1 and len(row) > self.width:
            # pdq-photo-hasher does not quote: a name with the delimiter in it spills over
            row = [*row[: self.width - 1], self.delimiter.join(row[self.width - 1 :])]
        kind = self._cell(row, "signal_type")
        if kind is not None and kind.lower() != "pdq":
            raise HashSetFormatError(f"signal type {kind!r} is not PDQ", line=line)
        return HashEntry(
            pdq=norm_hex(self._cell(row, "pdq") or "", "pdq", line=line),
            pdq_quality=opt_int(self._cell(row, "quality"), "quality", high=100, line=line),
            name=self._cell(row, "name"),
            extra=make_extra(
                {
                    "collab": self._cell(row, "collab"),
                    "te_category": self._cell(row, "category"),
                    "tags": self._cell(row, "tags"),
                }
            ),
        )


def parse_header(text: str, line: int) -> PdqHeader | None:
    """The header a first line spells, or None when it is a data line. A line of column
    names that a PDQ list cannot honour raises."""
    delimiter = "\t" if "\t" in text and "," not in text else ","
    try:
        names = next(csv.reader([text], delimiter=delimiter))
    except csv.Error:
        return None
    if not names or not all(_WORD.fullmatch(n.strip()) for n in names):
        return None
    keys = [header_key(n) for n in names]
    if "pdq" not in {_FIELDS.get(k) for k in keys}:
        return None
    if _CSV_ONLY & set(keys) or ("category" in keys and "signal_type" not in keys):
        raise HashSetFormatError(
            "the header names MD5/SHA, size or category columns: read it with --format csv",
            line=line,
        )
    cols: dict[str, int] = {}
    for index, key in enumerate(keys):
        field = _FIELDS.get(key)
        if field is not None:
            if field in cols:
                raise HashSetFormatError(f"header names {field} twice", line=line)
            cols[field] = index
    return PdqHeader(delimiter, cols, len(names))


def _line_parser() -> Callable[[str, int], HashEntry | None]:
    """`parse_line`, or, once the first content line has named the columns, its header."""
    header: PdqHeader | None = None
    first = True

    def parse(text: str, line: int) -> HashEntry | None:
        nonlocal header, first
        if header is not None:
            return header.parse(text, line)
        if first and text.strip() and not text.lstrip().startswith("#"):
            first = False
            header = parse_header(text, line)
            if header is not None:
                return None
        return parse_line(text, line)

    return parse


class PdqListFormat:
    name = "pdq"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = [t for t in head_lines(head) if not t.lstrip().startswith("#")]
        if not lines:
            return False
        all_bare = True
        parse = _line_parser()
        for number, text in enumerate(lines, 1):
            if _GNU_LIKE.match(text):
                return False
            try:
                entry = parse(text, number)
            except HashSetFormatError:
                return False
            all_bare = all_bare and entry is not None and bool(_BARE.fullmatch(text.strip()))
        # Bare 64-hex lines could as well be SHA-256: only a header or a name hint settles it.
        return not all_bare or bool(_PDQ_HINT.search(path.name))

    def read(self, path: Path) -> Iterator[HashEntry]:
        return read_line_entries(path, _line_parser())


def looks_bare_hex64(head: bytes) -> bool:
    """True when the head is nothing but bare 64-hex lines (SHA-256 or PDQ: ambiguous)."""
    lines = [t for t in head_lines(head) if not t.lstrip().startswith("#")]
    return bool(lines) and all(_BARE.fullmatch(t.strip()) for t in lines)
