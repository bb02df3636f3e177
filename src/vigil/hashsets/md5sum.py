"""md5sum / sha1sum / sha256sum lists: GNU `<hex>  <name>` (`*` = binary mode), BSD `--tag`
`MD5 (<name>) = <hex>`, and bare hex lines (TSK accepts those too). The algorithm of each line
comes from its tag or its digest length (32 MD5, 40 SHA-1, 64 SHA-256).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    head_lines,
    norm_hex,
    read_line_entries,
)

_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_TAGS = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA-1": "sha1",
    "SHA256": "sha256",
    "SHA-256": "sha256",
    "SHA2-256": "sha256",
}
# GNU: digest, one blank, then a mode char (' ' text, '*' binary) and the name; TSK and some
# tools write a single blank or a tab, so the mode char is optional.
_GNU = re.compile(r"(?P<hex>[0-9A-Fa-f]+)(?:[ \t](?P<mode>[ *]?)(?P<name>.*))?")
_BSD = re.compile(
    r"(?P<tag>[A-Za-z][A-Za-z0-9-]{0,11}) ?\((?P<name>.*)\) ?= ?(?P<hex>[0-9A-Fa-f]+)"
)
_BARE_64 = re.compile(r"[0-9A-Fa-f]{64}\s*")
_SHA256_HINT = re.compile(r"sha-?256|sha2", re.IGNORECASE)


def _unescape(name: str) -> str:
    """Undo coreutils' escaping of names holding a backslash, newline or CR."""
    out, i = [], 0
    while i < len(name):
        ch = name[i]
        if ch == "\\" and i + 1 < len(name):
            nxt = name[i + 1]
            out.append({"\\": "\\", "n": "\n", "r": "\r"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_line(text: str, line: int) -> HashEntry | None:
    """One line → entry; None for blank and `#` comment lines."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    escaped = text.startswith("\\")
    body = text[1:] if escaped else text
    algo: str | None
    match = _BSD.fullmatch(body.rstrip())
    if match and match["tag"].upper() in _TAGS:
        algo = _TAGS[match["tag"].upper()]
        digest, name = match["hex"], match["name"]
    elif match:
        raise HashSetFormatError(f"unsupported digest {match['tag']!r}", line=line)
    else:
        match = _GNU.fullmatch(body.lstrip())
        if match is None:
            raise HashSetFormatError(
                "not an md5sum line (want '<hex>  <name>' or 'MD5 (<name>) = <hex>')", line=line
            )
        digest, name = match["hex"], match["name"]
        algo = _BY_LENGTH.get(len(digest))
        if algo is None:
            raise HashSetFormatError(
                f"digest of {len(digest)} hex digits is not MD5, SHA-1 or SHA-256", line=line
            )
    value = norm_hex(digest, algo, line=line)
    if name is not None:
        name = _unescape(name) if escaped else name
    entry_name = name or None
    if algo == "md5":
        return HashEntry(md5=value, name=entry_name)
    if algo == "sha1":
        return HashEntry(sha1=value, name=entry_name)
    return HashEntry(sha256=value, name=entry_name)


class Md5sumFormat:
    name = "md5sum"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = [t for t in head_lines(head) if not t.lstrip().startswith("#")]
        if not lines:
            return False
        bare_64 = True
        for number, text in enumerate(lines, 1):
            try:
                parse_line(text, number)
            except HashSetFormatError:
                return False
            bare_64 = bare_64 and bool(_BARE_64.fullmatch(text))
        # Bare 64-hex lines are equally a PDQ list; only a name hint settles it.
        return not bare_64 or bool(_SHA256_HINT.search(path.name))

    def read(self, path: Path) -> Iterator[HashEntry]:
        return read_line_entries(path, parse_line)
