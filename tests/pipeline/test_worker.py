import hashlib
import io
import os
import struct
import tarfile
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.model import Entry, Kind, Locator, Status, Task
from vigil.pipeline import worker
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


# --- every entry is an occurrence; sizes and hashes are of the bytes read -------------------


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    """As GNU tar writes an archive updated with `tar -rf`: the same name appended again."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_tar_entries_with_one_name_each_get_a_record(tmp_path):
    f = tmp_path / "a.tar"
    members = [("notes.txt", b"v1"), ("notes.txt;2", b"real"), ("notes.txt", b"v2")]
    f.write_bytes(_tar([*members, ("notes.txt", b"v3")]))
    records = run(f)
    assert [(r.path, r.sha256) for r in records[1:]] == [
        ("a.tar!notes.txt", _sha256(b"v1")),
        ("a.tar!notes.txt;2", _sha256(b"real")),
        ("a.tar!notes.txt;3", _sha256(b"v2")),  # ;2 is taken by a member really so named
        ("a.tar!notes.txt;4", _sha256(b"v3")),
    ]
    assert len({r.locator.raw for r in records}) == len(records)  # the store's unique key


def test_zip_duplicate_central_directory_names_each_get_a_record(tmp_path):
    buf = io.BytesIO()
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(buf, "w") as z:
        z.writestr("dup.txt", b"first")
        z.writestr("dup.txt", b"second")
    f = tmp_path / "d.zip"
    f.write_bytes(buf.getvalue())
    records = run(f)
    assert [(r.path, r.sha256) for r in records[1:]] == [
        ("d.zip!dup.txt", _sha256(b"first")),
        ("d.zip!dup.txt;2", _sha256(b"second")),
    ]


def test_7z_duplicate_names_each_get_a_record(tmp_path):
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as sz:
        sz.writestr(b"first", "dup.txt")
        sz.writestr(b"second", "dup.txt")
    f = tmp_path / "d.7z"
    f.write_bytes(buf.getvalue())
    records = run(f)
    assert [(r.path, r.sha256) for r in records[1:]] == [
        ("d.7z!dup.txt", _sha256(b"first")),
        ("d.7z!dup.txt;2", _sha256(b"second")),
    ]


def test_member_size_is_what_was_read_not_a_lying_header(tmp_path):
    """A damaged zip (no central directory) whose local header declares "0000" as sizes:
    808,464,432 bytes from a few dozen."""
    payload = b"hello, evidence\n"
    data = bytearray(_zip_stored({"a.txt": payload}))
    data = data[: data.index(b"PK\x01\x02")]
    struct.pack_into("<LL", data, 18, 0x30303030, 0x30303030)
    f = tmp_path / "lie.zip"
    f.write_bytes(bytes(data))
    _, member = run(f)
    assert member.status is Status.ERROR and "truncated archive" in member.error
    assert member.size == len(payload)


def _zip_stored(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_highly_compressible_member_is_hashed_but_flagged(tmp_path):
    """1.5 MB that deflates about 1000:1 (padding-heavy executables do): over the default
    ratio, but every byte was read within the byte budget, so it is hashed."""
    content = b"\x90" * (1536 * 1024)
    f = tmp_path / "tools.zip"
    f.write_bytes(_zip({"setup.exe": content, "ok.txt": b"fine"}))
    _, exe, ok = run(f)
    assert exe.status is Status.ERROR and exe.error.startswith("archive bomb")
    assert exe.sha256 == _sha256(content) and exe.md5 == hashlib.md5(content).hexdigest()
    assert exe.size == len(content)
    assert ok.status is Status.OK


def test_ratio_verdict_stops_descent_not_hashing(tmp_path):
    inner = _zip_stored({"zeros.bin": bytes(4 << 20)})
    f = tmp_path / "outer.zip"
    f.write_bytes(_zip({"inner.zip": inner}))
    records = {r.path: r for r in run(f)}
    assert set(records) == {"outer.zip", "outer.zip!inner.zip"}  # not opened
    rec = records["outer.zip!inner.zip"]
    assert rec.error.startswith("archive bomb") and rec.sha256 == _sha256(inner)


def test_member_with_a_bad_crc_keeps_its_hashes(tmp_path):
    content = b"bytes as stored " * 1000
    data = bytearray(_zip({"c.bin": content}))
    crc = struct.pack("<L", zlib.crc32(content))
    assert data.count(crc) == 2  # local header and central directory
    data = bytes(data).replace(crc, struct.pack("<L", zlib.crc32(content) ^ 1))
    f = tmp_path / "crc.zip"
    f.write_bytes(data)
    _, member = run(f)
    assert member.error == "corrupt member: CRC mismatch"
    assert member.sha256 == _sha256(content) and member.size == len(content)


# --- a crash while listing keeps what was listed --------------------------------------------


def _crashing_after(n: int, monkeypatch) -> None:
    """Make the member listing of every archive crash (a bug) after its `n`th member."""
    real = worker.iter_archive

    def crashing(*args, **kwargs):
        for i, member in enumerate(real(*args, **kwargs)):
            if i == n:
                raise RuntimeError("adapter bug")
            yield member

    monkeypatch.setattr(worker, "iter_archive", crashing)


def test_crash_while_listing_keeps_the_members_already_recorded(tmp_path, monkeypatch):
    f = tmp_path / "a.zip"
    f.write_bytes(_zip({"1.txt": b"one", "2.txt": b"two", "3.txt": b"three"}))
    _crashing_after(2, monkeypatch)
    top, *members = run(f)
    assert [m.path for m in members] == ["a.zip!1.txt", "a.zip!2.txt"]
    assert all(m.status is Status.OK and m.sha256 for m in members)
    assert top.status is Status.ERROR
    assert top.error == (
        "internal error: RuntimeError: adapter bug (2 member records kept, the rest not listed)"
    )


def test_crash_in_a_nested_archive_costs_only_its_rest(tmp_path, monkeypatch):
    inner = _zip({"x.txt": b"x", "y.txt": b"y"})
    f = tmp_path / "outer.zip"
    f.write_bytes(_zip({"inner.zip": inner, "after.txt": b"after"}))
    _crashing_after(1, monkeypatch)  # outer: inner.zip listed, then the crash
    records = {r.path: r for r in run(f)}
    assert "outer.zip!inner.zip!x.txt" in records
    assert records["outer.zip!inner.zip"].error.endswith(
        "(1 member records kept, the rest not listed)"
    )
