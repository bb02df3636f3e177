"""Ingesting disk images built with Debian's tools: every file found with the hashes of the
files it was made from, deleted ones flagged, matches inside images, acquisition hashes
verified, every format giving the same records as the raw disk, evidence untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence.test_disk_helpers import (
    MiB,
    disk,
    e01,
    ext4,
    fat,
    iso,
    ntfs,
    pictures,
    qemu,
    run,
    tool,
    write_tree,
)
from tests.helpers import snapshot
from vigil.config import Limits, Settings
from vigil.pipeline.executor import InlineExecutor, ProcessExecutor
from vigil.pipeline.hashset_flows import import_and_match
from vigil.pipeline.ingest import ingest
from vigil.pipeline.matcher import matches_for
from vigil.store import CaseStore, iter_files
from vigil.store.schema import disk_images


class NullProgress:
    def totals(self, files, nbytes, final):
        pass

    def advance(self, files, nbytes):
        pass


def make_case(tmp_path: Path, name: str = "case") -> Path:
    path = tmp_path / name
    CaseStore.create(path, name="test").close()
    return path


def run_ingest(case: Path, *sources: Path, settings: Settings | None = None, executor=None):
    with CaseStore.open(case) as store:
        return ingest(
            store,
            [str(s) for s in sources],
            settings or Settings(),
            progress=NullProgress(),
            executor=executor or InlineExecutor(),
        )


def rows(case: Path) -> dict[str, dict]:
    with CaseStore.open(case) as store:
        return {r["path"]: r for r in iter_files(store, matches=matches_for)}


def image_rows(case: Path) -> list:
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        return list(conn.execute(select(disk_images)).mappings())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


P1 = pictures(0, 4)
P2 = {
    **pictures(10, 5, folder="Users/x/Pictures"),
    "Users/x/deep/er/more.jpg": P1["DCIM/IMG_0001.jpg"],
}
P1_GONE = "DCIM/IMG_0003.jpg"
P2_GONE = "Users/x/Pictures/IMG_0012.png"


@pytest.fixture(scope="module")
def seizure(tmp_path_factory) -> Path:
    """An MBR disk: p1 FAT16, p2 ext4, each with pictures and one deleted after writing."""
    tmp = tmp_path_factory.mktemp("seizure")
    p1 = fat(tmp / "p1.fat", P1, deleted=[P1_GONE])
    p2 = ext4(tmp / "p2.ext4", P2, deleted=[P2_GONE])
    raw = disk(tmp / "disk.raw", [p1, p2])
    p1.unlink()
    p2.unlink()
    return raw


def inside(records: dict[str, dict], image: str) -> dict[str, dict]:
    prefix = f"{image}!"
    return {k[len(prefix) :]: v for k, v in records.items() if k.startswith(prefix)}


def test_split_e01_of_a_two_partition_disk_gives_the_extracted_files_records(tmp_path, seizure):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    segments = e01(seizure, evidence / "disk.E01", segment=8 * MiB)
    assert len(segments) >= 3
    before = snapshot(evidence)
    case = make_case(tmp_path)
    summary = run_ingest(case, evidence / "disk.E01")
    assert snapshot(evidence) == before

    found = rows(case)
    for segment in segments:  # every segment file is evidence: hashed, never opened
        rec = found[segment.name]
        assert rec["sha256"] == sha(segment.read_bytes()) and rec["kind"] == "other"
    assert found["disk.E01"]["status"] == "ok", found["disk.E01"]["error"]
    files = inside(found, "disk.E01")
    live = {f"p1/{k}": v for k, v in P1.items() if k != P1_GONE}
    live |= {f"p2/{k}": v for k, v in P2.items() if k != P2_GONE}
    for path, data in live.items():
        assert files[path]["sha256"] == sha(data), path
        assert files[path]["deleted"] is False and files[path]["inode"] > 0
    # the deleted ones: FAT loses the first letter of the name, ext4 keeps it
    gone_fat = [k for k, v in files.items() if k.startswith("p1/DCIM/") and v["deleted"]]
    assert len(gone_fat) == 1 and gone_fat[0].endswith("MG_0003.jpg")
    assert files[gone_fat[0]]["sha256"] == sha(P1[P1_GONE])
    assert files[f"p2/{P2_GONE}"]["deleted"] is True
    assert files[f"p2/{P2_GONE}"]["sha256"] == sha(P2[P2_GONE])
    assert files[f"p2/{P2_GONE}"]["pdq"]  # decoded and hashed like any picture
    assert summary.by_status["error"] == 0, [
        (k, v["error"]) for k, v in files.items() if v["error"]
    ]

    (image,) = image_rows(case)
    assert image["format"] == "ewf" and image["verification"] == "verified"
    assert (
        image["stored_md5"]
        == image["computed_md5"]
        == hashlib.md5(seizure.read_bytes()).hexdigest()
    )
    assert image["stored_sha1"] == hashlib.sha1(seizure.read_bytes()).hexdigest()
    report = json.loads(image["report"])
    assert report["partition_table"] == "DOS"
    assert [(v["label"], v["file_system"]) for v in report["volumes"]] == [
        ("p1", "FAT16"),
        ("p2", "ext4"),
    ]
    assert json.loads(image["segments"]) == [s.name for s in segments]

    # the same contents as ingesting the files themselves, extracted
    extracted = make_case(tmp_path, "extracted")
    folder = write_tree(tmp_path / "files", {f"p1/{k}": v for k, v in P1.items()})
    write_tree(folder, {f"p2/{k}": v for k, v in P2.items()})
    run_ingest(extracted, folder)
    by_content = {r["sha256"]: r for r in rows(extracted).values()}
    for path, rec in files.items():
        if rec["sha256"] in by_content and rec["size"]:
            twin = by_content[rec["sha256"]]
            for field in ("md5", "sha1", "mime", "kind", "width", "height", "pdq", "status"):
                assert rec[field] == twin[field], (path, field)
    assert {r["sha256"] for r in rows(extracted).values()} <= {r["sha256"] for r in files.values()}


def test_matches_work_inside_images_and_a_rerun_adds_nothing(tmp_path, seizure):
    case = make_case(tmp_path)
    known = tmp_path / "known.md5"
    chosen = [P2["Users/x/Pictures/IMG_0010.jpg"], P1[P1_GONE]]
    known.write_text("".join(f"{hashlib.md5(d).hexdigest()}  x.jpg\n" for d in chosen))
    with CaseStore.open(case) as store:
        import_and_match(store, known, fmt="md5sum", name="known", kind="alert", category=1)
    raw = tmp_path / "ev" / "disk.dd"
    raw.parent.mkdir()
    raw.write_bytes(seizure.read_bytes())
    first = run_ingest(case, raw)
    found = inside(rows(case), "disk.dd")
    matched = {k for k, v in found.items() if v["matches"]}
    assert "p2/Users/x/Pictures/IMG_0010.jpg" in matched
    assert any(k.startswith("p1/DCIM/") and found[k]["deleted"] for k in matched)
    assert all(found[k]["matches"][0]["algorithm"] == "md5" for k in matched)
    again = run_ingest(case, raw)
    assert again.records == 0 and again.already_done == first.files_seen
    (image,) = image_rows(case)
    assert image["verification"] == "no stored hash"


@pytest.mark.parametrize(
    "fmt, options",
    [
        ("vmdk", ()),
        ("vmdk", ("-o", "subformat=twoGbMaxExtentSparse")),
        ("vpc", ()),
        ("vpc", ("-o", "subformat=fixed")),
        ("vhdx", ()),
        ("qcow2", ()),
    ],
)
def test_virtual_disks_give_the_raw_disks_contents(tmp_path, seizure, fmt, options):
    suffix = {"vpc": "vhd"}.get(fmt, fmt)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    image = qemu(seizure, evidence / f"disk.{suffix}", fmt, *options)
    before = snapshot(evidence)
    case = make_case(tmp_path)
    run_ingest(case, evidence)  # a folder holding the image (and, for split VMDK, its extent)
    assert snapshot(evidence) == before
    found = rows(case)
    files = inside(found, image.name)
    expect = {f"p1/{k}": sha(v) for k, v in P1.items() if k != P1_GONE}
    expect |= {f"p2/{k}": sha(v) for k, v in P2.items()}
    assert {k: files[k]["sha256"] for k in expect} == expect
    assert found[image.name]["status"] == "ok"
    # an extent of a split VMDK is a file beside it, hashed, never opened as an image
    extents = [p for p in evidence.iterdir() if p != image]
    for extent in extents:
        assert found[extent.name]["sha256"] == sha(extent.read_bytes())
        assert not inside(found, extent.name)
    (row,) = image_rows(case)
    assert row["format"] == {"vpc": "vhd", "vhdx": "vhd", "qcow2": "qcow"}.get(fmt, fmt)


def test_a_split_raw_image_of_a_file_system_without_a_partition_table(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    whole = fat(tmp_path / "usb.fat", P1)
    data = whole.read_bytes()
    third = len(data) // 3 + 1
    for i in range(3):
        (evidence / f"usb.{i:03}").write_bytes(data[i * third : (i + 1) * third])
    before = snapshot(evidence)
    case = make_case(tmp_path)
    summary = run_ingest(case, evidence)
    assert snapshot(evidence) == before
    found = rows(case)
    split = inside(found, "usb.000")
    assert {k: split[f"fs/{k}"]["sha256"] for k in P1} == {k: sha(v) for k, v in P1.items()}
    for later in ("usb.001", "usb.002"):  # hashed as files, never opened as images
        assert not inside(found, later) and found[later]["status"] == "ok"
        assert found[later]["sha256"] == sha((evidence / later).read_bytes())
    (row,) = image_rows(case)
    assert json.loads(row["report"])["volumes"][0]["file_system"] == "FAT16"
    assert json.loads(row["segments"]) == ["usb.000", "usb.001", "usb.002"]
    assert summary.by_status["error"] == 0


def test_iso9660_and_ntfs_images(tmp_path):
    tool("genisoimage")
    tool("mkntfs")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    iso(evidence / "cd.iso", P2)
    ntfs(
        evidence / "ntfs.img", {"a.jpg": P1["DCIM/IMG_0000.jpg"], "b.png": P1["DCIM/IMG_0002.png"]}
    )
    case = make_case(tmp_path)
    run_ingest(case, evidence)
    found = rows(case)
    cd = inside(found, "cd.iso")
    assert {k: cd[f"fs/{k}"]["sha256"] for k in P2} == {k: sha(v) for k, v in P2.items()}
    nt = inside(found, "ntfs.img")
    assert nt["fs/a.jpg"]["sha256"] == sha(P1["DCIM/IMG_0000.jpg"])
    assert nt["fs/b.png"]["pdq"] and nt["fs/$MFT"]["status"] == "ok"
    formats = {
        r["path"]: json.loads(r["report"])["volumes"][0]["file_system"] for r in image_rows(case)
    }
    assert formats == {"cd.iso": "ISO9660", "ntfs.img": "NTFS"}


def test_exfat_gpt_and_an_archive_inside_an_image(tmp_path):
    tool("mkfs.exfat")
    exfat = tmp_path / "x.exfat"
    with open(exfat, "wb") as f:
        f.truncate(8 * MiB)
    run("mkfs.exfat", exfat)
    import zipfile

    album = tmp_path / "album.zip"
    with zipfile.ZipFile(album, "w") as z:
        z.writestr("in/zip.jpg", P1["DCIM/IMG_0001.jpg"])
    p2 = ext4(tmp_path / "p2.ext4", {"album.zip": album.read_bytes()})
    raw = disk(tmp_path / "gpt.img", [exfat, p2], label="gpt")
    case = make_case(tmp_path)
    run_ingest(case, raw)
    found = inside(rows(case), "gpt.img")
    assert found["p2/album.zip!in/zip.jpg"]["sha256"] == sha(P1["DCIM/IMG_0001.jpg"])
    assert found["p2/album.zip"]["kind"] == "archive"
    # file system metadata TSK lists as files ($UPCASE_TABLE …) is hashed like any file; the
    # user's files all read cleanly
    user = {k: v for k, v in found.items() if "/$" not in k}
    assert not any(v["status"] == "error" for v in user.values()), user
    (row,) = image_rows(case)
    report = json.loads(row["report"])
    assert report["partition_table"] == "GPT"
    assert [v["file_system"] for v in report["volumes"]] == ["exFAT", "ext4"]


def test_the_files_of_one_image_spread_over_worker_processes(tmp_path, seizure):
    case = make_case(tmp_path)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    e01(seizure, evidence / "disk.E01")
    with ProcessExecutor(2) as executor:
        run_ingest(case, evidence / "disk.E01", executor=executor)
    files = inside(rows(case), "disk.E01")
    assert files[f"p2/{P2_GONE}"]["sha256"] == sha(P2[P2_GONE])
    assert len([f for f in files.values() if f["kind"] == "image"]) == len(P1) + len(P2) - 2


def test_verification_can_be_skipped(tmp_path, seizure):
    evidence = tmp_path / "ev"
    evidence.mkdir()
    e01(seizure, evidence / "disk.E01")
    case = make_case(tmp_path)
    run_ingest(case, evidence / "disk.E01", settings=Settings(limits=Limits(verify_image_hash=0)))
    (row,) = image_rows(case)
    assert row["verification"] == "not verified" and row["computed_md5"] is None
    assert row["stored_md5"] == hashlib.md5(seizure.read_bytes()).hexdigest()
    assert rows(case)["disk.E01"]["status"] == "ok"


def test_an_image_in_a_folder_is_opened_once_and_its_segments_marked(tmp_path, seizure):
    evidence = tmp_path / "evidence"
    (evidence / "sub").mkdir(parents=True)
    segments = e01(seizure, evidence / "sub" / "disk.E01", segment=8 * MiB)
    (evidence / "photo.jpg").write_bytes(P1["DCIM/IMG_0000.jpg"])
    case = make_case(tmp_path)
    summary = run_ingest(case, evidence)
    found = rows(case)
    assert summary.records == len(found)
    for segment in segments[1:]:
        assert found[f"sub/{segment.name}"]["sha256"] == sha(segment.read_bytes())
    assert len(inside(found, "sub/disk.E01")) > len(P1)
    assert os.path.exists(evidence / "photo.jpg") and found["photo.jpg"]["pdq"]


@pytest.mark.slow
def test_kill_9_inside_an_image_then_rerun_finishes_it_without_duplicates(tmp_path):
    """Resume works inside an image as inside a folder: what was written before the kill is
    not redone, the rest is, and every file has one record."""
    from tests.helpers import gradient_image, image_bytes
    from tests.pipeline.test_ingest import VIGIL, kill_9_part_way

    many = {f"pics/{i:04}.png": image_bytes(gradient_image(i, (96, 72)), "PNG") for i in range(300)}
    image = ext4(tmp_path / "many.img", many, size=32 * MiB)
    case = make_case(tmp_path)
    env = dict(os.environ, VIGIL_BATCH_SIZE="20")
    cmd = [VIGIL, "ingest", str(case), str(image), "--workers", "1"]
    done_at_kill = kill_9_part_way(cmd, env, case / "case.db", after=40)
    assert 0 < done_at_kill < 300, "the run was not interrupted inside the image"

    subprocess.run(cmd, env=env, check=True, capture_output=True)
    found = inside(rows(case), "many.img")
    assert {p.removeprefix("fs/") for p in found if p.startswith("fs/pics/")} == set(many)
    for rel, data in many.items():
        assert found[f"fs/{rel}"]["sha256"] == sha(data)
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        paths = [r["path"] for r in iter_files(store)]
        images = conn.execute(select(disk_images.c.id)).all()
    assert len(paths) == len(set(paths))  # no file recorded twice
    assert len(images) == 1  # nor the image's own row


def test_an_apple_partition_map(tmp_path):
    """APM (old Macs, some iPods and USB drives): its map entries are not volumes; the FAT in
    its data partition is read."""
    tool("parted")
    volume = fat(tmp_path / "data.fat", P1)
    raw = tmp_path / "evidence" / "mac.raw"
    raw.parent.mkdir()
    with open(raw, "wb") as f:
        f.truncate(24 * MiB)
    run("parted", "-s", raw, "mklabel", "mac", "mkpart", "data", "fat32", "1MiB", "17MiB")
    with open(raw, "r+b") as out:
        out.seek(1 * MiB)
        out.write(volume.read_bytes())
    case = make_case(tmp_path)
    run_ingest(case, raw)
    found = inside(rows(case), "mac.raw")
    in_p = {k.split("/", 1)[1]: v["sha256"] for k, v in found.items() if "/" in k}
    assert {k: in_p[k] for k in P1} == {k: sha(v) for k, v in P1.items()}
    (row,) = image_rows(case)
    report = json.loads(row["report"])
    assert report["partition_table"] == "MAC"  # The Sleuth Kit's name for APM
    assert [v["file_system"] for v in report["volumes"] if v.get("file_system")] == ["FAT16"]
