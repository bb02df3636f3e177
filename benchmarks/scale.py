"""Scale-out benchmark: the same ingest on this machine's process pool and on a local Dask
cluster of as many worker processes, measured in the same run on the same generated files.

(a) `--scheduler process`: ProcessExecutor, N worker processes
(b) `--scheduler local:N`: DaskExecutor on a LocalCluster of N single-threaded processes
    (cluster start-up timed apart from the ingest)
For each: wall time, files/s and the peak RSS of the writer (this process) and of the worker
processes, sampled every 0.1 s. The two cases must hold the same records (path, status,
SHA-256), so the benchmark cannot measure a broken run.
Target: Dask overhead (b / a - 1) <= 15%.

Usage: python benchmarks/scale.py [--files 20000] [--workers 2] [--workdir .bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from pathlib import Path

import psutil

from vigil.config import Settings
from vigil.pipeline.dask_executor import DaskExecutor
from vigil.pipeline.executor import ProcessExecutor
from vigil.pipeline.ingest import ingest
from vigil.store import CaseStore, iter_files
from vigil.synthetic.collection import small_files


class Quiet:
    def totals(self, files, nbytes, final):
        pass

    def advance(self, files, nbytes):
        pass


class PeakRss:
    """Peak RSS of this process and, separately, of the sum of every other process started
    below it or by the Dask nannies (workers are grandchildren there)."""

    def __init__(self) -> None:
        self.writer = self.workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                self.writer = max(self.writer, me.memory_info().rss)
                children = me.children(recursive=True)
                rss = sum(c.memory_info().rss for c in children if c.is_running())
                self.workers = max(self.workers, rss)
            except psutil.Error:
                pass
            time.sleep(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def records(case: Path) -> set[tuple]:
    with CaseStore.open(case) as store:
        return {(r["path"], r["status"], r["sha256"]) for r in iter_files(store)}


def run(source: Path, case: Path, executor, settings: Settings) -> tuple[float, PeakRss]:
    shutil.rmtree(case, ignore_errors=True)
    CaseStore.create(case).close()
    with CaseStore.open(case) as store, PeakRss() as peak:
        start = time.perf_counter()
        ingest(store, [str(source)], settings, progress=Quiet(), executor=executor)
        return time.perf_counter() - start, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    args = parser.parse_args()

    source = args.workdir / f"scale-small-{args.files}"
    if not source.is_dir():
        print(f"generating {args.files:,} small files in {source}")
        small_files(source, args.files)
    settings = Settings(workers=args.workers)
    mb = 2**20
    print(f"{args.files:,} small files, {args.workers} worker processes, SQLite case, warm cache")

    with ProcessExecutor(args.workers) as pool:
        run(source, args.workdir / "scale-warm", pool, settings)  # page cache and forkserver
        t_pool, peak_pool = run(source, args.workdir / "scale-pool", pool, settings)
    print(
        f"  (a) process pool   {t_pool:7.1f} s  {args.files / t_pool:8,.0f} files/s  "
        f"writer {peak_pool.writer / mb:5.0f} MB  workers {peak_pool.workers / mb:5.0f} MB"
    )

    started = time.perf_counter()
    with DaskExecutor(f"local:{args.workers}") as cluster:
        t_start = time.perf_counter() - started
        t_dask, peak_dask = run(source, args.workdir / "scale-dask", cluster, settings)
    print(
        f"  (b) Dask local:{args.workers}   {t_dask:7.1f} s  {args.files / t_dask:8,.0f} files/s  "
        f"writer {peak_dask.writer / mb:5.0f} MB  workers {peak_dask.workers / mb:5.0f} MB  "
        f"(cluster start {t_start:.1f} s, not counted)"
    )
    same = records(args.workdir / "scale-pool") == records(args.workdir / "scale-dask")
    overhead = t_dask / t_pool - 1
    verdict = "met" if overhead <= 0.15 else "NOT met"
    print(f"  Dask overhead {overhead:+.0%} (target <= +15%: {verdict}); same records: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
