"""Self-extracting zips: a stub of executable (30-500 KB in real ones) before the zip hides
every local header from the first bytes, so the zip is found from its end record. The stub
here is random bytes with no "PK" in it; the members are plain text."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile

from vigil.config import Limits
from vigil.media.sniff import OCTET_STREAM, SNIFF_BYTES, sniff, zip_tail
from vigil.model import Entry, Kind, Locator, Status, Task
from vigil.pipeline.worker import process_task

FILES = {"readme.txt": b"installer notes\n" * 40, "setup.ini": b"[setup]\nmode=quiet\n"}


def _stub(size: int) -> bytes:
    data = random.Random(7).randbytes(size)
    return data.replace(b"PK", b"pk")


def _zip(files: dict[str, bytes], comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.comment = comment
    return out.getvalue()


def _run(tmp_path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    task = Task(1, str(tmp_path), Locator(name.encode()), Entry.FILE, len(data))
    return process_task(task, Limits())


def test_a_zip_after_a_200_kb_stub_is_opened(tmp_path):
    stub = _stub(200 * 1024)
    assert sniff(stub[:SNIFF_BYTES]) == (OCTET_STREAM, Kind.OTHER)  # the head says nothing
    archive, *members = _run(tmp_path, "setup.exe", stub + _zip(FILES, comment=b"made by x"))
    assert (archive.status, archive.mime, archive.kind) == (
        Status.OK,
        "application/zip",
        Kind.ARCHIVE,
    )
    assert {m.locator.name: (m.status, m.sha256) for m in members} == {
        name.encode(): (Status.OK, hashlib.sha256(data).hexdigest()) for name, data in FILES.items()
    }


def test_a_self_extractor_inside_an_archive_says_why_it_is_not_opened(tmp_path):
    sfx = _stub(200 * 1024) + _zip(FILES)
    archive, member = _run(tmp_path, "bundle.zip", _zip({"setup.exe": sfx}))
    assert archive.status is Status.OK
    assert member.sha256 == hashlib.sha256(sfx).hexdigest()
    assert (member.status, member.mime) == (Status.SKIPPED, "application/zip")
    assert member.error is not None and member.error.startswith("self-extracting zip inside")


def test_a_stray_end_record_in_other_data_is_not_a_zip(tmp_path):
    """ "PK\\5\\6" whose central directory would lie past the record, or whose comment runs
    past the end, is data; the file stays what its head says."""
    beyond = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 1, 1, 46, 10**6, 0)
    long_comment = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 1, 1, 46, 0, 500)
    for end in (beyond, long_comment + b"x" * 10):
        data = _stub(100 * 1024) + end
        assert not zip_tail(data, len(data))
        (record,) = _run(tmp_path, "blob.bin", data)
        assert (record.status, record.mime) == (Status.OK, OCTET_STREAM)
