import os
import socket
import stat
from pathlib import Path

import pytest

from vigil.errors import EvidenceError
from vigil.evidence import folder
from vigil.evidence.folder import SourceRoot, walk
from vigil.model import Entry


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    (root / "b" / "c.bin").write_bytes(b"cc")
    (root / "b" / "deep" / "d").write_bytes(b"ddd")
    os.symlink("/etc", root / "outside")
    os.symlink("..", root / "b" / "loop")
    os.mkfifo(root / "pipe")
    with open(os.path.join(os.fsencode(root), b"caf\xe9.jpg"), "wb") as f:
        f.write(b"x")
    return root


def test_walk_lists_every_entry_without_following_links(tmp_path):
    root = _tree(tmp_path)
    items = {i.locator.relpath: i for i in walk(SourceRoot.resolve(str(root)))}
    assert set(items) == {
        b"a.txt",
        b"b/c.bin",
        b"b/deep/d",
        b"b/loop",
        b"outside",
        b"pipe",
        b"caf\xe9.jpg",
    }
    assert items[b"outside"].entry is Entry.SYMLINK
    assert items[b"outside"].link_target == "/etc"
    assert items[b"b/loop"].entry is Entry.SYMLINK
    assert items[b"pipe"].entry is Entry.FIFO
    assert items[b"b/deep/d"].size == 3
    assert items[b"caf\xe9.jpg"].locator.text == "caf\\xe9.jpg"


def test_walk_order_is_stable(tmp_path):
    root = _tree(tmp_path)
    first = [i.locator for i in walk(SourceRoot.resolve(str(root)))]
    assert first == [i.locator for i in walk(SourceRoot.resolve(str(root)))]


def test_socket_is_an_entry(tmp_path):
    root = tmp_path / "s"
    root.mkdir()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "sock"))
        (item,) = walk(SourceRoot.resolve(str(root)))
        assert item.entry is Entry.SOCKET
    finally:
        sock.close()


def test_device_file_is_an_entry(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    try:
        os.mknod(root / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD, which this sandbox lacks")
    (item,) = walk(SourceRoot.resolve(str(root)))
    assert item.entry is Entry.DEVICE and item.size == 0


def test_single_file_source_is_relative_to_its_folder(tmp_path):
    f = tmp_path / "one.jpg"
    f.write_bytes(b"1")
    source = SourceRoot.resolve(str(f))
    assert source.root == str(tmp_path)
    (item,) = walk(source)
    assert item.locator.relpath == b"one.jpg"


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(EvidenceError, match="cannot be read"):
        SourceRoot.resolve(str(tmp_path / "nope"))


def test_unlistable_directory_becomes_an_item(tmp_path, monkeypatch):
    root = _tree(tmp_path)
    real = os.scandir

    def scandir(path):
        if os.fsencode(path).endswith(b"/deep"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(folder.os, "scandir", scandir)
    items = {i.locator.relpath: i for i in walk(SourceRoot.resolve(str(root)))}
    assert items[b"b/deep"].entry is Entry.DIRECTORY
    assert items[b"b/deep"].error == "cannot list directory: Permission denied"
    assert b"b/deep/d" not in items
