"""hashdeep lists (file format HASHDEEP-1.0), read as hashdeep 4.x writes them (`state::
make_banner` and `display::display_hash_simple`) and reads them back (`hashlist::
load_hash_file`):

    %%%% HASHDEEP-1.0
    %%%% size,md5,sha256,filename
    ## Invoked from: /cases/7
    ## $ hashdeep -r evidence
    ##
    15,161619f1…,3ee35a23…,/cases/7/evidence/a.jpg

Line 1 is the header and line 2 names the columns: the size, the algorithms chosen with `-c`
(md5, sha1, sha256, tiger, whirlpool, in that order), then the name. `#` lines are comments.
Nothing is quoted or escaped, so a name is everything after the last hash, commas included.
Lines end in LF, or CRLF from the Windows build. Names are the OS's bytes on POSIX (Latin-1
is accepted where they are not UTF-8). A header block met again (lists appended with `>>`)
states the columns afresh. md5deep writes no header: its lists are md5sum lines (`md5sum`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    check_not_empty,
    head_lines,
    iter_lines,
    no_entries,
    norm_hex,
)

HEADER = "%%%% HASHDEEP-1.0"
COLUMNS = "%%%% size,"
# hashdeep's algorithms and their hex digits; tiger and whirlpool are checked, not kept.
ALGORITHMS = {"md5": 32, "sha1": 40, "sha256": 64, "tiger": 48, "whirlpool": 128}
KEPT = ("md5", "sha1", "sha256")
_SIZE = re.compile(r"\d{1,20}")
_HEX = re.compile(r"[0-9A-Fa-f]+")


def parse_columns(text: str, line: int) -> tuple[str, ...]:
    """`%%%% size,md5,sha256,filename` → ("md5", "sha256"). Names are compared as hashdeep
    does: case-insensitive, dashes dropped (`SHA-256`)."""
    names = [n.strip().lower().replace("-", "") for n in text[len(COLUMNS) :].split(",")]
    if len(names) < 2 or names[-1] != "filename":
        raise HashSetFormatError(
            "hashdeep column line must be '%%%% size,<algorithms>,filename'", line=line
        )
    algorithms = tuple(names[:-1])
    unknown = [n for n in algorithms if n not in ALGORITHMS]
    if unknown:
        raise HashSetFormatError(f"unknown hashdeep algorithm {unknown[0][:40]!r}", line=line)
    if len(set(algorithms)) != len(algorithms):
        raise HashSetFormatError("an algorithm named twice in the column line", line=line)
    if not set(algorithms) & set(KEPT):
        raise HashSetFormatError("hashdeep list has no MD5, SHA-1 or SHA-256 column", line=line)
    return algorithms


def parse_row(text: str, line: int, algorithms: tuple[str, ...]) -> HashEntry:
    """`size,<hash>…,name`: the name keeps any further commas, as hashdeep writes it."""
    parts = text.split(",", len(algorithms) + 1)
    if len(parts) != len(algorithms) + 2:
        raise HashSetFormatError(
            f"want size, {len(algorithms)} hash(es) and a name, comma-separated", line=line
        )
    size, *digests, name = parts
    if not _SIZE.fullmatch(size):
        raise HashSetFormatError(f"size {size[:40]!r} is not a whole number", line=line)
    kept: dict[str, str] = {}
    for algorithm, digest in zip(algorithms, digests, strict=True):
        if algorithm in KEPT:
            kept[algorithm] = norm_hex(digest, algorithm, line=line)
        elif len(digest) != ALGORITHMS[algorithm] or not _HEX.fullmatch(digest):
            raise HashSetFormatError(
                f"bad {algorithm} {digest[:40]!r}: need {ALGORITHMS[algorithm]} hex digits",
                line=line,
            )
    return HashEntry(
        md5=kept.get("md5"),
        sha1=kept.get("sha1"),
        sha256=kept.get("sha256"),
        size=int(size),
        name=name or None,
    )


def read_hashdeep(path: Path) -> Iterator[HashEntry]:
    check_not_empty(path)
    algorithms: tuple[str, ...] = ()  # set by the column line before any row is read
    expect: str | None = "header"  # the next line must be the header, the columns, or a row
    count = 0
    for number, text in iter_lines(path, legacy=True):
        if not text.strip():
            continue
        if expect == "header":
            if text.strip() != HEADER:
                raise HashSetFormatError(f"not a hashdeep list: want {HEADER!r}", line=number)
            expect = "columns"
        elif expect == "columns":
            if text[: len(COLUMNS)].lower() != COLUMNS:
                raise HashSetFormatError(f"want the {COLUMNS}… column line", line=number)
            algorithms = parse_columns(text, number)
            expect = None
        elif text.startswith("#"):
            continue
        elif text.strip() == HEADER:
            expect = "columns"
        else:
            count += 1
            yield parse_row(text, number, algorithms)
    if expect is not None:
        raise HashSetFormatError(f"hashdeep list ends before its {COLUMNS}… column line")
    if not count:
        raise no_entries()


class HashdeepFormat:
    name = "hashdeep"
    version = "1.0"  # the file format hashdeep 3 and 4 write ("HASHDEEP-1.0")

    def category_scheme(self, path: Path) -> str | None:
        return None  # hashdeep lists carry no categories

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = head_lines(head, limit=2)
        return (
            len(lines) == 2
            and lines[0].strip() == HEADER
            and lines[1][: len(COLUMNS)].lower() == COLUMNS
        )

    def read(self, path: Path) -> Iterator[HashEntry]:
        return read_hashdeep(path)
