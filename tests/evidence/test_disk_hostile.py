"""Damaged and hostile disk images: each ends in records that say what is wrong, the run goes
on, and nothing is skipped in silence. Corrupted and incomplete E01 segment sets, partition
tables pointing past the media, truncated and looping file systems, an encrypted volume, and
a huge sparse image whose walk reads only its metadata."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence.test_disk_helpers import SECTOR, MiB, disk, e01, ext4, fat, pictures, run
from tests.evidence.test_disk_images import image_rows, inside, make_case, rows, run_ingest, sha
from vigil.config import Limits
from vigil.evidence.disk.formats import RawFormat
from vigil.evidence.disk.media import Media
from vigil.evidence.disk.report import image_report
from vigil.evidence.disk.walk import walk_image
from vigil.evidence.folder import examine
from vigil.store import CaseStore
from vigil.store.schema import files as file_rows

FILES = pictures(20, 4)


@pytest.fixture(scope="module")
def usb(tmp_path_factory) -> Path:
    """An MBR disk of about 10 MiB: one FAT16 partition holding a few pictures at the start
    of its data area, zeros after them (as most of a seized disk is)."""
    tmp = tmp_path_factory.mktemp("usb")
    part = fat(tmp / "p1.fat", FILES, size=8 * MiB)
    raw = disk(tmp / "usb.raw", [part])
    part.unlink()
    return raw


def corrupt(path: Path, at: int, n: int = 4096) -> None:
    """`n` bytes at `at` overwritten with a pattern that is neither zeros nor valid zlib."""
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(bytes((i * 37 + 11) & 0xFF for i in range(n)))


def only_image(case: Path) -> dict:
    (row,) = image_rows(case)
    return row


@pytest.mark.parametrize("compression", ["none", "fast"])
def test_a_damaged_chunk_is_caught_even_where_the_hashes_still_match(tmp_path, usb, compression):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    segments = e01(usb, evidence / "usb.E01", segment=1 * MiB, compression=compression)
    intact, error = image_report(bytes(segments[0]), "ewf", Limits())
    assert error is None and intact["verification"] == "verified" and intact["damaged"] == []

    # the middle segment's middle: uncompressed, the sixth of a dozen, the zeros after the
    # pictures; compressed, the image is one small segment and the chunk may hold either
    target = segments[len(segments) // 2]
    corrupt(target, target.stat().st_size // 2)
    case = make_case(tmp_path)
    summary = run_ingest(case, evidence / "usb.E01")
    row = only_image(case)
    damaged = [(d["offset"], d["length"]) for d in json.loads(row["report"])["damaged"]]
    assert damaged and row["verification"] == "mismatch"
    assert row["detail"].startswith(f"{len(damaged)} range(s) fail their chunk checksums")
    # libewf reads a damaged chunk as zeros, so where zeros were acquired the media's hashes
    # still match the stored ones: this is how a corrupted segment once "verified"
    media = usb.read_bytes()
    were_zeros = all(not media[o : o + n].strip(b"\0") for o, n in damaged)
    assert were_zeros or compression != "none"
    assert (row["computed_md5"] == row["stored_md5"]) is were_zeros
    found = rows(case)
    assert found["usb.E01"]["status"] == "error"
    assert found["usb.E01"]["error"].startswith("damaged image data: ")
    # the run went on; a file is read right or fails loudly, never given the zeros' hashes
    files = inside(found, "usb.E01")
    for name, data in FILES.items():
        rec = files[f"p1/{name}"]
        assert rec["status"] == "error" or rec["sha256"] == sha(data), name
    errors = {k: v["error"] for k, v in files.items() if v["status"] == "error"}
    assert any(files[f"p1/{k}"]["status"] == "ok" for k in FILES)
    assert summary.by_status["error"] == 1 + len(errors)
    assert all("damaged image data: bytes " in e for e in errors.values()), errors
    # FAT's search for orphans reads every sector, so it meets the damage wherever it lies
    assert "p1/$OrphanFiles" in errors


@pytest.fixture(scope="module")
def segment_set(tmp_path_factory, usb) -> list[Path]:
    """The usb disk as an uncompressed E01 in 1 MiB segments (a dozen), made once."""
    return e01(usb, tmp_path_factory.mktemp("set") / "usb.E01", segment=1 * MiB)


def copy_set(segments: list[Path], folder: Path) -> list[Path]:
    folder.mkdir()
    return [Path(shutil.copy(s, folder / s.name)) for s in segments]


def test_a_truncated_last_segment_is_an_error_on_the_image_and_the_rest_is_read(
    tmp_path, segment_set
):
    segments = copy_set(segment_set, tmp_path / "ev")
    last = segments[-1]
    os.truncate(last, last.stat().st_size // 2)  # its end, with the stored hashes, is gone
    case = make_case(tmp_path)
    summary = run_ingest(case, segments[0])
    found = rows(case)
    assert found["usb.E01"]["error"].startswith(
        "unreadable disk image: incomplete segment set: libewf found no end to the last of "
        f"{len(segments)} (truncated, or later ones missing)"
    )
    assert only_image(case)["verification"] == "unreadable"
    assert found[last.name]["sha256"] == sha(last.read_bytes())  # still hashed as a file
    files = inside(found, "usb.E01")  # what lies before the cut is listed and read
    assert {k: files[f"p1/{k}"]["sha256"] for k in FILES} == {k: sha(v) for k, v in FILES.items()}
    assert summary.by_status["error"] == 1


def test_a_missing_middle_segment_is_an_error_on_the_image_and_the_others_are_hashed(
    tmp_path, segment_set
):
    segments = copy_set(segment_set, tmp_path / "ev")
    segments[4].unlink()
    case = make_case(tmp_path)
    summary = run_ingest(case, tmp_path / "ev")
    found = rows(case)
    beyond = ", ".join(s.name for s in segments[5:])
    assert found["usb.E01"]["error"] == (
        "unreadable disk image: ewf segments: the one after usb.E04 is missing, "
        f"yet {beyond} lie beside it"
    )
    assert only_image(case)["verification"] == "unreadable"
    for segment in segments[1:4] + segments[5:]:
        assert found[segment.name]["status"] == "ok"
        assert found[segment.name]["sha256"] == sha(segment.read_bytes())
    assert not inside(found, "usb.E01")  # an image with a hole is not walked
    assert summary.by_status["error"] == 1


def entry(kind: int, first: int, count: int) -> bytes:
    """One MBR primary entry (CHS left zero, as modern tools do)."""
    return struct.pack("<B3sB3sII", 0, bytes(3), kind, bytes(3), first, count)


def volume_rows(found: dict[str, dict], image: str) -> dict[str, str]:
    return {k: v["error"] for k, v in inside(found, image).items() if "/" not in k}


def test_mbr_entries_past_the_end_get_reasons_and_the_sound_partition_is_read(tmp_path):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    raw = disk(evidence / "bad.img", [fat(tmp_path / "p.fat", FILES, size=4 * MiB)])
    with open(raw, "r+b") as f:  # The Sleuth Kit refuses such a table whole
        f.seek(446 + 16)
        f.write(entry(0x83, 0x7FFFFFF0, 0x1000) + entry(0x07, 4096, 0xFFFFFF00))
    case = make_case(tmp_path)
    summary = run_ingest(case, evidence)
    found = rows(case)
    files = inside(found, "bad.img")
    assert {k: files[f"p1/{k}"]["sha256"] for k in FILES} == {k: sha(v) for k, v in FILES.items()}
    volumes = volume_rows(found, "bad.img")
    assert volumes["p2"].startswith("partition outside the image: starts at byte 1099511619584")
    assert volumes["p3"].startswith("no file system recognised: ")
    report = json.loads(only_image(case)["report"])
    assert report["partition_table"].startswith("DOS (The Sleuth Kit refused it: ")
    assert report["volumes"][2]["description"].endswith(f"past the {raw.stat().st_size}-byte image")
    assert summary.by_status["error"] == 2


def test_an_mbr_both_readers_refuse_is_named_in_the_report(tmp_path):
    """An extended partition past the end of the media: The Sleuth Kit and libvsmbr both
    refuse the whole table, the sound partition with it (Vigil reads no table by hand). The
    media reads as one volume, and the report says why its table was not used."""
    evidence = tmp_path / "ev"
    evidence.mkdir()
    raw = disk(evidence / "bad.img", [fat(tmp_path / "p.fat", FILES, size=4 * MiB)])
    with open(raw, "r+b") as f:
        f.seek(446 + 16)
        f.write(entry(0x05, 0x7FFFFFF0, 0x1000))
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    assert volume_rows(rows(case), "bad.img")["fs"].startswith("no file system recognised: ")
    table = json.loads(only_image(case)["report"])["partition_table"]
    assert table.startswith("DOS (The Sleuth Kit refused it: ")
    assert "; so did libvsmbr: " in table and "unable to read extended partition record" in table


def test_gpt_entries_the_sleuth_kit_drops_get_records_of_their_own(tmp_path):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    raw = disk(evidence / "bad.img", [fat(tmp_path / "p.fat", FILES, size=4 * MiB)], label="gpt")
    with open(raw, "r+b") as f:  # two more entries, past the end; the CRCs are now wrong
        f.seek(2 * SECTOR)
        kind = f.read(16)
        ghost = struct.pack("<QQ8s", 1 << 40, (1 << 40) + 4095, bytes(8)) + "ghost".encode(
            "utf-16-le"
        )
        f.seek(2 * SECTOR + 128)
        f.write(kind + bytes(range(16)) + ghost)
        f.seek(2 * SECTOR + 256)
        f.write(kind + bytes(range(16, 32)) + struct.pack("<QQ", 10240, 1 << 41))
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    found = rows(case)
    files = inside(found, "bad.img")
    assert {k: files[f"p1/{k}"]["sha256"] for k in FILES} == {k: sha(v) for k, v in FILES.items()}
    volumes = volume_rows(found, "bad.img")
    assert volumes["p2"].startswith(
        f"partition outside the image: starts at byte {(1 << 40) * SECTOR} "
    )
    assert volumes["p3"].startswith("no file system recognised: ")
    report = json.loads(only_image(case)["report"])
    assert report["partition_table"] == "GPT"
    # libvsgpt gives no entry's name ("ghost"): its index in the table and its type
    linux = "0fc63daf-8483-4772-8e79-3d69d8477de4"  # sfdisk's default type
    past = f"past the {raw.stat().st_size}-byte image"
    assert [v["description"] for v in report["volumes"][1:]] == [
        f"GPT entry 1, type {linux}, ends at byte {((1 << 40) + 4096) * SECTOR}, {past}",
        f"GPT entry 2, type {linux}, ends at byte {((1 << 41) + 1) * SECTOR}, {past}",
    ]


def test_a_gpt_libvsgpt_refuses_is_named_in_the_report(tmp_path):
    """An entry that ends before it starts: The Sleuth Kit lists it, libvsgpt refuses the
    table, so any entry TSK skipped could not be listed; the report says so."""
    evidence = tmp_path / "ev"
    evidence.mkdir()
    raw = disk(evidence / "bad.img", [fat(tmp_path / "p.fat", FILES, size=4 * MiB)], label="gpt")
    with open(raw, "r+b") as f:
        f.seek(2 * SECTOR)
        kind = f.read(16)
        f.seek(2 * SECTOR + 128)
        f.write(kind + bytes(range(16)) + struct.pack("<QQ", 10240, 10000))
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    files = inside(rows(case), "bad.img")
    assert {k: files[f"p1/{k}"]["sha256"] for k in FILES} == {k: sha(v) for k, v in FILES.items()}
    table = json.loads(only_image(case)["report"])["partition_table"]
    assert table.startswith("GPT (libvsgpt refused it, so no entry TSK skipped is listed: ")
    assert "end block number value out of bounds" in table


def test_a_truncated_raw_image_lists_what_it_holds_and_says_what_is_cut(tmp_path):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    filler, cut = bytes(range(256)) * 4096, bytes(range(255, -1, -1)) * 6144  # 1 + 1.5 MiB
    raw = fat(evidence / "cut.img", {"filler.bin": filler, "cut.bin": cut, **FILES})
    os.truncate(raw, 2 * MiB)  # the FAT says 16 MiB
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    found = rows(case)
    files = inside(found, "cut.img")
    assert files["fs/filler.bin"]["sha256"] == sha(filler)
    assert files["fs/cut.bin"]["status"] == "error"
    assert "missing in partial image" in files["fs/cut.bin"]["error"]
    # the pictures were written after the cut: their folder cannot be listed, and says so
    assert files["fs/DCIM"]["error"].startswith("cannot list directory: ")
    assert volume_rows(found, "cut.img")["fs"].startswith(
        "truncated file system: FAT16 of 16777216 bytes, the image holds 2097152"
    )


def test_a_fat_directory_that_contains_itself_is_listed_once(tmp_path):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    a_jpg, b_jpg = FILES["DCIM/IMG_0020.jpg"], FILES["DCIM/IMG_0021.jpg"]
    raw = fat(evidence / "loop.img", {"LOOPA/LOOPB/b.jpg": b_jpg, "LOOPA/a.jpg": a_jpg})
    data = bytearray(raw.read_bytes())
    # LOOPB's entry (in LOOPA's cluster) is pointed at LOOPA's cluster: LOOPB now holds
    # itself; its own cluster, with b.jpg's entry, is referenced by nothing any more
    loop_a = data.index(b"LOOPA      \x10")
    loop_b = data.index(b"LOOPB      \x10")
    data[loop_b + 26 : loop_b + 28] = data[loop_a + 26 : loop_a + 28]
    raw.write_bytes(bytes(data))
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    files = inside(rows(case), "loop.img")
    assert (
        files["fs/LOOPA/a.jpg"]["sha256"] == files["fs/LOOPA/LOOPB/a.jpg"]["sha256"] == sha(a_jpg)
    )
    assert files["fs/LOOPA/LOOPB/LOOPB"]["error"].startswith("directory already listed: entry ")
    assert not any(k.startswith("fs/LOOPA/LOOPB/LOOPB/") for k in files)  # the walk ended


def test_a_damaged_ext4_inode_table_gives_records_not_a_crash(tmp_path):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    files_in = {"keep/early.jpg": FILES["DCIM/IMG_0020.jpg"], **FILES}
    raw = ext4(evidence / "x.img", files_in)
    info = run("dumpe2fs", raw).stdout.decode()
    table = int(re.search(r"Inode table at (\d+)-", info).group(1))
    block = int(re.search(r"Block size:\s+(\d+)", info).group(1))
    inode = int(re.search(r"Inode size:\s+(\d+)", info).group(1))
    # inodes 13 … 20 (the files' and folders' after the first made) overwritten with garbage
    corrupt(raw, table * block + 12 * inode, 8 * inode)
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    found = inside(rows(case), "x.img")
    # every name still has a record, and one whose inode is garbage says so
    assert {"keep", "DCIM", "notes.txt"} <= {k.split("/")[1] for k in found}
    damaged = {k for k, v in found.items() if (v["error"] or "").startswith("damaged metadata")}
    assert {"fs/keep", "fs/notes.txt", "fs/DCIM/IMG_0021.jpg"} <= damaged
    for path, rec in found.items():
        if rec["status"] == "ok" and rec["size"]:  # what is read is right
            assert rec["sha256"] == sha(files_in[path.removeprefix("fs/")]), path
        assert rec["status"] == "ok" or rec["error"], path


def test_an_encrypted_partition_is_recorded_as_encrypted(tmp_path):
    # cryptsetup is seldom installed where the tests run: a LUKS1 header is written by
    # hand (magic, version, cipher names), which is all the detection reads
    evidence = tmp_path / "ev"
    evidence.mkdir()
    luks = tmp_path / "luks.bin"
    header = b"LUKS\xba\xbe\x00\x01" + b"aes".ljust(32, b"\0") + b"xts-plain64".ljust(32, b"\0")
    luks.write_bytes(header + bytes(range(256)) * 8192)  # 2 MiB of "ciphertext"
    disk(evidence / "crypt.img", [fat(tmp_path / "p.fat", FILES, size=4 * MiB), luks])
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    found = rows(case)
    volumes = volume_rows(found, "crypt.img")
    assert volumes["p2"] == "encrypted volume: LUKS (no key: its files are not listed)"
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        flagged = (
            conn.execute(select(file_rows.c.path).where(file_rows.c.encrypted)).scalars().all()
        )
    assert flagged == ["crypt.img!p2"]
    assert not any(k.startswith("p2/") for k in inside(found, "crypt.img"))
    report = json.loads(only_image(case)["report"])
    assert [(v["file_system"], v["encrypted"]) for v in report["volumes"]] == [
        ("FAT12", False),
        (None, True),
    ]


def test_a_huge_sparse_raw_image_is_walked_by_reading_only_its_metadata(tmp_path, monkeypatch):
    """A 50 GB sparse file holding a 16 MiB FAT at its start: the walk and the image report
    read its first tens of MiB and its last sectors, nothing in between. (The worker hashes
    the image file itself, as any file, reading it all once; that is left out here.)"""
    evidence = tmp_path / "ev"
    evidence.mkdir()
    image = fat(evidence / "huge.img", FILES)
    size = 50 * 10**9
    os.truncate(image, size)
    read = []
    real = Media.read

    def counted(self, offset, n, **kw):
        data = real(self, offset, n, **kw)
        read.append((offset, len(data)))
        return data

    monkeypatch.setattr(Media, "read", counted)
    started = time.monotonic()
    root = bytes(evidence)
    items = list(walk_image(root, examine(root, b"huge.img"), RawFormat(), with_segments=True))
    report, error = image_report(bytes(image), "raw", Limits())
    assert time.monotonic() - started < 20
    # a few passes over the 16 MiB file system (FAT's search for orphans reads all of it),
    # The Sleuth Kit's probing of a fixed first stretch when it detects the file system
    # (about 54 MB), and of the rest only the last sectors, where a backup GPT would be
    assert sum(n for _, n in read) < 100 * MiB
    assert all(o + n <= 64 * MiB or o >= size - MiB for o, n in read)
    names = {i.locator.text for i in items}
    assert {f"huge.img!fs/{k}" for k in FILES} <= names
    assert error is None and report["media_size"] == size
    assert report["volumes"][0]["file_system"] == "FAT16"
