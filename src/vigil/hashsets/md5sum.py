"""md5sum / sha1sum / sha256sum lists and the other plain "digest and name" lists forensic
labs are handed, read as their writers write them:

* GNU coreutils (`md5sum`, `sha*sum`, `cksum -a`): `<hex>  <name>` (`*` = binary mode), BSD
  `--tag` `MD5 (<name>) = <hex>` (`cksum --base64` writes the digest in base64), a leading
  backslash when the name holds `\\`, LF or CR (escaped as `\\\\`, `\\n`, `\\r`), and `-z`
  (records end in NUL, names unescaped).
* BSD/macOS `md5`, `sha256`: tagged by default, `-r` `<hex> <name>` (one blank); its `shasum`
  emulation and Perl's `shasum` add the mode chars `?` and `^`.
* md5deep: `<hex>  <name>`, `-k` `<hex> *<name>`, `-z` a right-aligned size first, `-t` a
  `YYYY:MM:DD:HH:MM:SS` time after the digest, `-c` comma-separated (hashdeep's own
  `%%%% HASHDEEP-1.0` files are another format).
* bare hex lines (TSK accepts those too), also as UTF-16 text: X-Ways' HashExporter X-Tension
  writes UTF-16LE without a BOM, Windows PowerShell 5.1 redirection UTF-16LE with one.

The algorithm of each line comes from its tag or its digest length (32 MD5, 40 SHA-1, 64
SHA-256).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HEX_LENGTHS,
    MAX_LINE,
    UTF8_BOM,
    HashEntry,
    check_not_empty,
    head_lines,
    iter_lines,
    make_extra,
    no_entries,
    norm_hex,
    opt_int,
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
# GNU: digest, one blank, then a mode char (' ' text, '*' binary; Perl/BSD shasum also '?'
# portable and '^' bits) and the name; BSD `-r`, TSK and some tools write a single blank or a
# tab, so the mode char is optional. md5deep may put a size first (`-z`: right-aligned, then
# two blanks, or `, ` with `-c`), a UTC time after the digest (`-t`) and separate with a comma
# (`-c`). 'U' (shasum -U) is not taken as a mode char: `md5 -r` names may start with it.
_PLAIN = re.compile(
    r"(?:(?P<size>\d{1,20})(?:  |, ))?"
    r"(?P<hex>[0-9A-Fa-f]+)"
    r"(?:[ ,](?P<ts>\d{4}:\d\d:\d\d:\d\d:\d\d:\d\d)(?=,|  | \*))?"
    r"(?:,(?P<cname>.*)|[ \t](?P<mode>[ *?^]?)(?P<name>.*))?",
    re.DOTALL,
)
_BSD = re.compile(
    r"(?P<tag>[A-Za-z][A-Za-z0-9/-]{0,15}) ?\((?P<name>.*)\)[ \t]*=[ \t]*(?P<hex>[0-9A-Za-z+/=]+)",
    re.DOTALL,
)
_BARE_64 = re.compile(r"[0-9A-Fa-f]{64}\s*")
_SHA256_HINT = re.compile(r"sha-?256|sha2", re.IGNORECASE)
_HEXDIGITS = re.compile(r"[0-9A-Fa-f]+")
_MORE_HEX = re.compile(r"[0-9A-Fa-f]{32,}(?:,|$)")


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


def _digest(value: str, algo: str, line: int) -> str:
    """Hex as written, or base64 (coreutils `cksum --base64`, tagged lines only)."""
    if _HEXDIGITS.fullmatch(value):
        return norm_hex(value, algo, line=line)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) * 2 != HEX_LENGTHS[algo]:
        raise HashSetFormatError(
            f"bad {algo.upper()} {value[:80]!r}: "
            f"not {HEX_LENGTHS[algo]} hex digits or their base64",
            line=line,
        )
    return raw.hex()


def _entry(algo: str, value: str, **fields: object) -> HashEntry:
    return HashEntry(**{algo: value}, **fields)  # type: ignore[arg-type]


def parse_line(text: str, line: int) -> HashEntry | None:
    """One line → entry; None for blank and `#` comment lines."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    body = text.lstrip(" \t")
    escaped = body.startswith("\\")
    if escaped:
        body = body[1:]
    match = _BSD.fullmatch(body.rstrip()) if "(" in body else None
    if match and match["tag"].upper() in _TAGS:
        algo = _TAGS[match["tag"].upper()]
        name = _unescape(match["name"]) if escaped else match["name"]
        return _entry(algo, _digest(match["hex"], algo, line), name=name or None)
    if match:
        raise HashSetFormatError(f"unsupported digest {match['tag']!r}", line=line)
    match = _PLAIN.fullmatch(body)
    if match is None:
        raise HashSetFormatError(
            "not an md5sum line (want '<hex>  <name>' or 'MD5 (<name>) = <hex>')", line=line
        )
    digest = match["hex"]
    algo = _BY_LENGTH.get(len(digest))
    if algo is None:
        raise HashSetFormatError(
            f"digest of {len(digest)} hex digits is not MD5, SHA-1 or SHA-256", line=line
        )
    name = match["cname"] if match["cname"] is not None else match["name"]
    if match["cname"] is not None and _MORE_HEX.match(match["cname"]):
        raise HashSetFormatError(
            "several digests on one line: a CSV list needs a header (--format csv)", line=line
        )
    if name is not None and escaped:
        name = _unescape(name)
    extra = ()
    if match["ts"]:
        ts = match["ts"]  # md5deep -t: gmtime, "%Y:%m:%d:%H:%M:%S"
        extra = make_extra({"date_modified": f"{ts[:10].replace(':', '-')}T{ts[11:]}Z"})
    return _entry(
        algo,
        norm_hex(digest, algo, line=line),
        name=name or None,
        size=opt_int(match["size"], "size", line=line),
        extra=extra,
    )


# --- text decoding: UTF-8 lines, NUL-terminated records (-z) and UTF-16 ---------------------


def _encoding(head: bytes) -> str:
    """ "utf-16" (BOM), "utf-16-le"/"utf-16-be" (ASCII text without BOM), "nul" (`-z`
    records) or "utf-8"."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    if b"\0" in head and not head.startswith(UTF8_BOM + b"\0"):
        first_nul, first_lf = head.find(b"\0"), head.find(b"\n")
        if first_lf < 0 or first_nul < first_lf:
            return "nul"
    return "utf-8"


def _utf16_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    with open(path, encoding=encoding, errors="strict", newline="") as fh:
        number = 0
        while True:
            try:
                raw = fh.readline(MAX_LINE + 1)
            except UnicodeDecodeError as exc:
                raise HashSetFormatError(
                    f"not valid UTF-16 ({exc.reason})", line=number + 1
                ) from None
            if not raw:
                break
            number += 1
            if len(raw) > MAX_LINE:
                raise HashSetFormatError("line too long (not a text hash list?)", line=number)
            if number == 1:
                raw = raw.removeprefix("\ufeff")
            if "\0" in raw:
                raise HashSetFormatError("NUL character (binary file?)", line=number)
            yield number, raw.rstrip("\n").rstrip("\r")


def _nul_records(path: Path) -> Iterator[tuple[int, str]]:
    """GNU `-z` / md5deep `-0` output: records end in NUL, names may hold LF; UTF-8 only."""

    def decode(raw: bytes, number: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HashSetFormatError(
                f"not valid UTF-8 at byte {exc.start}", record=number
            ) from None

    with open(path, "rb") as fh:
        number, pending = 0, b""
        while chunk := fh.read(1 << 16):
            *records, pending = (pending + chunk).split(b"\0")
            for raw in records:
                number += 1
                yield number, decode(raw, number)
            if len(pending) > MAX_LINE:
                raise HashSetFormatError("record too long (not a hash list?)", record=number + 1)
        if pending:
            yield number + 1, decode(pending, number + 1)


def _text(path: Path, head: bytes) -> Iterator[tuple[int, str]]:
    kind = _encoding(head)
    if kind == "nul":
        return _nul_records(path)
    if kind.startswith("utf-16"):
        return _utf16_lines(path, kind)
    return iter_lines(path)


def _head_text(head: bytes) -> list[str]:
    """Sniffing view of the head in whatever encoding `_text` would read it."""
    kind = _encoding(head)
    if kind == "nul":
        records = head.split(b"\0")[:-1][:20]
        return [r.decode("utf-8", "replace") for r in records if r.strip()]
    if kind.startswith("utf-16"):
        data = head[: len(head) // 2 * 2]
        text = data.decode(kind, "replace").removeprefix("\ufeff")
        lines = [t.rstrip("\r") for t in text.split("\n")]
        if len(head) >= 4096:
            lines = lines[:-1]  # maybe cut mid-line
        return [t for t in lines if t.strip()][:20]
    return head_lines(head)


# --- format --------------------------------------------------------------------------------


class Md5sumFormat:
    name = "md5sum"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        return None  # the format names no scheme: codes are read as the case's own

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = [t for t in _head_text(head) if not t.lstrip().startswith("#")]
        if not lines:
            return False
        bare_64 = True
        for number, line in enumerate(lines, 1):
            try:
                parse_line(line, number)
            except HashSetFormatError:
                return False
            bare_64 = bare_64 and bool(_BARE_64.fullmatch(line))
        # Bare 64-hex lines are equally a PDQ list; only a name hint settles it.
        return not bare_64 or bool(_SHA256_HINT.search(path.name))

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        with open(path, "rb") as fh:
            head = fh.read(4096)
        count = 0
        for number, text in _text(path, head):
            entry = parse_line(text, number)
            if entry is not None:
                count += 1
                yield entry
        if not count:
            raise no_entries()
