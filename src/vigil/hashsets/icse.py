"""Interpol ICSE hash-set export: semicolon CSV with a header (`MD5;SHA1;ZZ40;PhotoDNA;Lace;
Image ID;Is distributed;…;Baseline`). Columns are found by name, since the header's stability
across ICSE versions is unconfirmed; unknown columns are ignored. ZZ40, PhotoDNA and Lace are
opaque and not kept. A row carrying only those hashes is skipped (nothing we can match on).
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
    norm_flag,
    opt_hex,
)

_ALIASES = {
    "md5": "md5",
    "sha1": "sha1",
    "sha_1": "sha1",
    "zz40": "opaque",
    "photodna": "opaque",
    "lace": "opaque",
    "image_id": "image_id",
    "is_distributed": "is_distributed",
    "victim_identified": "victim_identified",
    "offender_identified": "offender_identified",
    "series_name": "series",
    "investigation_name": "investigation",
    "agency": "agency",
    "number_of_submissions": "submissions",
    "file_available": "file_available",
    "media_type": "media_type",
    "baseline": "baseline",
}
_TEXT = ("image_id", "series", "investigation", "agency", "submissions", "media_type")
_FLAGS = (
    "is_distributed",
    "victim_identified",
    "offender_identified",
    "file_available",
    "baseline",
)
# Columns that only ICSE has; one of them plus MD5 or SHA1 identifies the file.
_MARKERS = frozenset({"image_id", "baseline", "series_name", "victim_identified", "zz40", "lace"})


def _is_header(fields: list[str]) -> bool:
    keys = {header_key(f) for f in fields}
    return bool(keys & {"md5", "sha1"}) and bool(keys & _MARKERS)


class IcseFormat:
    name = "icse"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = head_lines(head, limit=1)
        return bool(lines) and ";" in lines[0] and _is_header(lines[0].split(";"))

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        cols: dict[str, int] | None = None
        opaque: list[int] = []
        count = 0
        for line, row in csv_rows(path, delimiter=";"):
            if not any(f.strip() for f in row):
                continue
            if cols is None:
                if not _is_header(row):
                    raise HashSetFormatError(
                        "not an ICSE header (want 'MD5;SHA1;…;Image ID;…')", line=line
                    )
                cols = columns(row, _ALIASES)
                opaque = [i for i, f in enumerate(row) if _ALIASES.get(header_key(f)) == "opaque"]
                continue
            entry = HashEntry(
                md5=opt_hex(cell(row, cols, "md5"), "md5", line=line),
                sha1=opt_hex(cell(row, cols, "sha1"), "sha1", line=line),
                extra=make_extra(
                    {k: cell(row, cols, k) for k in _TEXT}
                    | {k: norm_flag(cell(row, cols, k)) for k in _FLAGS}
                ),
            )
            if not entry.has_hash:
                if any(row[i].strip() for i in opaque if i < len(row)):
                    continue
                raise HashSetFormatError("row has no MD5 or SHA1", line=line)
            count += 1
            yield entry
        if cols is None:
            raise HashSetFormatError("no header line")
        if not count:
            raise no_entries()
