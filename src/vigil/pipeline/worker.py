"""The worker's unit of work: one top-level task in, its records out.

A plain picklable function of (task, limits) → records, with no store, no globals and no
output besides the return value, so the same function runs in a local process pool, inline
for `vigil hash`, or on a Dask worker that mounts the evidence. Per-item failures become
records; nothing a file contains can make this function raise.
"""

from __future__ import annotations

import io
import os
import stat
from typing import BinaryIO

from vigil.config import Limits
from vigil.errors import ArchiveError, ItemError
from vigil.evidence.archive import Budget, ChecksumError, Member, Occurrences, iter_archive
from vigil.evidence.disk import SEGMENT
from vigil.evidence.disk.filesystem import NOT_RECOVERABLE
from vigil.evidence.disk.media import ImageError
from vigil.evidence.folder import open_read_only
from vigil.hashing.conventions import pdq_version, windows_version
from vigil.hashing.crypto import CryptoHasher
from vigil.media.extensions import claimed_kind
from vigil.media.sniff import OCTET_STREAM, SNIFF_BYTES, TEXT, ZIP_TAIL_BYTES, sniff, zip_tail
from vigil.model import Entry, FileRecord, Kind, Status, Task
from vigil.pipeline.imaging import analyse_image, analyse_video

CHUNK = 1 << 20
_STUB_MIMES = (OCTET_STREAM, TEXT)
"""What a self-extractor's stub sniffs as (an executable, a shell script): its zip is found
from the end-of-central-directory record in the file's last bytes, kept while hashing."""
_NESTED_SELF_EXTRACTOR = (
    "self-extracting zip inside an archive: not opened (its stub hides the zip until the "
    "member's last bytes, and a member is read once)"
)

_NOT_READ = {
    Entry.SYMLINK: "symlink: recorded, not followed",
    Entry.FIFO: "fifo: not opened",
    Entry.SOCKET: "socket: not opened",
    Entry.DEVICE: "device file: not opened",
    Entry.DIRECTORY: "directory: not listed",
    Entry.HARDLINK: "hard link: recorded, not read",
    Entry.VOLUME: "volume: not listed",
    Entry.VIRTUAL: "virtual file: file system metadata The Sleuth Kit shows as a file, not read",
    Entry.OTHER: "special file: not opened",
}


def process_batch(tasks: list[Task], limits: Limits) -> list[list[FileRecord]]:
    """Records for each task, in task order (the executor ships batches to amortise IPC)."""
    return [process_task(task, limits) for task in tasks]


def process_task(task: Task, limits: Limits) -> list[FileRecord]:
    fs_entry = task.locator.fs_entry
    record = FileRecord(
        locator=task.locator,
        source_id=task.source_id,
        entry=task.entry,
        link_target=task.link_target,
        encrypted=task.encrypted,
        mtime=task.mtime,
        deleted=task.deleted,
        inode=fs_entry.inode if fs_entry is not None else None,
    )
    if task.error:
        return [record.fail(Status.ERROR, task.error)]
    if task.entry is not Entry.FILE:
        return [record.fail(Status.SKIPPED, _NOT_READ[task.entry])]
    records = [record]
    try:
        if fs_entry is not None:
            _process_image_entry(task, record, limits, records)
        else:
            _process_file(task, record, limits, records)
    except Exception as exc:  # a bug must cost one record, never the run or what was read
        record.fail(Status.ERROR, _internal_error(exc, len(records) - 1))
    return records


def _internal_error(exc: Exception, kept: int) -> str:
    """The reason for an item whose processing crashed. The item is still marked done with
    the records collected so far (re-running the same bug would crash again), but never
    silently: the reason says the listing stopped and how many member records it kept."""
    reason = f"internal error: {type(exc).__name__}: {exc}"
    return f"{reason} ({kept} member records kept, the rest not listed)" if kept else reason


def _process_file(task: Task, record: FileRecord, limits: Limits, out: list[FileRecord]) -> None:
    """Analyse the file of `record`, appending member records to `out` as they are made."""
    path = os.path.join(os.fsencode(task.root), task.locator.relpath)
    try:
        fd = open_read_only(path)
    except FileNotFoundError:
        record.fail(Status.ERROR, "file vanished: no longer at its path")
        return
    except OSError as exc:
        if os.path.islink(path):
            record.entry = Entry.SYMLINK
            record.fail(Status.SKIPPED, _NOT_READ[Entry.SYMLINK])
        else:
            record.fail(Status.ERROR, f"cannot open: {exc.strerror}")
        return
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            record.fail(Status.SKIPPED, "not a regular file when opened")
            return
        os.set_blocking(fd, True)
        record.mtime = st.st_mtime
        opaque = task.image_format is not None
        try:
            _analyse(record, f, st.st_size, limits, out, budget=None, on_disk=True, opaque=opaque)
        except OSError as exc:
            record.fail(Status.ERROR, f"read error: {exc.strerror or exc}")
    if task.image_format not in (None, SEGMENT):
        _image_report(path, task.image_format, record, limits)


def _image_report(path: bytes, image_format: str, record: FileRecord, limits: Limits) -> None:
    """The disk image's own report (format, segments, volumes, stored and verified hashes),
    kept on the record of its first segment; a mismatch or an unreadable image is that
    record's error (its file hashes stay)."""
    from vigil.evidence.disk.report import image_report

    record.image, error = image_report(path, image_format, limits)
    if error:
        record.fail(Status.ERROR, error)


def _process_image_entry(
    task: Task, record: FileRecord, limits: Limits, out: list[FileRecord]
) -> None:
    """A file inside a disk image, read through the image by its metadata address."""
    from vigil.evidence.disk.handles import open_entry

    try:
        stream = open_entry(task.root, task.locator, task.image_format or "", deleted=task.deleted)
    except ImageError as exc:
        record.fail(exc.status, exc.message)
        return
    except OSError as exc:
        record.fail(Status.ERROR, _image_read_error(exc))
        return
    with stream:
        try:
            _analyse(record, stream, task.size, limits, out, budget=None, on_disk=True)
        except OSError as exc:
            record.fail(Status.ERROR, _image_read_error(exc))


def _image_read_error(exc: OSError) -> str:
    text = str(exc.strerror or exc)
    return text if text.startswith(NOT_RECOVERABLE) else f"read error: {text}"


def _analyse(
    record: FileRecord,
    stream: BinaryIO,
    size: int | None,
    limits: Limits,
    out: list[FileRecord],
    *,
    budget: Budget | None,
    on_disk: bool,
    opaque: bool = False,
) -> None:
    """Hash the stream once and, by content type, decode or descend. Appends member records
    to `out` after `record` itself. `opaque`: only hash (a disk image's segment file, whose
    first bytes may look like anything).

    `record.size` is always the number of bytes actually read, never a declared size. A read
    error propagates (the caller records it) except a checksum mismatch, raised once every
    byte was delivered: those bytes are hashed and the record keeps the error. An expansion
    ratio over the limit (`Budget.verdict`) still gets its hashes but is never decoded or
    opened."""
    hasher = CryptoHasher()
    if budget is not None:
        budget.take_verdict()  # what an iterator skipped before this member is not its doing
    try:
        head = _read_full(stream, max(CHUNK, SNIFF_BYTES), hasher)
        record.mime, record.kind = sniff(head[:SNIFF_BYTES])
        keep_limit = 0 if opaque else _keep_limit(record.kind, limits, on_disk)
        # the first read may already pass a small limit
        kept: bytearray | None = bytearray(head) if keep_limit and len(head) <= keep_limit else None
        tail = head
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
            tail = chunk if len(chunk) >= ZIP_TAIL_BYTES else tail[-ZIP_TAIL_BYTES:] + chunk
            if kept is not None:
                if len(kept) + len(chunk) > keep_limit:
                    kept = None
                else:
                    kept += chunk
    except ChecksumError as exc:
        _set_digests(record, hasher)
        record.fail(exc.status, exc.message)
        return
    finally:
        record.size = hasher.size
    _set_digests(record, hasher)
    if size is not None and hasher.size != size and on_disk:
        record.fail(
            Status.ERROR, f"file changed while read: {size} bytes listed, {hasher.size} read"
        )
        return
    if hasher.size == 0:
        record.fail(Status.SKIPPED, "empty file")
        return
    if opaque:
        return
    verdict = budget.take_verdict() if budget is not None else None
    if verdict is not None:
        record.fail(verdict.status, verdict.message)
        return
    self_extractor = record.mime in _STUB_MIMES and zip_tail(tail, hasher.size)
    if self_extractor:
        record.mime, record.kind = "application/zip", Kind.ARCHIVE
    claimed = claimed_kind(record.locator.name)
    if claimed is not None and record.kind is Kind.OTHER:
        record.fail(Status.ERROR, f"unrecognised content: the name claims {claimed.value}")
        return

    if record.kind is Kind.IMAGE:
        if kept is None:
            record.fail(
                Status.SKIPPED, f"image larger than max_image_bytes ({keep_limit}): not decoded"
            )
            return
        analyse_image(record, bytes(kept), limits)
        if record.pdq is not None:
            record.pdq_version = pdq_version(limits)
            record.windows_version = windows_version(limits) if record.pdq_windows else None
    elif record.kind is Kind.VIDEO:
        if on_disk:
            stream.seek(0)
            analyse_video(record, stream, limits)
        elif kept is None:
            record.fail(
                Status.SKIPPED, f"video larger than member_max_bytes ({keep_limit}): not decoded"
            )
        else:
            analyse_video(record, io.BytesIO(kept), limits)
    elif record.kind is Kind.ARCHIVE:
        if on_disk:
            stream.seek(0)
            _descend(record, stream, limits, out, budget)
        elif self_extractor:
            record.fail(Status.SKIPPED, _NESTED_SELF_EXTRACTOR)
        elif kept is None:
            record.fail(
                Status.SKIPPED,
                f"nested archive larger than member_max_bytes ({keep_limit}): not opened",
            )
        else:
            _descend(record, io.BytesIO(kept), limits, out, budget)


def _keep_limit(kind: Kind, limits: Limits, on_disk: bool) -> int:
    """How many bytes to keep in memory for decoding (0: none): images, and videos and nested
    archives inside archives (one on disk, or in a disk image, is read again from its start
    instead)."""
    if kind is Kind.IMAGE:
        return limits.max_image_bytes
    if kind in (Kind.ARCHIVE, Kind.VIDEO) and not on_disk:
        return limits.member_max_bytes
    return 0


def _set_digests(record: FileRecord, hasher: CryptoHasher) -> None:
    digests = hasher.digests()
    record.md5, record.sha1, record.sha256 = digests.md5, digests.sha1, digests.sha256


def _read_full(stream: BinaryIO, n: int, hasher: CryptoHasher) -> bytes:
    """Up to `n` bytes, each hashed as soon as it is read (so a failing read still leaves
    the count of bytes read in `hasher.size`)."""
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        hasher.update(chunk)
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _descend(
    archive: FileRecord,
    stream: BinaryIO,
    limits: Limits,
    out: list[FileRecord],
    budget: Budget | None,
) -> None:
    if archive.locator.depth >= limits.archive_max_depth:
        limit = limits.archive_max_depth
        archive.fail(Status.SKIPPED, f"archive nested deeper than archive_max_depth ({limit})")
        return
    budget = budget or Budget(limits)
    name = archive.locator.name
    names = Occurrences()
    listed = 0
    try:
        for member in iter_archive(stream, archive.mime or "", name=name, budget=budget):
            listed += 1
            _member(archive, member, names.name(member.name), limits, out, budget)
    except ArchiveError as exc:
        archive.encrypted = archive.encrypted or exc.reason == "encrypted archive"
        archive.fail(exc.status, exc.message)
    except (OSError, EOFError, ValueError) as exc:  # adapter bugs surface as data, not crashes
        archive.fail(Status.ERROR, f"corrupt archive: {type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug costs the rest of this archive, not what was listed
        archive.fail(Status.ERROR, _internal_error(exc, listed))


def _member(
    archive: FileRecord,
    member: Member,
    located: bytes,
    limits: Limits,
    out: list[FileRecord],
    budget: Budget,
) -> None:
    """Record one member under `located` (its name, or `name;N` for a repeated name)."""
    record = FileRecord(
        locator=archive.locator.child(located),
        source_id=archive.source_id,
        entry=member.entry,
        link_target=member.link_target,
        encrypted=member.encrypted,
        mtime=member.mtime,
    )
    out.append(record)
    if member.error:
        record.fail(Status.ERROR, member.error)
    elif member.entry is not Entry.MEMBER:
        record.fail(Status.SKIPPED, _NOT_READ.get(member.entry, "special member: not read"))
    else:
        try:
            with member.open() as stream:
                _analyse(record, stream, None, limits, out, budget=budget, on_disk=False)
        except ItemError as exc:
            record.fail(exc.status, exc.message)
        except Exception as exc:  # decompressor errors (zlib, lzma, py7zr) are per-member data
            record.fail(Status.ERROR, f"corrupt member: {type(exc).__name__}: {exc}")
