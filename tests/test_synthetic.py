"""The benign generators: deterministic, every format readable, PDQ behaves, collections whole."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pdqhash
import pillow_heif
import py7zr
import pytest
from PIL import Image

from vigil.synthetic import images
from vigil.synthetic.__main__ import main
from vigil.synthetic.collection import build_collection, small_files

pillow_heif.register_heif_opener()


def _pdq(img: Image.Image) -> np.ndarray:
    bits, _quality = pdqhash.compute(np.asarray(img.convert("RGB")))
    return bits.astype(bool)


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_same_seed_same_bytes() -> None:
    assert images.scene(5, 320, 240).tobytes() == images.scene(5, 320, 240).tobytes()
    exif = images.camera_exif(5)
    assert exif == images.camera_exif(5)
    assert images.camera_jpeg(5, 640, 480, exif=exif) == images.camera_jpeg(5, 640, 480, exif=exif)


def test_different_seeds_differ() -> None:
    a, b = images.scene(1, 320, 240), images.scene(2, 320, 240)
    assert a.tobytes() != b.tobytes()
    assert images.camera_exif(1)["BodySerialNumber"] != images.camera_exif(2)["BodySerialNumber"]


def test_camera_jpeg_has_camera_size_and_readable_exif() -> None:
    values = images.camera_exif(42)
    img = _open(images.camera_jpeg(42, exif=values))
    assert (img.format, img.size, img.mode) == ("JPEG", (4000, 3000), "RGB")
    exif = img.getexif()
    # literal values for seed 42, read back by Pillow: the writer is not its own oracle
    assert (exif[0x010F], exif[0x0110], exif[0x0112]) == ("Vigil Test Cameras", "TC-1", 1)
    sub = exif.get_ifd(0x8769)
    assert (sub[0xA431], sub[0x9003]) == ("SN000042", "2022:01:02 02:08:00")
    gps = exif.get_ifd(0x8825)
    deg, minutes, seconds = (float(x) for x in gps[0x0002])
    assert gps[0x0001] == "N"
    assert deg + minutes / 60 + seconds / 3600 == pytest.approx(47.427329, abs=1e-5)


def test_camera_jpeg_without_exif_has_none() -> None:
    assert not _open(images.camera_jpeg(1, 320, 240)).getexif()


@pytest.mark.parametrize("fmt", images.FORMATS)
def test_every_format_opens_with_pillow(fmt: str) -> None:
    img = _open(images.encode(images.scene(3, 200, 150), fmt))
    assert img.size == (200, 150)
    assert img.format == {"HEIC": "HEIF"}.get(fmt, fmt)


def test_encode_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unsupported format"):
        images.encode(images.scene(1, 10, 10), "XCF")


def test_variants_change_geometry_as_promised() -> None:
    img = images.scene(9, 400, 300)
    assert images.mirror(img).size == (400, 300)
    assert np.array_equal(np.asarray(images.mirror(img)), np.asarray(img)[:, ::-1])
    assert images.rotate90(img).size == (300, 400)
    assert images.crop(img, 0.2).size == (320, 240)
    captioned = np.asarray(images.caption_bar(img, 0.25))
    assert np.array_equal(captioned[:225], np.asarray(img)[:225])  # above the bar: untouched
    assert (captioned[225:] == 250).mean() > 0.5  # the bar: mostly background, some strokes
    assert (captioned[225:] < 100).any()


def test_recompress_drops_metadata_and_changes_quality() -> None:
    original = images.camera_jpeg(4, 640, 480, exif=images.camera_exif(4))
    smaller = images.recompress(original, 50)
    assert len(smaller) < len(original)
    assert _open(smaller).size == (640, 480)
    assert not _open(smaller).getexif()


def test_pdq_separates_seeds_and_survives_recompression() -> None:
    a, b = images.scene(11, 1024, 768), images.scene(12, 1024, 768)
    assert pdqhash.compute(np.asarray(a))[1] >= 80
    assert (_pdq(a) != _pdq(b)).sum() > 64
    copy = _open(images.recompress(images.encode(a, "JPEG"), 50))
    assert (_pdq(a) != _pdq(copy)).sum() <= 16
    assert (_pdq(a) != _pdq(a.resize((400, 300)))).sum() <= 16


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("collection")
    return out, build_collection(out, camera=2, small=12)


def test_collection_manifest_counts_what_is_there(collection: tuple[Path, dict[str, int]]) -> None:
    out, manifest = collection
    assert manifest["camera_jpeg"] == 2
    assert manifest["small_image"] == 12
    assert (
        sum(v for k, v in manifest.items() if k.startswith("small_") and k != "small_image") == 12
    )
    assert min(manifest[k] for k in ("duplicate", "variant", "archive", "broken", "misnamed")) > 0
    files = [p for p in out.rglob("*") if p.is_file() and not p.is_symlink()]
    assert manifest["files"] == len(files)
    assert sorted(p.name for p in (out / "DCIM" / "100TEST").iterdir()) == [
        "IMG_0001.JPG",
        "IMG_0002.JPG",
    ]
    camera = _open((out / "DCIM" / "100TEST" / "IMG_0001.JPG").read_bytes())
    assert camera.size == (4000, 3000)
    assert camera.getexif().get_ifd(0x8769)[0xA431].startswith("SN")


def test_collection_holds_duplicates_and_misnamed_content(
    collection: tuple[Path, dict[str, int]],
) -> None:
    out, _ = collection
    copies = list((out / "Backup" / "Copies").iterdir())
    digests = {hashlib.sha256(p.read_bytes()).digest() for p in out.rglob("*") if p.is_file()}
    for copy in copies:
        assert hashlib.sha256(copy.read_bytes()).digest() in digests
    assert _open((out / "Misc" / "notes.dat").read_bytes()).format == "JPEG"
    assert _open((out / "Misc" / "shopping list.txt").read_bytes()).format == "PNG"


def test_collection_archives_open_and_nest(collection: tuple[Path, dict[str, int]]) -> None:
    out, _ = collection
    with zipfile.ZipFile(out / "Archives" / "photos.zip") as z:
        assert _open(z.read("album/pic_0.jpg")).format == "JPEG"
    with tarfile.open(out / "Archives" / "backup.tar.gz") as t:
        inner = t.extractfile("backup/inner.zip")
        assert inner is not None
        with zipfile.ZipFile(io.BytesIO(inner.read())) as z:
            assert _open(z.read("inner/pic_0.png")).format == "PNG"
    with py7zr.SevenZipFile(out / "Archives" / "holiday.7z") as z:
        names = z.getnames()
    assert "holiday/beach_0.jpg" in names


def test_collection_broken_files_are_broken(collection: tuple[Path, dict[str, int]]) -> None:
    broken = collection[0] / "Broken"
    assert (broken / "empty.jpg").stat().st_size == 0
    with pytest.raises(OSError):
        _open((broken / "truncated.jpg").read_bytes())
    with pytest.raises(OSError):
        _open((broken / "photo.jpg").read_bytes())
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(broken / "truncated.zip")


def test_collection_awkward_names_and_links(collection: tuple[Path, dict[str, int]]) -> None:
    out, manifest = collection
    assert b"caf\xe9.jpg" in os.listdir(os.fsencode(out / "Misc"))
    assert manifest["non_utf8_name"] == 1
    inside, outside = out / "Links" / "latest.jpg", out / "Links" / "outside"
    assert inside.is_symlink() and inside.resolve().is_relative_to(out.resolve())
    assert outside.is_symlink() and os.path.isabs(os.readlink(outside)) and not outside.exists()
    assert manifest["symlink"] == 2


def _tree(root: Path) -> dict[bytes, object]:
    raw = os.fsencode(root)
    found: dict[bytes, object] = {}
    for folder, _dirs, names in os.walk(raw):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                found[path[len(raw) :]] = os.readlink(path)
            else:
                with open(path, "rb") as f:
                    found[path[len(raw) :]] = (f.read(), os.stat(path).st_mtime)
    return found


def test_collection_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert build_collection(a, camera=1, small=3) == build_collection(b, camera=1, small=3)
    assert _tree(a) == _tree(b)
    build_collection(tmp_path / "c", camera=1, small=3, seed=2)
    assert _tree(a) != _tree(tmp_path / "c")


def test_small_files_are_small_unique_and_spread(tmp_path: Path) -> None:
    small_files(tmp_path, 25, per_dir=10)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0000", "0001", "0002"]
    assert all(100 <= p.stat().st_size <= 1000 for p in files)
    assert len({p.read_bytes() for p in files}) == 25


def test_main_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path)])
    assert exc.value.code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_main_writes_and_prints_manifest(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "out"), "--camera", "0", "--small", "2", "--seed", "3"]) == 0
    assert '"small_image": 2' in capsys.readouterr().out
    assert (tmp_path / "out" / "Archives" / "photos.zip").is_file()
