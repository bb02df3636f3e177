"""NIST NSRL RDS in every shape NIST ships it: v3 SQLite (`nsrl_v3`), RDS 1.x/2.x
`NSRLFile.txt` (`nsrl_v2`), and either zipped (`NSRLFile.txt.zip`, `RDS_…_minimal.zip`).

A zipped text file is streamed from the archive. A zipped database has to be copied out
first (SQLite reads only real files): into a temporary folder under TMPDIR, which needs the
database's uncompressed size free and is removed afterwards.
"""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, check_not_empty, head_lines, read_head
from vigil.hashsets.nsrl_v2 import is_header, parse_header_line, read_text
from vigil.hashsets.nsrl_v3 import SQLITE_MAGIC, connect, extracted, file_columns, read_db

ZIP_MAGIC = b"PK\x03\x04"
TEXT_MEMBER = "nsrlfile.txt"
_SCHEMA_HEAD = 1 << 20  # the schema (sqlite_master) sits in a database's first pages
_FILE_DDL = re.compile(rb"create\s+(?:table|view)\s+(?:if\s+not\s+exists\s+)?[\"`\[]?file\b", re.I)
_STREAM_BUFFER = 1 << 20


def _member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The one `NSRLFile.txt` or `.db` in the archive (any folder, any case)."""
    found = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and (
            PurePosixPath(info.filename).name.lower() == TEXT_MEMBER
            or info.filename.lower().endswith(".db")
        )
    ]
    if len(found) != 1:
        names = ", ".join(info.filename for info in found) or "none"
        raise HashSetFormatError(
            f"want one NSRLFile.txt or RDS .db in the zip, found {len(found)} ({names})"
        )
    return found[0]


def _is_text(member: zipfile.ZipInfo) -> bool:
    return PurePosixPath(member.filename).name.lower() == TEXT_MEMBER


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise HashSetFormatError(f"not a readable zip: {exc}") from exc


def _read_zip(path: Path) -> Iterator[HashEntry]:
    with _open_zip(path) as archive:
        member = _member(archive)
        try:
            if _is_text(member):
                with archive.open(member) as raw:
                    yield from read_text(io.BufferedReader(raw, _STREAM_BUFFER))
            else:
                with extracted(archive, member) as db:
                    yield from read_db(db)
        except zipfile.BadZipFile as exc:
            raise HashSetFormatError(f"damaged zip member {member.filename}: {exc}") from exc
        except (NotImplementedError, RuntimeError) as exc:
            # compression Python lacks (Deflate64, method 9, from Windows' zipper) or encryption
            raise HashSetFormatError(
                f"cannot unpack {member.filename} ({exc}): unzip it with another tool first"
            ) from exc


def _sniff_zip(path: Path) -> bool:
    """An NSRL header in the zipped text, or a zipped SQLite file whose schema makes FILE;
    only the member's first bytes are decompressed. No other format reads zips, so one
    holding an NSRLFile.txt or .db that cannot be unpacked is still sent here."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _member(archive)
            with archive.open(member) as fh:
                head = fh.read(_STREAM_BUFFER if _is_text(member) else _SCHEMA_HEAD)
    except (NotImplementedError, RuntimeError):
        return True  # an RDS member Python cannot unpack: `read` says what to do
    except (HashSetFormatError, zipfile.BadZipFile, OSError):
        return False
    if _is_text(member):
        return _sniff_text(head)
    return head.startswith(SQLITE_MAGIC) and bool(_FILE_DDL.search(head))


def _sniff_text(head: bytes) -> bool:
    lines = head_lines(head, limit=1)
    return bool(lines) and is_header(parse_header_line(lines[0]))


def _sniff_db(path: Path) -> bool:
    try:
        conn = connect(path)
        try:
            return bool(file_columns(conn))
        finally:
            conn.close()
    except (HashSetFormatError, sqlite3.Error):
        return False


class NsrlFormat:
    name = "nsrl"
    version = "2"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the RDS names no categories: it is a list of known software to ignore

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(SQLITE_MAGIC):
            return _sniff_db(path)
        if head.startswith(ZIP_MAGIC):
            return _sniff_zip(path)
        return _sniff_text(head)

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        magic = read_head(path, len(SQLITE_MAGIC))
        if magic == SQLITE_MAGIC:
            yield from read_db(path)
        elif magic.startswith(ZIP_MAGIC):
            yield from _read_zip(path)
        else:
            with open(path, "rb") as fh:
                yield from read_text(fh)
