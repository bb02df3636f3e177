"""Archives as streams of members: the `Member` record, the `ArchiveFormat` contract, the
`Budget` that stops archive bombs while bytes are read, `Occurrences`, which names repeated
members apart, and `iter_archive`, which picks a format by content type. Nothing here writes to
disk; members are read from the archive stream.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

from vigil.config import Limits, MiB
from vigil.errors import ArchiveError
from vigil.model import Entry, display_name

if TYPE_CHECKING:
    from vigil.plugins import Registry

# Short, stable `ArchiveError.reason` texts (they end up in records and error tables).
BOMB = "archive bomb"
TOO_MANY_MEMBERS = "too many members"
TRUNCATED = "truncated archive"
CORRUPT_ARCHIVE = "corrupt archive"
CORRUPT_MEMBER = "corrupt member"
ENCRYPTED_MEMBER = "encrypted member"
ENCRYPTED_ARCHIVE = "encrypted archive"
UNSUPPORTED_METHOD = "unsupported compression method"
UNSUPPORTED_ARCHIVE = "unsupported archive"
NOT_REGULAR = "not a regular member"
CRC_MISMATCH = "CRC mismatch"

OCCURRENCE_SEPARATOR = b";"
"""The 2nd, 3rd … member of one archive with an already used name is located as
`name;2`, `name;3` … (see `Occurrences`)."""

RATIO_FLOOR = 1 * MiB
"""The ratio limit only applies once a member has produced this much, so small, highly
compressible files (text, empty-ish images) are never taken for bombs."""

CHUNK = 256 * 1024
LINK_TARGET_MAX = 4096

Read = Callable[[int], bytes]
"""`read(n)`: at most n > 0 bytes, b"" at the end."""


@dataclass(eq=False)
class Member:
    """One entry of an archive, as listed, before (and independently of) reading its bytes.

    `name` is the raw name as stored: zip names decoded by zipfile's rules (CP437, or UTF-8
    when flagged) and re-encoded as UTF-8; tar names as raw bytes; 7z names as UTF-8.
    `error` is set when the member is listed but its bytes cannot be read; `open()` then
    raises `ArchiveError(error)`. `link_target` is the display form of a link's target.
    """

    name: bytes
    entry: Entry = Entry.MEMBER
    size: int | None = None
    compressed_size: int | None = None
    encrypted: bool = False
    link_target: str | None = None
    mtime: float | None = None
    error: str | None = None
    _read: Read | None = field(default=None, repr=False)
    _stream: MemberStream | None = field(default=None, repr=False)
    _expired: bool = field(default=False, repr=False)

    @property
    def display(self) -> str:
        return display_name(self.name)

    def open(self) -> BinaryIO:
        """A stream of the member's bytes, valid only until the member iterator advances.

        Reading raises `ArchiveError` (reason `archive bomb`, `truncated archive`, `corrupt
        member` …) as soon as a limit is passed or the data turns out to be bad.
        """
        if self.error is not None:
            raise ArchiveError(self.error, self.display)
        if self._read is None:
            raise ArchiveError(NOT_REGULAR, f"{self.display} is a {self.entry}")
        if self._expired:
            raise ValueError("a member can only be opened until the iterator advances")
        if self._stream is not None:
            raise ValueError("a member can only be opened once")
        self._stream = MemberStream(self._read)
        return cast(BinaryIO, self._stream)

    def expire(self) -> None:
        """Called when the iterator moves on; any open stream is closed."""
        self._expired = True
        if self._stream is not None:
            self._stream.close()


class ChecksumError(ArchiveError):
    """Raised only after every byte of a member was delivered, when those bytes fail the
    archive's check (CRC): they are what the archive holds, so they are still hashed."""


class Occurrences:
    """Distinct locator names for the members of one archive, in archive order.

    Every entry is an occurrence: tar appends a changed file under the same name, zip and 7z
    writers may repeat a name. The first member with a name keeps it; a later one gets the
    first free `name;N` (N = 2, 3 …), free meaning not yet used by any member of this archive,
    so that a member really called `a;2` can never collide with the 2nd `a`. Archive order is
    fixed, so the same archive always gives the same names (resume and re-runs agree).
    """

    def __init__(self) -> None:
        self._used: set[bytes] = set()
        self._count: dict[bytes, int] = {}

    def name(self, name: bytes) -> bytes:
        located = name
        n = self._count.get(name, 1)
        while located in self._used:
            n += 1
            located = name + OCCURRENCE_SEPARATOR + str(n).encode()
        self._count[name] = n
        self._used.add(located)
        return located


class MemberStream(io.RawIOBase):
    """A read-only binary stream over a `Read` function (the format does the real work)."""

    def __init__(self, read: Read) -> None:
        self._source = read

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self._checkClosed()  # type: ignore[attr-defined]
        if size is None or size < 0:
            return self.readall()
        return self._source(min(size, CHUNK)) if size else b""  # short reads bound memory

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(CHUNK):
            parts.append(chunk)
        return b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ArchiveFormat(Protocol):
    """One archive format. `name` is persisted; `mimes` are the sniffed content types it reads.

    `iter_members` yields members in archive order. Problems of one member are set on that
    member (`error`) or raised by its stream; problems of the archive as a whole (not an
    archive, truncated, encrypted headers, bomb while listing) raise `ArchiveError` — after
    every member that could be salvaged has been yielded.
    """

    name: str
    mimes: tuple[str, ...]

    def iter_members(
        self, stream: BinaryIO, *, name: bytes, budget: Budget
    ) -> Iterator[Member]: ...


class Budget:
    """Uncompressed bytes one top-level archive may produce, shared with every archive nested
    in it, and the per-stream expansion ratio. Both are checked on the bytes actually produced
    and consumed, never on declared sizes (which lie in bombs).

    Passing the byte budget stops reading (`charge` raises). Passing the ratio only flags the
    stream: `verdict` is set and the reader takes it (`take_verdict`) once the member is read,
    so a highly compressible member is still hashed within the byte budget but is neither
    decoded nor opened as an archive."""

    def __init__(self, limits: Limits) -> None:
        self.max_total_bytes = limits.archive_max_total_bytes
        self.max_ratio = limits.archive_max_ratio
        self.max_members = limits.archive_max_members
        self.total_bytes = 0
        self.verdict: ArchiveError | None = None

    def charge(self, n: int) -> None:
        self.total_bytes += n
        if self.total_bytes > self.max_total_bytes:
            raise ArchiveError(BOMB, f"more than {self.max_total_bytes} bytes unpacked")

    def check_ratio(self, unpacked: int, packed: int | None) -> None:
        if packed is None or unpacked <= RATIO_FLOOR:
            return
        if unpacked > self.max_ratio * max(packed, 1):
            self.verdict = ArchiveError(BOMB, f"{unpacked} bytes from {packed} compressed")

    def take_verdict(self) -> ArchiveError | None:
        """The ratio verdict on what was read since the last call, cleared."""
        verdict, self.verdict = self.verdict, None
        return verdict

    def meter(self, read: Read, *, packed: int | Callable[[], int] | None = None) -> Metered:
        return Metered(read, self, packed)


class Metered:
    """A `Read` that charges a budget for what it returns and checks its expansion ratio
    (`packed`: the compressed size, or a function giving the compressed bytes consumed)."""

    def __init__(self, read: Read, budget: Budget, packed: int | Callable[[], int] | None):
        self._read = read
        self._budget = budget
        self._packed = packed
        self.unpacked = 0

    def read(self, n: int) -> bytes:
        data = self._read(n)
        self.unpacked += len(data)
        self._budget.charge(len(data))
        packed = self._packed() if callable(self._packed) else self._packed
        self._budget.check_ratio(self.unpacked, packed)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def guarded(read: Read, translate: Callable[[Exception], ArchiveError | None]) -> Read:
    """Wrap a library read so its errors become `ArchiveError` (`translate` returns None to
    let an exception through)."""

    def _read(n: int) -> bytes:
        try:
            return read(n)
        except ArchiveError:
            raise
        except Exception as exc:
            mapped = translate(exc)
            if mapped is None:
                raise
            raise mapped from exc

    return _read


def read_limited(read: Read, limit: int) -> bytes:
    """Up to `limit` bytes from `read` (for link targets stored as member content)."""
    parts: list[bytes] = []
    left = limit
    while left > 0 and (chunk := read(left)):
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def entry_from_mode(mode: int) -> Entry:
    """Entry type from POSIX st_mode bits (as stored by zip and 7z for Unix members)."""
    if stat.S_ISDIR(mode):
        return Entry.DIRECTORY
    if stat.S_ISLNK(mode):
        return Entry.SYMLINK
    if stat.S_ISFIFO(mode):
        return Entry.FIFO
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Entry.DEVICE
    if stat.S_ISSOCK(mode):
        return Entry.SOCKET
    if stat.S_ISREG(mode) or stat.S_IFMT(mode) == 0:
        return Entry.MEMBER
    return Entry.OTHER


def iter_archive(
    stream: BinaryIO,
    mime: str,
    *,
    name: bytes,
    budget: Budget,
    formats: Registry[ArchiveFormat] | None = None,
) -> Iterator[Member]:
    """Members of the archive in `stream` (seekable), read by the format that handles `mime`.

    Each member's stream is closed when the iterator advances. Raises `ArchiveError`
    ("unsupported archive") when no format handles `mime`, and ("too many members") after
    `archive_max_members` members of this one archive.
    """
    if formats is None:
        from vigil.evidence.formats import FORMATS

        formats = FORMATS
    fmt = next((f for f in formats if mime in f.mimes), None)
    if fmt is None:
        raise ArchiveError(UNSUPPORTED_ARCHIVE, mime)
    members = fmt.iter_members(stream, name=name, budget=budget)
    try:
        for count, member in enumerate(members, 1):
            if count > budget.max_members:
                raise ArchiveError(TOO_MANY_MEMBERS, f"more than {budget.max_members}")
            try:
                yield member
            finally:
                member.expire()
    finally:
        members.close()  # type: ignore[attr-defined]


def __getattr__(attr: str) -> object:
    # FORMATS lives with the built-ins it is filled with; re-exported here without an
    # import cycle (the format modules import this one).
    if attr == "FORMATS":
        from vigil.evidence.formats import FORMATS

        return FORMATS
    raise AttributeError(attr)
