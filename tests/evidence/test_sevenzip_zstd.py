"""7z members compressed with zstd (method 04F71101, 7-Zip ZS, libarchive, py7zr). The
archives are written by py7zr itself from benign bytes."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tracemalloc
import zlib

import py7zr
import py7zr.compressor
import pytest
from py7zr import FILTER_ZSTD

from vigil.config import Limits
from vigil.evidence.archive import Budget, iter_archive
from vigil.evidence.formats.sevenzip_zstd import zstd
from vigil.model import Entry, Locator, Status, Task
from vigil.pipeline.worker import process_task

ZSTD = [{"id": FILTER_ZSTD}]
TEXT = b"zstd member\n" * 500
BINARY = bytes(range(256)) * 40 + os.urandom(5000)


def test_zstd_members_get_their_hashes(tmp_path, build):
    path = tmp_path / "z.7z"
    path.write_bytes(build.sevenzip([("a.txt", TEXT), ("b.bin", BINARY)], filters=ZSTD))
    task = Task(1, str(tmp_path), Locator(b"z.7z"), Entry.FILE, path.stat().st_size)
    archive, *members = process_task(task, Limits())
    assert archive.status is Status.OK
    assert {m.locator.name: (m.status, m.sha256, m.size) for m in members} == {
        b"a.txt": (Status.OK, hashlib.sha256(TEXT).hexdigest(), len(TEXT)),
        b"b.bin": (Status.OK, hashlib.sha256(BINARY).hexdigest(), len(BINARY)),
    }


class _FramePerCall:
    """A zstd writer that ends a frame on every call, as multi-threaded writers do: the
    packed stream is several complete frames back to back."""

    def __init__(self, level: int = 3) -> None:
        self._level = level

    def compress(self, data: bytes) -> bytes:
        half = len(data) // 2
        return b"".join(zstd.compress(part, self._level) for part in (data[:half], data[half:]))

    def flush(self) -> bytes:
        return b""


def test_a_member_of_several_zstd_frames_is_read_to_the_end(build, monkeypatch):
    _, decoder = py7zr.compressor.algorithm_class_map[FILTER_ZSTD]
    monkeypatch.setitem(py7zr.compressor.algorithm_class_map, FILTER_ZSTD, (_FramePerCall, decoder))
    data = build.sevenzip([("a.txt", TEXT), ("b.bin", BINARY)], filters=ZSTD)
    monkeypatch.undo()
    seen, error = build.read_all(data, "7z")
    assert error is None
    assert [(s.name, s.content, s.error) for s in seen] == [
        (b"a.txt", TEXT, None),
        (b"b.bin", BINARY, None),
    ]


def test_zstd_properties_naming_a_newer_zstd_are_read(build):
    """The frame format is frozen (RFC 8878); the writer's version in the coder properties
    does not make a member unreadable."""
    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", filters=ZSTD) as sz:
        sz.set_encoded_header_mode(False)
        sz.writestr(TEXT, "a.txt")
    raw = bytearray(out.getvalue())
    major, minor = zstd.zstd_version_info[:2]
    coder = b"\x24\x04\xf7\x11\x01\x05" + bytes([major, minor])  # 4-byte id, 5 props
    at = raw.index(coder)
    raw[at + 6 : at + 8] = bytes([major, minor + 9])
    offset, size = struct.unpack_from("<QQ", raw, 12)
    struct.pack_into("<L", raw, 28, zlib.crc32(raw[32 + offset : 32 + offset + size]))
    struct.pack_into("<L", raw, 8, zlib.crc32(raw[12:32]))
    seen, error = build.read_all(bytes(raw), "7z")
    assert error is None
    assert [(s.name, s.content, s.error) for s in seen] == [(b"a.txt", TEXT, None)]


@pytest.mark.parametrize("chunk", [1 << 16, 1 << 20])
def test_a_zstd_bomb_is_read_in_bounded_memory(build, chunk):
    """64 MiB of zeros packs into a few KB: one block of input must not be unpacked whole."""
    size = 64 << 20
    data = build.sevenzip([("zeros", bytes(size))], filters=ZSTD)
    budget = Budget(Limits(archive_max_ratio=1_000_000))
    members = iter_archive(
        io.BytesIO(data), "application/x-7z-compressed", name=b"z", budget=budget
    )
    member = next(members)  # py7zr's header parsing allocates ~16 MiB once: not measured
    read = 0
    tracemalloc.start()
    try:
        with member.open() as stream:
            while block := stream.read(chunk):
                read += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == size
    assert peak < 16 << 20
