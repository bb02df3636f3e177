"""APFS read through libyal's libfsapfs: containers made by mkapfs (empty: nothing here can
write a file into APFS), damaged ones, and the walk and reads over stand-in pyfsapfs objects
for what an empty container cannot show (files, links, loops, huge directories)."""

from __future__ import annotations

import io
import itertools
import json
import stat
from pathlib import Path

import pytest

from tests.evidence.test_disk_helpers import MiB, apfs, disk, extents, sparse_copy
from tests.evidence.test_disk_images import image_rows, make_case, rows, run_ingest
from vigil.config import Limits
from vigil.evidence.disk.apfs import ApfsStream, walk_apfs
from vigil.evidence.disk.filesystem import CANNOT_LIST, DIRECTORY_LOOP, LARGER_THAN_VOLUME
from vigil.evidence.disk.handles import OpenImages, open_entry
from vigil.evidence.disk.media import ImageError, MediaFile
from vigil.evidence.disk.volumes import Volume, apfs_index, apfs_label, container_volumes
from vigil.model import Entry, FsEntry, Locator, Task
from vigil.pipeline.worker import process_task

BLOCK = 4096


def damaged(container: Path, block: int) -> None:
    """Overwrite 64 bytes inside `block` (past its header's checksum and magic), so the
    object fails libfsapfs's checksum."""
    with open(container, "r+b") as f:
        f.seek(block * BLOCK + 64)
        f.write(b"\xff" * 64)


def block_of(container: Path, magic: bytes) -> int:
    """The first block whose object header carries `magic` (APFS object magics sit at byte
    32 of a block): where the test damages the image, not how Vigil reads it."""
    with open(container, "rb") as f:
        for start, length in extents(container):
            f.seek(start)
            data = f.read(length)
            for at in range(0, len(data), BLOCK):
                if data[at + 32 : at + 36] == magic:
                    return (start + at) // BLOCK
    raise AssertionError(f"no {magic!r} block")


@pytest.fixture(scope="module")
def container(tmp_path_factory) -> Path:
    return apfs(tmp_path_factory.mktemp("apfs") / "mac.img", label="Evidence")


def report_of(case: Path) -> dict:
    (row,) = image_rows(case)
    return json.loads(row["report"])


def test_an_apfs_container_lists_its_volume_by_name_and_walks_its_root(tmp_path, container):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "mac.img").hardlink_to(container)
    case = make_case(tmp_path)
    run_ingest(case, evidence / "mac.img")
    found = rows(case)
    # an empty volume: only the image's own record, no volume error, nothing unlisted
    assert set(found) == {"mac.img"}
    assert found["mac.img"]["status"] == "ok", found["mac.img"]["error"]
    (volume,) = report_of(case)["volumes"]
    assert volume == {
        "label": "apfs1",
        "offset": 0,
        "size": 600 * MiB,
        "description": "APFS volume 1 of 1: 'Evidence'",
        "file_system": "APFS",
        "problem": None,
        "encrypted": False,
        "warning": None,
    }


def test_an_apfs_container_in_a_gpt_partition_is_read_at_its_offset(tmp_path, container):
    (tmp_path / "evidence").mkdir()
    raw = disk(tmp_path / "evidence" / "mac.raw", [container.stat().st_size], label="gpt")
    sparse_copy(container, raw, 2048 * 512)
    case = make_case(tmp_path)
    run_ingest(case, raw)
    found = rows(case)
    assert set(found) == {"mac.raw"}, found
    report = report_of(case)
    assert report["partition_table"] == "GPT"
    labels = [(v["label"], v["offset"], v["file_system"]) for v in report["volumes"]]
    assert labels == [("p1.apfs1", 1 * MiB, "APFS")]


def test_a_damaged_container_superblock_is_an_error_record_with_libfsapfs_reason(
    tmp_path, container
):
    raw = _empty(tmp_path / "evidence" / "mac.img")
    sparse_copy(container, raw, 0)
    damaged(raw, 0)  # the NXSB magic stays, so it is still recognised as APFS
    case = make_case(tmp_path)
    run_ingest(case, raw)
    found = rows(case)
    assert found["mac.img"]["status"] == "ok"
    error = found["mac.img!fs"]["error"]
    assert found["mac.img!fs"]["status"] == "error"
    assert error.startswith("corrupt file system: looks like an APFS container, but libfsapfs")
    assert "checksum" in error


def test_a_damaged_volume_superblock_is_an_error_record_on_that_volume(tmp_path, container):
    raw = _empty(tmp_path / "evidence" / "mac.img")
    sparse_copy(container, raw, 0)
    damaged(raw, block_of(raw, b"APSB"))
    case = make_case(tmp_path)
    run_ingest(case, raw)
    found = rows(case)
    rec = found["mac.img!apfs1"]
    assert rec["status"] == "error"
    assert rec["error"].startswith("corrupt file system: APFS volume 1 of 1, libfsapfs")
    assert "checksum" in rec["error"]
    (volume,) = report_of(case)["volumes"]
    assert volume["label"] == "apfs1" and volume["file_system"] is None


def _empty(path: Path, size: int = 600 * MiB) -> Path:
    path.parent.mkdir(exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_a_truncated_container_is_read_with_a_warning_on_its_volume(tmp_path, container):
    """mkapfs puts its metadata in the first 90 MiB: cut at 200 MiB, the volume still opens
    (and its root is walked) but says that the rest is missing."""
    raw = _empty(tmp_path / "evidence" / "mac.img", 200 * MiB)
    sparse_copy(container, raw, 0, limit=200 * MiB)
    case = make_case(tmp_path)
    run_ingest(case, raw)
    found = rows(case)
    assert set(found) == {"mac.img", "mac.img!apfs1"}
    assert found["mac.img!apfs1"]["error"] == (
        f"truncated file system: APFS container of {600 * MiB} bytes, the image holds "
        f"{200 * MiB} from its start; what lies past that cannot be read"
    )
    (volume,) = report_of(case)["volumes"]
    assert volume["file_system"] == "APFS" and volume["warning"].startswith("truncated")


def test_a_worker_reopens_an_apfs_volume_from_a_locator(tmp_path, container):
    """The worker's path: the container and volume opened from the locator alone, an inode
    read (the root directory: no data) and a missing one refused with libfsapfs's reason."""
    root = str(container.parent)
    at = FsEntry("apfs1", 0, b"", 2)
    stream = open_entry(root, Locator(b"mac.img", (at,)), "raw", deleted=False)
    assert isinstance(stream, ApfsStream) and stream.read() == b""
    ghost = Locator(b"mac.img", (FsEntry("apfs1", 0, b"ghost.jpg", 999),))
    with pytest.raises(OSError, match="cannot open inode 999"):
        open_entry(root, ghost, "raw", deleted=False)
    task = Task(1, root, ghost, Entry.FILE, 10, image_format="raw")
    (record,) = process_task(task, Limits())
    assert record.status == "error" and record.error.startswith("read error: cannot open inode")
    images = OpenImages()
    try:
        with pytest.raises(ImageError, match="APFS volume 2 at byte 0"):
            images.apfs_volume(bytes(container), "raw", 0, 1)
    finally:
        images.close()


def test_apfs_labels_name_the_container_and_the_volume():
    assert apfs_label("fs", 0) == "apfs1" and apfs_label("p3", 1) == "p3.apfs2"
    assert [apfs_index(x) for x in ("apfs1", "p3.apfs2", "p1", "fs", "apfs0")] == [
        0,
        1,
        None,
        None,
        None,
    ]


def test_a_media_file_reads_a_window_of_the_media():
    class Bytes:
        def __init__(self, data: bytes) -> None:
            self.data, self.size = data, len(data)

        def read(self, offset: int, n: int) -> bytes:
            return self.data[offset : offset + max(n, 0)]

    f = MediaFile(Bytes(bytes(range(100))), 10, 50)
    assert f.get_size() == 10 and f.read(4) == bytes([50, 51, 52, 53])
    f.seek(-2, io.SEEK_END)
    assert f.read() == bytes([58, 59]) and f.read(5) == b"" and f.tell() == 10


# Stand-ins for pyfsapfs's volume and file entries, for the walk's own logic.
DIR, REG, LNK = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o644, stat.S_IFLNK | 0o777


class FakeEntry:
    def __init__(self, name, identifier, mode, *, size=0, children=(), link=None, data=b""):
        self.name, self.identifier, self.file_mode, self.size = name, identifier, mode, size
        self.children = list(children)
        self.symbolic_link_target = link
        self.data = data

    @property
    def number_of_sub_file_entries(self) -> int:
        return len(self.children)

    def get_sub_file_entry(self, i: int) -> FakeEntry:
        return self.children[i]

    def get_modification_time_as_integer(self) -> int:
        return 1_700_000_000 * 10**9

    def read_buffer_at_offset(self, n: int, offset: int) -> bytes:
        return self.data[offset : offset + n]


class FakeVolume:
    def __init__(self, root: FakeEntry) -> None:
        self.root = root
        self.by_id: dict[int, FakeEntry] = {}
        todo = [root]
        while todo:
            e = todo.pop()
            if e.identifier not in self.by_id:
                self.by_id[e.identifier] = e
                todo.extend(e.children)

    def get_root_directory(self) -> FakeEntry:
        return self.root

    def get_file_entry_by_identifier(self, identifier: int) -> FakeEntry:
        if identifier not in self.by_id:
            raise OSError(f"unable to retrieve file entry: {identifier}")
        return self.by_id[identifier]


VOLUME = Volume("apfs1", 0, 1 * MiB, "APFS volume 1 of 1: 'x'", file_system="APFS")


def walked(volume: FakeVolume) -> dict[str, dict]:
    return {
        i.locator.text: {"entry": i.entry, "size": i.size, "error": i.error, "link": i.link_target}
        for i in walk_apfs(b"mac.img", VOLUME, volume)
    }


def test_the_apfs_walk_lists_files_links_loops_and_oversized_files():
    root = FakeEntry("root", 2, DIR)
    photos = FakeEntry("Photos", 20, DIR)
    photos.children = [
        FakeEntry("a.jpg", 21, REG, size=5),
        FakeEntry("a.jpg", 22, REG, size=6),  # a repeated name is told apart
        FakeEntry("up", 2, DIR),  # a directory linked back to the root
    ]
    root.children = [
        photos,
        FakeEntry("link", 30, LNK, link="Photos/a.jpg"),
        FakeEntry("huge.bin", 31, REG, size=2 * MiB),
        FakeEntry("odd", 32, 0),
        FakeEntry("fifo", 33, stat.S_IFIFO | 0o600),
    ]
    got = walked(FakeVolume(root))
    assert got["mac.img!apfs1/Photos/a.jpg"]["size"] == 5
    assert got["mac.img!apfs1/Photos/a.jpg;2"]["size"] == 6
    assert got["mac.img!apfs1/Photos/up"]["error"].startswith(DIRECTORY_LOOP)
    assert got["mac.img!apfs1/link"] == {
        "entry": Entry.SYMLINK,
        "size": 0,
        "error": None,
        "link": "Photos/a.jpg",
    }
    assert got["mac.img!apfs1/huge.bin"]["error"].startswith(LARGER_THAN_VOLUME)
    assert got["mac.img!apfs1/odd"]["error"].startswith("damaged metadata entry")
    assert got["mac.img!apfs1/fifo"]["entry"] is Entry.FIFO
    assert "mac.img!apfs1/Photos" not in got  # a listed directory has no record of its own


def test_an_apfs_directory_that_cannot_be_read_is_an_error_record():
    root = FakeEntry("root", 2, DIR, children=[FakeEntry("gone", 40, DIR)])
    volume = FakeVolume(root)
    del volume.by_id[40]
    got = walked(volume)
    assert got["mac.img!apfs1/gone"]["error"].startswith(CANNOT_LIST)
    assert "unable to retrieve file entry: 40" in got["mac.img!apfs1/gone"]["error"]


def test_an_apfs_listing_that_fails_midway_keeps_what_it_listed_and_says_where():
    class Failing(FakeEntry):
        number_of_sub_file_entries = 3

        def get_sub_file_entry(self, i: int) -> FakeEntry:
            if i == 1:
                raise OSError("unable to retrieve sub file entry: 1")
            return FakeEntry("first.jpg", 50, REG, size=3)

    got = walked(FakeVolume(Failing("root", 2, DIR)))
    assert got["mac.img!apfs1/first.jpg"]["size"] == 3
    assert got["mac.img!apfs1"]["error"] == (
        "cannot list directory: listing stopped at entry 1 of 3: "
        "unable to retrieve sub file entry: 1"
    )


def test_a_locked_apfs_volume_is_an_encrypted_volume_and_a_damaged_one_says_why():
    """libfsapfs's answers stood in for: no tool here makes an encrypted APFS volume."""

    class Apfs:
        def __init__(self, name: str, locked: bool) -> None:
            self.name, self.locked = name, locked

        def is_locked(self) -> bool:
            return self.locked

    class Container:
        number_of_volumes = 3

        def get_volume(self, i: int) -> Apfs:
            if i == 2:
                raise OSError("mismatch in checksum")
            return Apfs(["Macintosh HD", "Data"][i], locked=i == 1)

    whole = Volume("p2", 4096, 10 * MiB, "partition", file_system="APFS container")
    got = [
        (v.label, v.file_system, v.encrypted, v.problem)
        for v, _ in container_volumes(whole, Container())
    ]
    assert got == [
        ("p2.apfs1", "APFS", False, None),
        (
            "p2.apfs2",
            None,
            True,
            "encrypted volume: APFS (volume 'Data' is locked; no key: its files are not listed)",
        ),
        (
            "p2.apfs3",
            None,
            False,
            "corrupt file system: APFS volume 3 of 3, libfsapfs cannot open it "
            "(mismatch in checksum)",
        ),
    ]


def test_a_huge_apfs_directory_is_walked_one_entry_at_a_time():
    """Entries are fetched by index as the walk goes: the first items come after as many
    fetches, not after the whole directory is held."""

    class Huge(FakeEntry):
        fetched = 0

        @property
        def number_of_sub_file_entries(self) -> int:
            return 100_000

        def get_sub_file_entry(self, i: int) -> FakeEntry:
            Huge.fetched += 1
            return FakeEntry(f"f{i}", 100 + i, REG, size=1)

    items = walk_apfs(b"mac.img", VOLUME, FakeVolume(Huge("root", 2, DIR)))
    first = list(itertools.islice(items, 3))
    assert [i.locator.text for i in first] == [f"mac.img!apfs1/f{i}" for i in range(3)]
    assert Huge.fetched == 3


def test_an_apfs_stream_reads_its_file_and_refuses_a_short_one():
    entry = FakeEntry("a", 5, REG, size=10, data=b"0123456789")
    assert ApfsStream(entry, 10).read() == b"0123456789"
    short = ApfsStream(FakeEntry("b", 6, REG, size=10, data=b"0123"), 10)
    with pytest.raises(OSError, match="only 4 of 10 bytes"):
        short.read()
