"""Ingest benchmark: ratios against a naive reference pipeline, measured in the same run.

(a) what reference tools do per file: full Pillow decode + pdqhash.compute + hashlib, one process
(b) Vigil, one worker process (the whole pipeline: walk, worker, writer, SQLite store, matching
    hook), as shipped (with the 8 crop-window PDQ hashes per image) and with windows off
(c) Vigil, one worker per core
(d) the minimal fast path: read, three crypto hashes, draft decode, PDQ — nothing else
Targets: (b) >= 8x (a), (b) >= 75% of (d); small non-image files cost a worker < 1 ms each;
peak RSS stays flat from 10k to 100k files.

Usage: python benchmarks/ingest.py [--photos 60] [--small 100000] [--workdir .bench]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pdqhash
import psutil
from PIL import Image

from vigil.config import Limits, Settings
from vigil.hashing.crypto import CryptoHasher
from vigil.hashing.pdq import pdq_hash
from vigil.media.image import decode_for_hashing
from vigil.model import Entry, Locator, Task
from vigil.pipeline.executor import ProcessExecutor
from vigil.pipeline.ingest import ingest
from vigil.pipeline.worker import process_batch
from vigil.store import CaseStore
from vigil.synthetic.collection import small_files
from vigil.synthetic.images import camera_jpeg

VIGIL = str(Path(sys.executable).with_name("vigil"))


class Quiet:
    def totals(self, files, nbytes, final):
        pass

    def advance(self, files, nbytes):
        pass


def _write_photo(args: tuple[Path, int]) -> None:
    path, seed = args
    path.write_bytes(camera_jpeg(seed, 4000, 3000, quality=90))


def ensure_photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"IMG_{i:05}.JPG" for i in range(n)]
    todo = [(p, 1000 + i) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        with ProcessPoolExecutor() as pool:
            list(pool.map(_write_photo, todo))
    return paths


def ensure_small(folder: Path, n: int) -> Path:
    marker = folder / f".complete-{n}"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        small_files(folder, n)
        marker.write_text("ok")
    return folder


def reference(paths: list[Path]) -> float:
    start = time.perf_counter()
    for p in paths:
        data = p.read_bytes()
        for algo in (hashlib.md5, hashlib.sha1, hashlib.sha256):
            algo(data).hexdigest()
        pdqhash.compute(np.asarray(Image.open(p).convert("RGB")))
    return time.perf_counter() - start


def fast_path(paths: list[Path]) -> float:
    limits = Settings().limits
    start = time.perf_counter()
    for p in paths:
        hasher = CryptoHasher()
        data = p.read_bytes()
        hasher.update(data)
        hasher.digests()
        pdq_hash(decode_for_hashing(data, limits=limits).image)
    return time.perf_counter() - start


def vigil_run(source: Path, case: Path, workers: int, windows: bool = True) -> float:
    shutil.rmtree(case, ignore_errors=True)
    settings = Settings(limits=Limits(pdq_windows=int(windows)), workers=workers)
    with CaseStore.create(case) as store:
        start = time.perf_counter()
        with ProcessExecutor(workers) as ex:
            ingest(store, [str(source)], settings, progress=Quiet(), executor=ex)
        return time.perf_counter() - start


def worker_cost_per_small_file(folder: Path, n: int = 5000) -> float:
    """CPU time a worker spends per small file, outside any IPC: the worker's own overhead."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))[:n]
    tasks = [
        Task(
            1,
            str(folder),
            Locator(os.fsencode(p.relative_to(folder))),
            Entry.FILE,
            p.stat().st_size,
        )
        for p in paths
    ]
    start = time.process_time()
    for i in range(0, len(tasks), 64):
        process_batch(tasks[i : i + 64], Settings().limits)
    return (time.process_time() - start) / len(tasks)


def peak_rss_of_cli(source: Path, case: Path) -> tuple[float, float]:
    """Run `vigil ingest` as a user would; sample the RSS of its process tree."""
    shutil.rmtree(case, ignore_errors=True)
    subprocess.run([VIGIL, "case", "create", str(case)], check=True, capture_output=True)
    start = time.perf_counter()
    proc = psutil.Popen(
        [VIGIL, "ingest", str(case), str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak_main = peak_tree = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            rss = [p.memory_info().rss for p in tree]
        except psutil.Error:
            continue
        peak_main = max(peak_main, rss[0])
        peak_tree = max(peak_tree, sum(rss))
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"vigil ingest failed with {proc.returncode}")
    print(f"    {source.name}: {time.perf_counter() - start:.1f} s")
    return peak_main / 2**20, peak_tree / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    args = parser.parse_args()
    work = args.workdir
    cores = os.cpu_count() or 1

    print(f"preparing {args.photos} camera JPEGs (4000x3000, q90) and {args.small:,} small files")
    photos = ensure_photos(work / "photos", args.photos)
    mb = sum(p.stat().st_size for p in photos) / 1e6
    small10k = ensure_small(work / "small-10k", 10_000)
    small = ensure_small(work / f"small-{args.small}", args.small)

    n = len(photos)
    t_a = reference(photos)
    t_d = fast_path(photos)
    t_b = vigil_run(work / "photos", work / "case-b", 1)
    t_b0 = vigil_run(work / "photos", work / "case-b0", 1, windows=False)
    t_c = vigil_run(work / "photos", work / "case-c", cores)
    print(f"\ncamera photos: {n} files, {mb:.0f} MB, {cores} cores")
    print(f"{'path':<44}{'files/s':>10}{'MB/s':>10}")
    for label, t in (
        ("(a) reference: full decode + pdqhash", t_a),
        ("(b) vigil, 1 worker", t_b),
        ("(b0) vigil, 1 worker, windows off", t_b0),
        (f"(c) vigil, {cores} workers", t_c),
        ("(d) fast path: crypto + draft decode + PDQ", t_d),
    ):
        print(f"{label:<44}{n / t:>10.2f}{mb / t:>10.1f}")
    ratio_ba, ratio_bd = t_a / t_b, t_d / t_b0
    print(f"\n(b)/(a) = {ratio_ba:.1f}x   (target >= 8x)")
    print(f"(b0)/(d) = {ratio_bd:.0%}   (target >= 75%: the pipeline around the same hashing)")
    print(f"(b)/(d) = {t_d / t_b:.0%}   (crop windows cost {(t_b - t_b0) / n * 1e3:.0f} ms/photo)")
    print(f"(c)/(b) = {t_b / t_c:.2f}x with {cores} workers")

    per_file = worker_cost_per_small_file(small)
    print(f"\nsmall files: worker CPU per file {per_file * 1e3:.3f} ms   (target < 1 ms)")
    t_small = vigil_run(small, work / "case-small", 1)
    print(f"small files end to end, 1 worker: {args.small / t_small:,.0f} files/s")

    print("\npeak RSS of `vigil ingest` (main process / whole process tree):")
    rss10 = peak_rss_of_cli(small10k, work / "case-rss10k")
    rss100 = peak_rss_of_cli(small, work / "case-rss100k")
    print(f"  10k files:  {rss10[0]:6.0f} MB / {rss10[1]:6.0f} MB")
    print(f"  {args.small // 1000}k files: {rss100[0]:6.0f} MB / {rss100[1]:6.0f} MB")
    print(f"  growth main process 10k -> {args.small // 1000}k: {rss100[0] / rss10[0]:.2f}x")

    ok = ratio_ba >= 8 and ratio_bd >= 0.75 and per_file < 1e-3
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
