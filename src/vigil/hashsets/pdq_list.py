"""PDQ hash lists: one 64-hex PDQ per line, optionally followed by a quality (`,q` or
whitespace) and a name, as `pdq-photo-hasher` writes (`hex,quality,filename` or its `-d`
form `hash=…,quality=…,filename=…`), optionally with python-threatexchange's `pdq ` prefix.
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
        for number, text in enumerate(lines, 1):
            if _GNU_LIKE.match(text):
                return False
            try:
                parse_line(text, number)
            except HashSetFormatError:
                return False
            all_bare = all_bare and bool(_BARE.fullmatch(text.strip()))
        # Bare 64-hex lines could as well be SHA-256: only a name hint settles it.
        return not all_bare or bool(_PDQ_HINT.search(path.name))

    def read(self, path: Path) -> Iterator[HashEntry]:
        return read_line_entries(path, parse_line)


def looks_bare_hex64(head: bytes) -> bool:
    """True when the head is nothing but bare 64-hex lines (SHA-256 or PDQ: ambiguous)."""
    lines = [t for t in head_lines(head) if not t.lstrip().startswith("#")]
    return bool(lines) and all(_BARE.fullmatch(t.strip()) for t in lines)
