"""Writes benign demo collections made entirely in code: camera JPEGs, small images in every
format, duplicates and edits, archives, broken and awkward files; and the many-small-files set.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import py7zr

from vigil.synthetic import images

# Fixed clock for every timestamp written (file mtimes, archive members): same seed, same bytes.
_EPOCH = datetime(2023, 6, 1, 12, 0, tzinfo=UTC)
_CAMERA_PER_FOLDER = 25
_SMALL_DIRS = (
    "Pictures/2021",
    "Pictures/2022/Trip",
    "Pictures/Screenshots",
    "Downloads",
    "Backup/Old phone",
    "Documents/Scans",
)
# Small-image formats and their weights: lossless formats are rarer because they are large.
_SMALL_FORMATS = {"JPEG": 3, "PNG": 3, "WEBP": 2, "HEIC": 2, "GIF": 2, "TIFF": 1, "BMP": 1}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIC": "heic", "GIF": "gif"}
_EXTENSIONS |= {"TIFF": "tif", "BMP": "bmp"}
_MANIFEST_KEYS = (
    "camera_jpeg",
    "small_image",
    "duplicate",
    "variant",
    "misnamed",
    "archive",
    "broken",
    "non_utf8_name",
    "symlink",
    "document",
    "files",
    "bytes",
)
_OUTSIDE_TARGET = "/nonexistent/vigil-demo/hostname"  # absolute and dangling on purpose


@dataclass(frozen=True, slots=True)
class _ImageJob:
    """One image to render; plain data so it can cross to a worker process."""

    path: Path
    seed: int
    size: tuple[int, int]
    fmt: str
    mtime: float
    exif: dict[str, object] | None = None


def _render(job: _ImageJob) -> int:
    if job.exif is not None:
        data = images.camera_jpeg(job.seed, *job.size, exif=job.exif)
    else:
        data = images.encode(images.scene(job.seed, *job.size), job.fmt)
    _write(job.path, data, job.mtime)
    return len(data)


def _write(path: Path | bytes, data: bytes, mtime: float) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def _stamp(exif_time: str) -> datetime:
    return datetime.strptime(exif_time, "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)


def _camera_jobs(out: Path, count: int, seed: int) -> list[_ImageJob]:
    """Camera JPEGs in DCIM folders: each folder is one camera body shooting a series."""
    jobs = []
    for i in range(count):
        folder = i // _CAMERA_PER_FOLDER
        body = images.camera_exif(seed * 100 + folder)
        start = _stamp(body["DateTimeOriginal"])
        shot = start + timedelta(minutes=7 * (i % _CAMERA_PER_FOLDER))
        exif = body | {
            "DateTimeOriginal": shot.strftime("%Y:%m:%d %H:%M:%S"),
            "DateTime": shot.strftime("%Y:%m:%d %H:%M:%S"),
            "GPSLatitude": round(body["GPSLatitude"] + 0.001 * (i % _CAMERA_PER_FOLDER), 6),
            "GPSLongitude": body["GPSLongitude"],
            "Orientation": 6 if i % 11 == 10 else 1,
        }
        path = out / "DCIM" / f"{100 + folder}TEST" / f"IMG_{i + 1:04d}.JPG"
        jobs.append(
            _ImageJob(path, seed * 1_000_000 + i, (4000, 3000), "JPEG", shot.timestamp(), exif)
        )
    return jobs


def _small_jobs(out: Path, count: int, seed: int) -> list[_ImageJob]:
    rng = np.random.default_rng([seed, 0x5A11])
    names, weights = list(_SMALL_FORMATS), np.array(list(_SMALL_FORMATS.values()), float)
    jobs = []
    for i in range(count):
        fmt = names[rng.choice(len(names), p=weights / weights.sum())]
        long_side = int(rng.integers(640, 1601))
        short_side = long_side * 3 // 4
        size = (long_side, short_side) if rng.random() < 0.7 else (short_side, long_side)
        folder = _SMALL_DIRS[i % len(_SMALL_DIRS)]
        path = out / folder / f"img_{i + 1:04d}.{_EXTENSIONS[fmt]}"
        mtime = (_EPOCH + timedelta(hours=5 * i)).timestamp()
        jobs.append(_ImageJob(path, seed * 1_000_000 + 500_000 + i, size, fmt, mtime))
    return jobs


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, _EPOCH.timetuple()[:6]), data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(_EPOCH.timestamp()), 0o644
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)  # mtime=0: no build time in the header


def _seven_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(data, name)
        # py7zr stamps writestr members with "now"; pin them so the archive is reproducible.
        # `header.files_info` is internal: on a py7zr without it, only the timestamps vary.
        files = getattr(getattr(z.header, "files_info", None), "files", [])
        stamp = py7zr.helpers.ArchiveTimestamp.from_datetime(_EPOCH.timestamp())
        for info in files:
            info.update(creationtime=stamp, lastwritetime=stamp, lastaccesstime=stamp)
    return buf.getvalue()


def _photo(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (800, 600)) -> bytes:
    return images.encode(images.scene(seed, *size), fmt)


def build_collection(
    out: Path, *, camera: int = 40, small: int = 260, seed: int = 1
) -> dict[str, int]:
    """Write the benign demo collection under `out` and return counts of what was written.

    Deterministic for a given `seed` (contents, names and mtimes). Camera JPEGs and small
    images are rendered in a process pool. A file system that refuses non-UTF-8 names or
    symlinks gets a collection without them, and the manifest counts say so.
    """
    out = Path(out)
    # Every key present even at zero, so a refused symlink or name shows as 0, not absent.
    counts: Counter[str] = Counter(dict.fromkeys(_MANIFEST_KEYS, 0))
    counts.update(dict.fromkeys((f"small_{f.lower()}" for f in _SMALL_FORMATS), 0))
    jobs = _camera_jobs(out, camera, seed) + _small_jobs(out, small, seed)
    workers = min(os.cpu_count() or 1, 8)
    if workers > 1 and len(jobs) > 4:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_render, jobs, chunksize=4))
    else:
        for job in jobs:
            _render(job)
    counts["camera_jpeg"] = camera
    counts["small_image"] = small
    counts.update(f"small_{job.fmt.lower()}" for job in jobs[camera:])

    t = (_EPOCH + timedelta(days=400)).timestamp()  # everything below is "later" material
    base = seed * 1_000_000 + 900_000  # seeds for the images made below

    # Exact duplicates under other names (what a backup or a re-download leaves behind).
    for job in jobs[:: max(1, len(jobs) // 6)][:6]:
        copy = out / "Backup" / "Copies" / f"copy of {job.path.name}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(job.path, copy)
        counts["duplicate"] += 1

    # Edited near-duplicates: the transformations PDQ (and its dihedral variants) must survive.
    for k in range(max(1, small // 60)):
        src = images.scene(base + k, 1200, 900)
        jpeg = images.encode(src, "JPEG")
        edits = {
            "mirrored.jpg": images.encode(images.mirror(src), "JPEG"),
            "rotated.jpg": images.encode(images.rotate90(src), "JPEG"),
            "cropped.png": images.encode(images.crop(src, 0.1), "PNG"),
            "captioned.jpg": images.encode(images.caption_bar(src, 0.15, seed=k), "JPEG"),
            "resized.webp": images.encode(src.resize((600, 450)), "WEBP"),
            "sent.jpg": images.recompress(jpeg, 60),
        }
        _write(out / "Edited" / f"original_{k + 1:02d}.jpg", jpeg, t)
        for name, data in edits.items():
            stem, ext = name.split(".")
            _write(out / "Edited" / f"{stem}_{k + 1:02d}.{ext}", data, t)
            counts["variant"] += 1

    # Content that does not match its name.
    _write(out / "Misc" / "notes.dat", _photo(base + 10), t)
    _write(out / "Misc" / "shopping list.txt", _photo(base + 11, "PNG"), t)
    counts["misnamed"] += 2

    # Archives: flat zip, tar.gz holding a zip (nesting), 7z.
    _write(
        out / "Archives" / "photos.zip",
        _zip(
            {f"album/pic_{j}.jpg": _photo(base + 20 + j) for j in range(4)}
            | {"album/readme.txt": b"Holiday pictures.\n"}
        ),
        t,
    )
    inner = _zip({f"inner/pic_{j}.png": _photo(base + 30 + j, "PNG", (640, 480)) for j in range(2)})
    _write(
        out / "Archives" / "backup.tar.gz",
        _tar_gz({"backup/inner.zip": inner, "backup/loose.jpg": _photo(base + 35)}),
        t,
    )
    _write(
        out / "Archives" / "holiday.7z",
        _seven_zip({f"holiday/beach_{j}.jpg": _photo(base + 40 + j) for j in range(3)}),
        t,
    )
    counts["archive"] += 3

    # Broken files: each one must become an error row, never stop a run.
    whole = _photo(base + 50)
    rng = np.random.default_rng([seed, 0xBAD])
    broken = {
        "truncated.jpg": whole[: len(whole) * 2 // 5],
        "empty.jpg": b"",
        "photo.jpg": rng.bytes(4096),
        "truncated.zip": _zip({"a.jpg": _photo(base + 51)})[:3000],
    }
    for name, data in broken.items():
        _write(out / "Broken" / name, data, t)
    counts["broken"] += len(broken)

    # A name that is not UTF-8 (Latin-1 "café.jpg"): stored and shown byte-exactly.
    try:
        _write(os.fsencode(out / "Misc") + b"/caf\xe9.jpg", _photo(base + 60), t)
        counts["non_utf8_name"] += 1
    except (OSError, UnicodeError):
        pass  # e.g. macOS APFS only accepts UTF-8 names

    # Symlinks: one to a file in the collection, one dangling and pointing outside it.
    links = out / "Links"
    links.mkdir(exist_ok=True)
    target = jobs[0].path if jobs else out / "Misc" / "notes.dat"
    for name, to in (("latest.jpg", os.path.relpath(target, links)), ("outside", _OUTSIDE_TARGET)):
        try:
            os.symlink(to, links / name)
            counts["symlink"] += 1
        except (OSError, NotImplementedError):
            pass  # e.g. Windows without the symlink privilege

    # Documents that are not images.
    _write(out / "Documents" / "notes.txt", b"Meeting notes\n- nothing to see here\n" * 20, t)
    _write(
        out / "Documents" / "report.pdf",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
        t,
    )
    counts["document"] += 2

    files = [p for p in out.rglob("*") if p.is_file() and not p.is_symlink()]
    counts["files"] = len(files)
    counts["bytes"] = sum(p.stat().st_size for p in files)
    return dict(counts)


_WORDS = (
    b"alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    b"oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu\n"
)


def small_files(out: Path, n: int, *, seed: int = 1, per_dir: int = 1000) -> None:
    """Write `n` tiny non-image files (100–900 bytes, text or random) under `out`, `per_dir`
    to a folder: the many-small-files benchmark, where per-file overhead dominates.

    Every file starts with its own index, so no two have the same contents.
    """
    out = Path(out)
    rng = np.random.default_rng([seed, 0x5F11E5])
    text_pool = _WORDS * (2048 // len(_WORDS) + 1)
    noise_pool = rng.bytes(1 << 16)
    sizes = rng.integers(100, 900, n)
    offsets = rng.integers(0, 1 << 15, n)
    for i in range(n):
        folder = out / f"{i // per_dir:04d}"
        if i % per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        text = i % 2 == 0
        pool = text_pool if text else noise_pool
        off, size = int(offsets[i]) % (len(pool) - 900), int(sizes[i])
        header = b"vigil small file %09d\n" % i
        with open(folder / f"{i:07d}.{'txt' if text else 'bin'}", "wb") as f:
            f.write(header + pool[off : off + size])
