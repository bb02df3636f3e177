"""md5sum, hashdeep and CSV lists of HashEntry values: the plain forms other tools take (GNU
`md5sum -c`, `hashdeep -k`, TSK, spreadsheets and scripts), written as those tools write
them. Hashes and base names only; each writer streams to a text handle and counts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from vigil.categories import CategoryScheme
from vigil.hashsets.entry import HashEntry
from vigil.hashsets.hashdeep import HEADER

HASHDEEP_COLUMNS = "%%%% size,md5,sha256,filename"
CSV_HEADER = (
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "category",
    "category_label",
    "size",
    "name",
)
_GNU_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r"})
# hashdeep reads a record with fgets and knows no escape: LF or CR would end it early.
_HASHDEEP_ESCAPES = str.maketrans({"\n": "\\x0a", "\r": "\\x0d"})


def md5sum_line(entry: HashEntry) -> str:
    """`<md5>  <name>` as GNU md5sum writes it: a name holding `\\`, LF or CR is escaped
    (`\\\\`, `\\n`, `\\r`) and the line then starts with `\\`. Without a name, the bare
    digest, which list readers (Vigil, TSK) take and `md5sum -c` has no file to check for."""
    if entry.name is None:
        return f"{entry.md5}"
    escaped = entry.name.translate(_GNU_ESCAPES)
    prefix = "\\" if escaped != entry.name else ""
    return f"{prefix}{entry.md5}  {escaped}"


def write_md5sum(entries: Iterable[HashEntry], out: TextIO) -> int:
    count = 0
    for entry in entries:
        out.write(md5sum_line(entry) + "\n")
        count += 1
    return count


def hashdeep_line(entry: HashEntry) -> str:
    """`size,md5,sha256,name`, as `hashdeep -b` writes it. hashdeep takes the last field as
    the name and drops an empty one (its reader splits with getline), so a file exported
    without names is named by its MD5."""
    if entry.size is None or not entry.sha256:
        raise ValueError("a hashdeep row needs the size and the SHA-256")
    name = entry.md5 if entry.name is None else entry.name.translate(_HASHDEEP_ESCAPES)
    return f"{entry.size},{entry.md5},{entry.sha256},{name}"


def write_hashdeep(entries: Iterable[HashEntry], out: TextIO, comments: Iterable[str]) -> int:
    """The header and column line hashdeep checks, then `comments` as `##` lines (where
    hashdeep writes its working folder and command line) closed by `## `, then the rows."""
    out.write(f"{HEADER}\n{HASHDEEP_COLUMNS}\n")
    for comment in comments:
        out.write(f"## {comment}\n")
    out.write("## \n")
    count = 0
    for entry in entries:
        out.write(hashdeep_line(entry) + "\n")
        count += 1
    return count


def write_csv(entries: Iterable[HashEntry], out: TextIO, scheme: CategoryScheme) -> int:
    """RFC 4180 CSV (CRLF, quoted where needed) with `CSV_HEADER`, which Vigil's generic CSV
    reader maps back column by column (`category_label` is for people and ignored)."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    count = 0
    for e in entries:
        label = scheme.label(e.category) if e.category is not None else ""
        values = (e.md5, e.sha1, e.sha256, e.pdq, e.pdq_quality, e.category, label, e.size, e.name)
        writer.writerow(["" if v is None else v for v in values])
        count += 1
    return count
