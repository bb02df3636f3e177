"""A valid 7z whose header holds a kArchiveProperties block (7zFormat.txt: after kHeader,
`kArchiveProperties {PropertyType, UINT64 size, data}* 0`), which 7-Zip reads and skips and
py7zr refuses ("end id expected"). The block is inserted into the unencoded header of a
py7zr-made archive of benign bytes, with both header CRCs fixed; 7-Zip (Debian `7zip`) then
lists and reads it."""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import zlib

import py7zr
import pytest

from vigil.config import Limits
from vigil.evidence.formats import sevenzip
from vigil.model import Entry, Locator, Status, Task
from vigil.pipeline.worker import process_task

needs_7zip = pytest.mark.skipif(
    shutil.which("7zz") is None and shutil.which("7z") is None,
    reason="7-Zip (Debian package 7zip) not installed",
)
FILES = {"a.txt": b"alpha\n" * 100, "dir/b.txt": b"beta\n" * 10, "empty.txt": b""}
PROPERTIES = b"\x02" + b"\x19\x03abc" + b"\x00"  # one property, type 0x19, 3 bytes; end


def with_archive_properties(block: bytes = PROPERTIES) -> bytes:
    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as sz:
        sz.set_encoded_header_mode(False)
        for name, data in FILES.items():
            sz.writestr(data, name)
    raw = bytearray(out.getvalue())
    offset, size = struct.unpack_from("<QQ", raw, 12)
    header = 32 + offset
    assert raw[header] == 0x01  # kHeader: the properties block follows it directly
    raw[header + 1 : header + 1] = block
    size += len(block)
    struct.pack_into("<QQL", raw, 12, offset, size, zlib.crc32(raw[header : header + size]))
    struct.pack_into("<L", raw, 8, zlib.crc32(raw[12:32]))
    return bytes(raw)


def _run(tmp_path, data: bytes):
    (tmp_path / "p.7z").write_bytes(data)
    task = Task(1, str(tmp_path), Locator(b"p.7z"), Entry.FILE, len(data))
    return process_task(task, Limits())


def test_py7zr_refuses_the_header_this_test_relies_on():
    with pytest.raises(py7zr.exceptions.Bad7zFile, match="end id expected"):
        py7zr.SevenZipFile(io.BytesIO(with_archive_properties()))


@needs_7zip
def test_archive_properties_are_read_through_7zip(tmp_path):
    archive, *members = _run(tmp_path, with_archive_properties())
    assert archive.status is Status.OK, archive.error
    assert {m.locator.name: (m.status, m.sha256, m.size) for m in members} == {
        b"a.txt": (Status.OK, hashlib.sha256(FILES["a.txt"]).hexdigest(), 600),
        b"dir/b.txt": (Status.OK, hashlib.sha256(FILES["dir/b.txt"]).hexdigest(), 50),
        b"empty.txt": (Status.SKIPPED, hashlib.sha256(b"").hexdigest(), 0),
    }
    assert all(m.mtime is not None for m in members)


@needs_7zip
def test_archive_properties_in_a_7z_held_in_memory_are_read_from_a_spool(build, tmp_path):
    seen, error = build.read_all(with_archive_properties(), "7z")  # in memory
    assert error is None
    assert {s.name: s.content for s in seen} == {n.encode(): d for n, d in FILES.items()}


def test_without_7zip_the_archive_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(sevenzip, "find_binary", lambda: None)
    (archive,) = _run(tmp_path, with_archive_properties())
    assert archive.status is Status.ERROR
    assert archive.error is not None
    assert archive.error.startswith("corrupt archive: end id expected")
    assert archive.error.endswith("install 7zip to try 7-Zip, which reads more headers")


@needs_7zip
def test_a_header_neither_reads_gives_both_reasons(tmp_path):
    broken = b"\x02" + b"\x19\xff\xff\xff\xff" + b"\x00"  # a property longer than the header
    (archive,) = _run(tmp_path, with_archive_properties(broken))
    assert archive.status is Status.ERROR
    assert archive.error is not None
    assert archive.error.startswith("corrupt archive: ")
    assert "7-Zip exit 2" in archive.error
