import hashlib
import io
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.model import Entry, Kind, Locator, Status, Task
from vigil.pipeline.worker import process_task

LIMITS = Limits()


def run(path: Path, limits: Limits = LIMITS, entry: Entry = Entry.FILE):
    task = Task(1, str(path.parent), Locator(os.fsencode(path.name)), entry, path.lstat().st_size)
    return process_task(task, limits)


def test_jpeg_named_dat_is_an_image_with_all_hashes(tmp_path, jpeg_bytes):
    f = tmp_path / "notes.dat"
    f.write_bytes(jpeg_bytes)
    (rec,) = run(f)
    assert rec.status is Status.OK, rec.error
    assert rec.kind is Kind.IMAGE and rec.mime == "image/jpeg"
    assert rec.md5 == hashlib.md5(jpeg_bytes).hexdigest()
    assert rec.sha1 == hashlib.sha1(jpeg_bytes).hexdigest()
    assert rec.sha256 == hashlib.sha256(jpeg_bytes).hexdigest()
    assert (rec.width, rec.height) == (320, 240)
    assert len(rec.pdq) == 64 and 0 <= rec.pdq_quality <= 100
    assert len(rec.pdq_dihedral) == 8 and rec.pdq_dihedral[0] == rec.pdq
    assert rec.thumbnail.startswith(b"\xff\xd8")


def test_empty_file_is_skipped_with_hashes(tmp_path):
    f = tmp_path / "empty.jpg"
    f.write_bytes(b"")
    (rec,) = run(f)
    assert rec.status is Status.SKIPPED and rec.error == "empty file"
    assert rec.md5 == hashlib.md5(b"").hexdigest()


def test_random_bytes_named_jpg_are_flagged(tmp_path):
    f = tmp_path / "photo.jpg"
    f.write_bytes(os.urandom(5000))
    (rec,) = run(f)
    assert rec.kind is Kind.OTHER
    assert rec.status is Status.ERROR
    assert rec.error == "unrecognised content: the name claims image"
    assert rec.sha256 is not None


def test_truncated_jpeg_is_an_error_record(tmp_path, jpeg_bytes):
    f = tmp_path / "cut.jpg"
    f.write_bytes(jpeg_bytes[: len(jpeg_bytes) // 2])
    (rec,) = run(f)
    assert rec.kind is Kind.IMAGE
    assert rec.status is Status.ERROR and rec.error.startswith("truncated image")
    assert rec.md5 is not None and rec.pdq is None


def test_decompression_bomb_respects_the_configured_limit(tmp_path):
    f = tmp_path / "big.png"
    f.write_bytes(image_bytes(gradient_image(2, (400, 400)), "PNG"))
    (rec,) = run(f, Limits(max_image_pixels=10_000))
    assert rec.status is Status.ERROR and rec.error.startswith("decompression bomb")


def test_fifo_swapped_in_after_the_walk_does_not_hang(tmp_path):
    f = tmp_path / "was-a-file"
    os.mkfifo(f)
    task = Task(1, str(tmp_path), Locator(b"was-a-file"), Entry.FILE, 10)
    out = []
    t = threading.Thread(target=lambda: out.extend(process_task(task, LIMITS)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "worker blocked on a FIFO"
    assert out[0].status is Status.SKIPPED


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (Entry.FIFO, "fifo: not opened"),
        (Entry.SYMLINK, "symlink: recorded, not followed"),
        (Entry.DEVICE, "device file: not opened"),
        (Entry.SOCKET, "socket: not opened"),
    ],
)
def test_special_entries_are_never_opened(tmp_path, entry, reason):
    task = Task(1, str(tmp_path), Locator(b"x"), entry, 0, link_target="/etc/passwd")
    (rec,) = process_task(task, LIMITS)
    assert rec.status is Status.SKIPPED and rec.error == reason
    assert rec.md5 is None and rec.link_target == "/etc/passwd"


def test_file_that_vanished_after_the_walk(tmp_path):
    task = Task(1, str(tmp_path), Locator(b"gone.jpg"), Entry.FILE, 10)
    (rec,) = process_task(task, LIMITS)
    assert rec.status is Status.ERROR and rec.error.startswith("file vanished")


class _FailsAfterFirstRead:
    def __init__(self, f):
        self._f, self._reads = f, 0

    def read(self, n=-1):
        self._reads += 1
        if self._reads > 1:
            raise OSError(5, "Input/output error")
        return self._f.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def test_read_error_mid_file_is_recorded(tmp_path, monkeypatch):
    f = tmp_path / "bad-sector.bin"
    f.write_bytes(os.urandom(3 << 20))
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FailsAfterFirstRead(real(*a, **k)))
    (rec,) = run(f)
    assert rec.status is Status.ERROR and rec.error == "read error: Input/output error"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_nested_archives_give_a_record_per_member(tmp_path, jpeg_bytes):
    inner = _zip({"dir/x.jpg": jpeg_bytes, "../escape.txt": b"hello"})
    f = tmp_path / "outer.tgz"
    f.write_bytes(_tgz({"inner.zip": inner, "/abs/readme.txt": b"text"}))
    records = {r.path: r for r in run(f)}
    assert set(records) == {
        "outer.tgz",
        "outer.tgz!inner.zip",
        "outer.tgz!inner.zip!dir/x.jpg",
        "outer.tgz!inner.zip!../escape.txt",
        "outer.tgz!/abs/readme.txt",
    }
    assert records["outer.tgz"].kind is Kind.ARCHIVE
    img = records["outer.tgz!inner.zip!dir/x.jpg"]
    assert (
        img.kind is Kind.IMAGE and img.pdq and img.sha256 == hashlib.sha256(jpeg_bytes).hexdigest()
    )
    assert all(r.status is Status.OK for r in records.values()), records
    assert not (tmp_path.parent / "escape.txt").exists()


def test_nesting_deeper_than_the_limit_is_not_opened(tmp_path, jpeg_bytes):
    data = jpeg_bytes
    for level in range(4):
        data = _zip({f"level{level}.bin": data})
    f = tmp_path / "deep.zip"
    f.write_bytes(data)
    records = {r.path: r for r in run(f, Limits(archive_max_depth=2))}
    deepest = "deep.zip!level3.bin!level2.bin"
    assert records[deepest].status is Status.SKIPPED
    assert "archive_max_depth" in records[deepest].error
    assert not any(p.startswith(deepest + "!") for p in records)


def test_archive_bomb_is_stopped_and_recorded(tmp_path):
    f = tmp_path / "bomb.zip"
    f.write_bytes(_zip({"zeros.bin": bytes(30 << 20), "ok.txt": b"fine"}))
    records = {r.path: r for r in run(f, Limits(archive_max_ratio=100))}
    assert records["bomb.zip!zeros.bin"].status is Status.ERROR
    assert "bomb" in records["bomb.zip!zeros.bin"].error
    assert records["bomb.zip!ok.txt"].status is Status.OK
