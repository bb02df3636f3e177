"""Disk images built in the tests with Debian's tools, holding benign generated pictures, and
the unit tests of the pieces that need no image (signatures, locators).

Each builder skips the test, naming the Debian package, when its tool is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.helpers import gradient_image, image_bytes
from vigil.evidence.disk.signatures import encryption, file_system, looks_like_raw_disk
from vigil.model import FsEntry, Locator

PACKAGES = {
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mmd": "mtools",
    "mdel": "mtools",
    "mkfs.ext4": "e2fsprogs",
    "debugfs": "e2fsprogs",
    "dumpe2fs": "e2fsprogs",
    "sfdisk": "fdisk",
    "ewfacquire": "ewf-tools",
    "qemu-img": "qemu-utils",
    "mkntfs": "ntfs-3g",
    "ntfscp": "ntfs-3g",
    "mkfs.exfat": "exfatprogs",
    "genisoimage": "genisoimage",
    "mkapfs": "apfsprogs",
    "parted": "parted",
    "cryptsetup": "cryptsetup-bin",
}
MiB = 1 << 20
SECTOR = 512


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package {PACKAGES[name]})")
    return found


def run(*args: str | os.PathLike, **kw) -> subprocess.CompletedProcess:
    cmd = [tool(str(args[0])), *map(str, args[1:])]
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def pictures(seed: int = 0, count: int = 4, folder: str = "DCIM") -> dict[str, bytes]:
    """Benign generated JPEG and PNG pictures by path, plus a text file."""
    out = {}
    for i in range(count):
        img = gradient_image(seed + i, (200 + 8 * i, 150))
        fmt, ext = ("PNG", "png") if i % 3 == 2 else ("JPEG", "jpg")
        out[f"{folder}/IMG_{seed + i:04}.{ext}"] = image_bytes(img, fmt)
    out["notes.txt"] = f"benign test notes {seed}\n".encode()
    return out


def write_tree(root: Path, files: Mapping[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def fat(path: Path, files: Mapping[str, bytes], *, size: int = 16 * MiB, deleted=()) -> Path:
    """A FAT volume (mkfs.vfat + mtools; FAT16 at the default size, FAT32 from 40 MiB)
    holding `files`; `deleted` are written, then deleted with mdel, so only their directory
    entries' first byte changes."""
    tool("mkfs.vfat")
    with open(path, "wb") as f:
        f.truncate(size)
    bits = ["-F", "32"] if size >= 40 * MiB else []
    run("mkfs.vfat", *bits, "-n", "VIGILTEST", path)
    made: set[str] = set()
    for rel, data in files.items():
        parts = rel.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder not in made:
                run("mmd", "-i", path, f"::/{folder}")
                made.add(folder)
        src = path.parent / f".{path.name}.src"
        src.write_bytes(data)
        run("mcopy", "-i", path, src, f"::/{rel}")
        src.unlink()
    for rel in deleted:
        run("mdel", "-i", path, f"::/{rel}")
    return path


def ext4(path: Path, files: Mapping[str, bytes], *, size: int = 16 * MiB, deleted=()) -> Path:
    """An ext4 volume made from a folder (mkfs.ext4 -d); `deleted` are removed with debugfs,
    which frees the inode but leaves its extents, so The Sleuth Kit can recover them."""
    src = write_tree(path.parent / f".{path.name}.src", files)
    run("mkfs.ext4", "-q", "-F", "-d", src, path, f"{size // 1024}k")
    shutil.rmtree(src)
    for rel in deleted:
        run("debugfs", "-w", "-R", f"rm /{rel}", path)
    return path


def ntfs(path: Path, files: Mapping[str, bytes], *, size: int = 16 * MiB) -> Path:
    """An NTFS volume (mkntfs) with `files` copied into its root by ntfscp (no mount)."""
    tool("mkntfs")
    with open(path, "wb") as f:
        f.truncate(size)
    run("mkntfs", "-q", "-F", "-f", path)
    for rel, data in files.items():
        src = path.parent / f".{path.name}.src"
        src.write_bytes(data)
        run("ntfscp", "-f", path, src, rel.replace("/", "_"))
        src.unlink()
    return path


def iso(path: Path, files: Mapping[str, bytes]) -> Path:
    src = write_tree(path.parent / f".{path.name}.src", files)
    run("genisoimage", "-quiet", "-R", "-J", "-o", path, src)
    shutil.rmtree(src)
    return path


def disk(path: Path, volumes: list[Path | int], *, label: str = "dos") -> Path:
    """A partitioned disk (sfdisk, MBR `dos` or `gpt`) with each volume image copied into a
    partition of its size (an int: an empty partition of that many bytes)."""
    start = 2048
    lines, layout = [f"label: {label}"], []
    for volume in volumes:
        size = volume if isinstance(volume, int) else volume.stat().st_size
        sectors = -(-size // SECTOR)
        lines.append(f"start={start}, size={sectors}")
        layout.append((start, volume))
        start += sectors + 2048 - sectors % 2048
    with open(path, "wb") as f:
        f.truncate((start + 2048) * SECTOR)
    run("sfdisk", "-q", path, input="\n".join(lines).encode() + b"\n")
    with open(path, "r+b") as out:
        for first, volume in layout:
            if isinstance(volume, Path):
                out.seek(first * SECTOR)
                out.write(volume.read_bytes())
    return path


def apfs(path: Path, *, label: str = "Evidence", size: int = 600 * MiB) -> Path:
    """An empty APFS container (mkapfs, sparse; it refuses small ones) with one volume named
    `label`. Nothing here can write a file into APFS: apfsprogs has no writer, apfs-fuse
    reads only and the kernel module is absent."""
    tool("mkapfs")
    with open(path, "wb") as f:
        f.truncate(size)
    run("mkapfs", "-L", label, path)
    return path


def extents(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of the parts of a sparse file that hold data (SEEK_DATA/SEEK_HOLE)."""
    found = []
    with open(path, "rb") as f:
        end, at = os.fstat(f.fileno()).st_size, 0
        while at < end:
            try:
                start = os.lseek(f.fileno(), at, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            at = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            found.append((start, at - start))
    return found


def sparse_copy(source: Path, target: Path, offset: int, *, limit: int | None = None) -> None:
    """Copy the data of sparse `source` (its first `limit` bytes) into `target` from byte
    `offset`, so a 600 MiB container with a few blocks in use costs a few writes."""
    with open(source, "rb") as src, open(target, "r+b") as out:
        for start, length in extents(source):
            if limit is not None:
                length = min(length, limit - start)
            if length > 0:
                src.seek(start)
                out.seek(offset + start)
                out.write(src.read(length))


def e01(
    raw: Path, target: Path, *, segment: int | None = None, compression: str = "none"
) -> list[Path]:
    """An EnCase 6 image of `raw` (ewfacquire, MD5 + SHA-1 stored, no compression unless
    `compression` is an ewfacquire level: `fast`, `best`), split into segments of `segment`
    bytes (1 MiB at least); returns the segment files."""
    args = ["-u", "-q", "-d", "sha1", "-c", compression, "-t", target.with_suffix("")]
    if segment:
        args += ["-S", str(segment)]
    run("ewfacquire", *args, raw)
    return sorted(target.parent.glob(target.with_suffix("").name + ".E*"))


def qemu(raw: Path, target: Path, fmt: str, *options: str) -> Path:
    run("qemu-img", "convert", "-O", fmt, *options, raw, target)
    return target


def test_signatures_of_volumes():
    boot = bytearray(SECTOR * 140)
    assert encryption(bytes(boot)) is None and not looks_like_raw_disk(bytes(boot))
    boot[3:11] = b"-FVE-FS-"
    assert encryption(bytes(boot)) == "BitLocker" and looks_like_raw_disk(bytes(boot))
    luks = b"LUKS\xba\xbe\x00\x02" + bytes(4096)
    assert encryption(luks) == "LUKS"
    ntfs_boot = b"\xebR\x90NTFS    " + bytes(600)
    assert file_system(ntfs_boot) == "NTFS"
    mbr = bytearray(SECTOR)
    mbr[510:] = b"\x55\xaa"
    assert looks_like_raw_disk(bytes(mbr))


def test_locator_of_a_file_in_an_image_round_trips_and_reads_well():
    inside = FsEntry("p2", 1048576, b"Users/x/Pictures/a.jpg", 4711)
    loc = Locator(b"disk.E01", (inside,))
    member = loc.child(b"inner/\xffb.jpg")
    assert loc.text == "disk.E01!p2/Users/x/Pictures/a.jpg"
    assert member.text == "disk.E01!p2/Users/x/Pictures/a.jpg!inner/\\xffb.jpg"
    for value in (loc, member, Locator(b"disk.dd", (FsEntry("fs", 0),))):
        assert Locator.from_raw(value.raw) == value
    assert loc.name == b"Users/x/Pictures/a.jpg" and member.name == b"inner/\xffb.jpg"
    assert loc.top == member.top == loc.raw and loc.fs_entry == inside
    # a folder item's locator is as before: its top is its relative path
    plain = Locator(b"a.zip", (b"x.jpg",))
    assert plain.top == b"a.zip" and plain.raw == b"\0\0\0\5a.zip\0\0\0\5x.jpg"
    assert Locator(b"disk.dd", (FsEntry("fs", 0),)).text == "disk.dd!fs"
