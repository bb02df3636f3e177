"""7z members py7zr cannot decode (BCJ2, ARM64, RISC-V filters) are read by 7-Zip's `7zz`.
The archives are made by 7-Zip itself from benign bytes, so these tests need it installed
(Debian: `apt-get install 7zip`)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from vigil.config import Limits
from vigil.evidence.archive import Budget, iter_archive
from vigil.evidence.formats import sevenzip

EXE = shutil.which("7zz") or shutil.which("7z")
needs_7zip = pytest.mark.skipif(EXE is None, reason="7-Zip (Debian package 7zip) not installed")
PROGRAM = bytes(range(256)) * 64 + os.urandom(4096)  # filter input: any bytes will do
TEXT = b"hello world\n"


def seven_zip(tmp_path, switches: list[str]) -> bytes:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "prog.bin").write_bytes(PROGRAM)
    (src / "a.txt").write_bytes(TEXT)
    target = tmp_path / "made.7z"
    assert EXE is not None
    subprocess.run(
        [EXE, "a", "-bd", "-y", *switches, str(target), "prog.bin", "a.txt"],
        cwd=src, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return target.read_bytes()


@needs_7zip
@pytest.mark.parametrize(
    "switches", [["-m0=BCJ2", "-m1=LZMA"], ["-mf=ARM64"], ["-mf=RISCV"]], ids=str
)
def test_filtered_members_are_read_by_7zip_from_a_private_spool(
    build, tmp_path, monkeypatch, switches
):
    data = seven_zip(tmp_path, switches)
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(spool_dir))
    seen, error = build.read_all(data, "7z")  # in memory, as a member of another archive
    assert error is None
    assert {s.name: (s.content, s.error) for s in seen} == {
        b"prog.bin": (PROGRAM, None),
        b"a.txt": (TEXT, None),
    }
    assert list(spool_dir.iterdir()) == []  # the spooled copy is gone


@needs_7zip
def test_a_7z_on_disk_is_read_in_place_without_a_spool(tmp_path, monkeypatch):
    path = tmp_path / "evidence.7z"
    path.write_bytes(seven_zip(tmp_path, ["-m0=BCJ2", "-m1=LZMA"]))
    path.chmod(0o444)

    def no_spool(**kwargs):
        raise AssertionError("spooled an archive that is a file of its own")

    monkeypatch.setattr("tempfile.mkstemp", no_spool)
    with path.open("rb") as stream:
        members = iter_archive(
            stream, "application/x-7z-compressed", name=b"e", budget=Budget(Limits())
        )
        assert {m.name: m.open().read() for m in members} == {b"prog.bin": PROGRAM, b"a.txt": TEXT}


@needs_7zip
def test_without_7zip_the_member_says_what_to_install(build, tmp_path, monkeypatch):
    data = seven_zip(tmp_path, ["-m0=BCJ2", "-m1=LZMA"])
    monkeypatch.setattr(sevenzip, "find_binary", lambda: None)
    seen, error = build.read_all(data, "7z")
    assert error is None
    reason = "unsupported compression method BCJ2: install 7zip to decode it"
    assert {s.name: (s.content, s.error) for s in seen} == {
        b"prog.bin": (None, reason),
        b"a.txt": (None, reason),
    }


@needs_7zip
def test_data_7zip_rejects_is_a_member_error(build, tmp_path):
    data = bytearray(seven_zip(tmp_path, ["-m0=BCJ2", "-m1=LZMA"]))
    data[32 + 200] ^= 0xFF  # inside the packed streams, before the header
    seen, error = build.read_all(bytes(data), "7z")
    assert error is None
    assert sorted(s.name for s in seen) == [b"a.txt", b"prog.bin"]
    assert any(s.error == "corrupt member" for s in seen)
