"""The built-in disk-image formats, each a thin adapter over libyal's maintained library:
EWF (E01/Ex01/S01, split segments) with pyewf, VMDK with pyvmdk, VHD/VHDX with pyvhdi,
QCOW with pyqcow; raw/dd (single or split .000/.001/.aa) needs no library: its segment files
are read one after the other.

Every segment file is opened here, read-only, and handed to the library as a file object,
so no library opens evidence by name, and a VMDK descriptor cannot lead it outside the
image's folder. Library errors become `ImageError` at this boundary.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, BinaryIO

from vigil.evidence.disk.ewf_integrity import EwfIntegrity, IntegrityUnknown
from vigil.evidence.disk.media import (
    ENCRYPTED_IMAGE,
    UNREADABLE_IMAGE,
    UNSUPPORTED_IMAGE,
    ImageError,
    Media,
    library,
    open_segment,
    open_segments,
)
from vigil.evidence.disk.signatures import looks_like_raw_disk

INCOMPLETE_SEGMENTS = "incomplete segment set"


def _name(path: bytes) -> str:
    return os.fsdecode(os.path.basename(path))


def _check(module: str, path: bytes) -> bool:
    """The library's own signature check, on the file opened as evidence."""
    try:
        lib = library(module)
        with open_segment(path) as f:
            return bool(lib.check_file_signature_file_object(f))
    except (ImageError, OSError, Exception):  # an unreadable file is simply not an image
        return False


def _open_with(
    fmt: str,
    segments: Sequence[bytes],
    make: Callable[[list[BinaryIO]], Any],
) -> tuple[Any, list[BinaryIO]]:
    files = open_segments(segments)
    try:
        return make(files), files
    except ImageError:
        for f in files:
            f.close()
        raise
    except Exception as exc:
        for f in files:
            f.close()
        raise ImageError(UNREADABLE_IMAGE, f"{fmt}: {_libyal_message(exc)}") from exc


def _libyal_message(exc: Exception) -> str:
    """libyal errors chain every layer's message; the last line says what failed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


class EwfFormat:
    """EnCase/Expert Witness: E01 (EWF1), Ex01 (EWF2), SMART S01; later segments (E02 …
    EZZ, EAA …) are found from the first by pyewf's glob."""

    name = "ewf"
    _first = (b".e01", b".ex01", b".s01")

    def starts_image(self, name: bytes) -> bool:
        return name.lower().endswith(self._first)

    def recognise(self, path: bytes) -> bool:
        return _check("pyewf", path)

    def segments(self, path: bytes) -> list[bytes]:
        pyewf = library("pyewf")
        try:
            found = [os.fsencode(n) for n in pyewf.glob(os.fsdecode(path))]
        except Exception as exc:
            raise ImageError(UNREADABLE_IMAGE, f"ewf segments: {_libyal_message(exc)}") from exc
        found = found or [path]
        _refuse_gap(found)
        return found

    def open(self, segments: Sequence[bytes]) -> Media:
        pyewf = library("pyewf")

        def make(files: list[BinaryIO]) -> Any:
            handle = pyewf.handle()
            handle.open_file_objects(files)
            return handle

        handle, files = _open_with(self.name, segments, make)
        stored = {
            k.lower(): v.lower()
            for k, v in (handle.get_hash_values() or {}).items()
            if isinstance(v, str) and v.strip("0")
        }
        headers = handle.get_header_values() or {}
        info = {
            k: headers[k]
            for k in (
                "case_number",
                "evidence_number",
                "description",
                "examiner_name",
                "notes",
                "acquiry_date",
                "acquiry_software",
                "acquiry_software_version",
                "model",
                "serial_number",
            )
            if headers.get(k)
        }
        info["bytes_per_sector"] = handle.get_bytes_per_sector()
        damaged = None
        problem = None
        try:
            integrity = EwfIntegrity(pyewf, handle)
            damaged = integrity.damaged
            if integrity.incomplete():
                problem = (
                    f"{INCOMPLETE_SEGMENTS}: libewf found no end to the last of "
                    f"{len(segments)} (truncated, or later ones missing)"
                )
        except IntegrityUnknown as exc:
            info["integrity"] = f"chunk checksums and segment set not checked: {exc}"
        return Media(
            self.name,
            handle,
            files,
            list(segments),
            handle.get_media_size(),
            stored,
            info,
            damaged=damaged,
            problem=problem,
        )

    def library_version(self) -> str:
        return f"libewf {library('pyewf').get_version()}"


_EWF_SEGMENT = re.compile(rb"^(.*\.[els]x?)[0-9a-z]{2}$", re.I)


def _refuse_gap(found: list[bytes]) -> None:
    """pyewf's glob stops at the first missing segment and libewf then opens the image
    without the rest (its reads fail past the gap); a later segment lying beside the image
    means one in between is missing, which is said here, once, instead."""
    match = _EWF_SEGMENT.match(os.path.basename(found[0]))
    if match is None:
        return
    folder = os.path.dirname(found[0])
    stem = match.group(1).lower()
    have = {os.path.basename(p).lower() for p in found}
    beyond = sorted(
        name
        for name in os.listdir(folder or b".")
        if name.lower() not in have
        and (m := _EWF_SEGMENT.match(name)) is not None
        and m.group(1).lower() == stem
    )
    if beyond:
        raise ImageError(
            UNREADABLE_IMAGE,
            f"ewf segments: the one after {_name(found[-1])} is missing, "
            f"yet {', '.join(os.fsdecode(n) for n in beyond)} lie beside it",
        )


_SPLIT_RAW = re.compile(rb"\.(?:(\d{3})|([a-z]{2}))$", re.I)
MAX_RAW_SEGMENTS = 100_000


def _next_suffix(suffix: bytes) -> bytes | None:
    """The suffix of the next segment of a split raw image: 000 → 001, aa → ab, az → ba."""
    if suffix.isdigit():
        n = int(suffix) + 1
        return str(n).zfill(len(suffix)).encode() if n < 10 ** len(suffix) else None
    chars = bytearray(suffix)
    for i in reversed(range(len(chars))):
        top = ord("Z") if chars[i] <= ord("Z") else ord("z")
        if chars[i] < top:
            chars[i] += 1
            return bytes(chars)
        chars[i] -= 25
    return None


class _ConcatHandle:
    """A raw image split into segment files: their bytes one after the other. Raw media has
    no format to parse; this only maps an offset to a segment file."""

    def __init__(self, files: list[BinaryIO]) -> None:
        self._files = files
        self._starts: list[int] = []
        total = 0
        for f in files:
            self._starts.append(total)
            total += os.fstat(f.fileno()).st_size
        self._size = total

    def get_media_size(self) -> int:
        return self._size

    def read_buffer_at_offset(self, size: int, offset: int) -> bytes:
        out = bytearray()
        end = min(offset + size, self._size)
        while offset < end:
            i = bisect.bisect_right(self._starts, offset) - 1
            stop = self._starts[i + 1] if i + 1 < len(self._starts) else self._size
            data = os.pread(
                self._files[i].fileno(), min(end, stop) - offset, offset - self._starts[i]
            )
            if not data:  # a segment shorter than when it was opened
                break
            out += data
            offset += len(data)
        return bytes(out)

    def close(self) -> None:
        """The segment files are closed by `Media`."""


class RawFormat:
    """Raw/dd images: one file, or split (`.000`/`.001` … or `.aa`/`.ab` …; the segments
    follow the first in name order while they exist), recognised by name and then by a
    partition table or file system at its start (`signatures`)."""

    name = "raw"
    _suffixes = (b".dd", b".raw", b".img", b".iso", b".000", b".001", b".aa")

    def starts_image(self, name: bytes) -> bool:
        return name.lower().endswith(self._suffixes)

    def recognise(self, path: bytes) -> bool:
        if path.lower().endswith(b".001") and os.path.lexists(path[:-3] + b"000"):
            return False  # the second segment of a split image that starts at .000
        try:
            with open_segment(path) as f:
                return looks_like_raw_disk(f.read(65536))
        except (ImageError, OSError):
            return False

    def segments(self, path: bytes) -> list[bytes]:
        found = [path]
        match = _SPLIT_RAW.search(path)
        if match is None:
            return found
        stem, suffix = path[: match.start() + 1], path[match.start() + 1 :]
        while len(found) < MAX_RAW_SEGMENTS:
            following = _next_suffix(suffix)
            if following is None or not os.path.lexists(stem + following):
                break
            suffix = following
            found.append(stem + suffix)
        return found

    def open(self, segments: Sequence[bytes]) -> Media:
        handle, files = _open_with(self.name, segments, _ConcatHandle)
        return Media(self.name, handle, files, list(segments), handle.get_media_size())

    def library_version(self) -> str:
        return "built-in (segment files read in order)"


_VMDK_EXTENT = re.compile(rb"-(?:s\d{3}|f\d{3}|flat|delta|\d{6}-delta)\.vmdk$", re.I)


class VmdkFormat:
    """VMware disks: monolithic, or a descriptor with its extent files beside it (VMware's
    `-s001.vmdk`, `-f001.vmdk`, `-flat.vmdk` names are extents, never images of their own).
    Differencing disks (snapshots) need their parent and are not opened."""

    name = "vmdk"

    def starts_image(self, name: bytes) -> bool:
        return name.lower().endswith(b".vmdk") and not _VMDK_EXTENT.search(name)

    def recognise(self, path: bytes) -> bool:
        return _check("pyvmdk", path)

    def segments(self, path: bytes) -> list[bytes]:
        pyvmdk = library("pyvmdk")
        with open_segment(path) as f:
            handle = pyvmdk.handle()
            try:
                handle.open_file_object(f)
                names = [d.filename for d in handle.extent_descriptors]
                parent = handle.get_parent_filename() if _has_parent(handle) else None
            except Exception as exc:
                raise ImageError(UNREADABLE_IMAGE, f"vmdk: {_libyal_message(exc)}") from exc
            finally:
                handle.close()
        if parent:
            raise ImageError(
                UNSUPPORTED_IMAGE, f"VMDK differencing disk: needs its parent {parent!r}"
            )
        folder = os.path.dirname(path)
        extents = []
        for name in names:
            raw = os.fsencode(name or "")
            if not raw or b"/" in raw or b"\\" in raw or raw in (b".", b".."):
                raise ImageError(
                    UNSUPPORTED_IMAGE,
                    f"VMDK extent {name!r} is not a file beside the descriptor: refused",
                )
            extents.append(os.path.join(folder, raw))
        return [path, *(e for e in extents if e != path)]

    def open(self, segments: Sequence[bytes]) -> Media:
        pyvmdk = library("pyvmdk")
        descriptor = segments[0]

        def make(files: list[BinaryIO]) -> Any:
            handle = pyvmdk.handle()
            handle.open_file_object(files[0])
            names = [os.fsencode(d.filename) for d in handle.extent_descriptors]
            by_name = {os.path.basename(p): f for p, f in zip(segments, files, strict=True)}
            extent_files = [by_name[os.path.basename(descriptor) if n == b"" else n] for n in names]
            handle.open_extent_data_files_as_file_objects(extent_files)
            return handle

        handle, files = _open_with(self.name, segments, make)
        return Media(self.name, handle, files, list(segments), handle.get_media_size())

    def library_version(self) -> str:
        return f"libvmdk {library('pyvmdk').get_version()}"


def _has_parent(handle: Any) -> bool:
    try:
        return bool(handle.get_parent_content_identifier())
    except Exception:
        return False


class _SingleFileFormat:
    """A format whose image is one file read by a libyal `file`-like class."""

    name = ""
    module = ""
    suffixes: tuple[bytes, ...] = ()

    def starts_image(self, name: bytes) -> bool:
        return name.lower().endswith(self.suffixes)

    def recognise(self, path: bytes) -> bool:
        return _check(self.module, path)

    def segments(self, path: bytes) -> list[bytes]:
        return [path]

    def _handle(self, lib: ModuleType) -> Any:
        raise NotImplementedError

    def _refuse(self, handle: Any) -> None:
        """Raise `ImageError` for an image this adapter cannot read whole (parent needed,
        encrypted)."""

    def open(self, segments: Sequence[bytes]) -> Media:
        lib = library(self.module)

        def make(files: list[BinaryIO]) -> Any:
            handle = self._handle(lib)
            handle.open_file_object(files[0])
            try:
                self._refuse(handle)
            except ImageError:
                handle.close()
                raise
            return handle

        handle, files = _open_with(self.name, segments, make)
        return Media(self.name, handle, files, list(segments), handle.get_media_size())

    def library_version(self) -> str:
        lib = library(self.module)
        return f"{self.module.replace('py', 'lib', 1)} {lib.get_version()}"


class VhdFormat(_SingleFileFormat):
    """Microsoft VHD (fixed, dynamic) and VHDX. Differencing disks need their parent."""

    name = "vhd"
    module = "pyvhdi"
    suffixes = (b".vhd", b".vhdx", b".avhd", b".avhdx")

    def _handle(self, lib: ModuleType) -> Any:
        return lib.file()

    def _refuse(self, handle: Any) -> None:
        if handle.get_disk_type() == library("pyvhdi").disk_types.DIFFERENTIAL:
            parent = handle.get_parent_filename()
            raise ImageError(
                UNSUPPORTED_IMAGE, f"VHD differencing disk: needs its parent {parent!r}"
            )


class QcowFormat(_SingleFileFormat):
    """QEMU copy-on-write v1–v3. Images with a backing file or encryption are not opened."""

    name = "qcow"
    module = "pyqcow"
    suffixes = (b".qcow", b".qcow2", b".qcow3", b".qcow2c")

    def _handle(self, lib: ModuleType) -> Any:
        return lib.file()

    def _refuse(self, handle: Any) -> None:
        if handle.is_locked():
            raise ImageError(ENCRYPTED_IMAGE, "QCOW image encrypted (AES): no key, not read")
        backing = handle.get_backing_filename()
        if backing:
            raise ImageError(UNSUPPORTED_IMAGE, f"QCOW image with a backing file {backing!r}")
