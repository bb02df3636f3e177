"""PDQ matching benchmark: brute force, python-threatexchange's index and Vigil's PdqIndex.

Known lists of random 256-bit hashes; case queries are known hashes with exactly k bits
flipped, k = query_row % 41 (0…40), so about three quarters have a true match at 31.
Every measurement runs in its own subprocess so RSS growth belongs to one index:

  build   generate the data, build the index, save it (build s, RSS growth, disk bytes)
  query   load the saved index (load s), search, RSS growth after loading + searching

Indexes:
  brute   faiss IndexBinaryFlat range_search (the oracle)
  tx-mih  faiss IndexBinaryMultiHash, 16 tables of 16 bits, nflip 1 (python-threatexchange)
  vigil   vigil.index.PdqIndex, saved as .npy + index.json and loaded with mmap

Usage: python benchmarks/match.py [--sizes 1000000,10000000] [--queries 100000]
The slow baselines are timed on a sample of the queries (--brute-queries, --mih-queries);
recall is measured on the brute-force sample. Results go to stdout as one table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

THRESHOLD = 31
VARIANTS = 8  # dihedral transforms per image
WINDOWS = 8  # crop-window hashes per image (vigil.hashing.windows.WINDOW_SCALES)
SEED = 20240611


def rss() -> int:
    return psutil.Process().memory_info().rss


def make_data(size: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    from vigil.index.codec import flip_bits

    rng = np.random.default_rng(SEED)
    known = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    rows = rng.integers(0, size, queries)
    return known, flip_bits(known[rows], np.arange(queries) % 41, rng)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- workers (run in subprocesses) --------------------------------------------------------


def data_worker(size: int, queries: int, folder: Path) -> dict:
    known, asked = make_data(size, queries)
    np.save(folder / "known.npy", known, allow_pickle=False)
    np.save(folder / "queries.npy", asked, allow_pickle=False)
    return {}


def build_worker(kind: str, size: int, folder: Path, out: Path) -> dict:
    import faiss

    from vigil.index import PdqIndex

    known = np.load(folder / "known.npy")
    assert len(known) == size
    before = rss()
    start = time.perf_counter()
    if kind == "vigil":
        index = PdqIndex.build(np.arange(size, dtype=np.int64), known, threshold=THRESHOLD)
        build_s = time.perf_counter() - start
        grown = rss() - before
        index.save(out)
        extra = {"layout": f"{index.layout.tables}x{index.layout.bits}"}
    else:
        if kind == "brute":
            flat = faiss.IndexBinaryFlat(256)
        else:
            flat = faiss.IndexBinaryMultiHash(256, 16, 16)
            flat.nflip = 1
        flat.add(known)
        build_s = time.perf_counter() - start
        grown = rss() - before
        out.mkdir(parents=True, exist_ok=True)
        faiss.write_index_binary(flat, str(out / "index.faiss"))
        extra = {}
    return {"build_s": build_s, "build_rss": grown, "disk": dir_bytes(out), **extra}


def query_worker(kind: str, sample: int, folder: Path, out: Path) -> dict:
    import faiss

    from vigil.index import PdqIndex

    asked = np.load(folder / "queries.npy")[:sample]
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    before = rss()
    start = time.perf_counter()
    if kind == "vigil":
        index = PdqIndex.load(out, mmap=True)
    else:
        flat = faiss.read_index_binary(str(out / "index.faiss"))
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    if kind == "vigil":
        found = index.search(asked, threshold=THRESHOLD)
        pairs = np.stack([found["query"], found["id"]], axis=1)
    else:
        lims, _, labels = flat.range_search(asked, THRESHOLD + 1)
        qrow = np.repeat(np.arange(len(asked)), np.diff(lims).astype(np.int64))
        pairs = np.stack([qrow, labels.astype(np.int64)], axis=1)
    search_s = time.perf_counter() - start
    result = {"load_s": load_s, "qps": len(asked) / search_s, "sample": len(asked)}
    result["rss"] = rss() - before
    np.save(folder / f"{kind}-pairs.npy", pairs, allow_pickle=False)
    if kind == "vigil":
        # The whole case at once: every image queried with its 8 dihedral variants. Random
        # codes stand in for the variants (their cost does not depend on how they relate).
        images = len(asked) // VARIANTS
        rng = np.random.default_rng(SEED + 1)
        variants = rng.integers(0, 256, (images, VARIANTS, 32), dtype=np.uint8)
        variants[:, 0] = asked[:images]
        start = time.perf_counter()
        index.search(variants.reshape(-1, 32), threshold=THRESHOLD)
        result["images_per_s"] = images / (time.perf_counter() - start)
        # All of it on: the 8 dihedral hashes and the 8 window hashes of every image.
        per_image = VARIANTS + WINDOWS
        images = len(asked) // per_image
        everything = rng.integers(0, 256, (images, per_image, 32), dtype=np.uint8)
        everything[:, 0] = asked[:images]
        start = time.perf_counter()
        index.search(everything.reshape(-1, 32), threshold=THRESHOLD)
        result["images_all_per_s"] = images / (time.perf_counter() - start)
        result["rss"] = rss() - before
    return result


# -- driver -------------------------------------------------------------------------------


def run(args: list[str]) -> dict:
    cmd = [sys.executable, __file__, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker failed: {' '.join(args)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def recall(got: np.ndarray, want: np.ndarray, sample: int) -> tuple[float, int]:
    """(fraction of the oracle's pairs found, pairs found that the oracle does not have)."""
    want = want[want[:, 0] < sample]
    got = got[got[:, 0] < sample]
    key = lambda a: set(map(tuple, a.tolist()))  # noqa: E731
    w, g = key(want), key(got)
    return (len(w & g) / len(w) if w else 1.0), len(g - w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--brute-queries", type=int, default=None, help="default 5e10/size")
    parser.add_argument("--mih-queries", type=int, default=None, help="default 1e10/size")
    parser.add_argument("--indexes", default="brute,tx-mih,vigil")
    parser.add_argument("--worker", nargs=5, metavar=("ROLE", "KIND", "SIZE", "SAMPLE", "DIR"))
    ns = parser.parse_args()
    if ns.worker:
        role, kind, size, sample, name = ns.worker
        folder = Path(name)
        if role == "data":
            result = data_worker(int(size), ns.queries, folder)
        elif role == "build":
            result = build_worker(kind, int(size), folder, folder / kind)
        else:
            result = query_worker(kind, int(sample), folder, folder / kind)
        print(json.dumps(result))
        return

    kinds = ns.indexes.split(",")
    rows = []
    for size in (int(s) for s in ns.sizes.split(",")):
        samples = {
            "brute": min(ns.queries, ns.brute_queries or 50_000 * 10**6 // size),
            "tx-mih": min(ns.queries, ns.mih_queries or 10_000 * 10**6 // size),
            "vigil": ns.queries,
        }
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
            stats = {}
            common = ["--queries", str(ns.queries), "--worker"]
            run([*common, "data", "-", str(size), "0", tmp])
            for kind in kinds:
                built = run([*common, "build", kind, str(size), "0", tmp])
                queried = run([*common, "query", kind, str(size), str(samples[kind]), tmp])
                stats[kind] = {**built, **queried}
                print(f"# {size:,} {kind}: {stats[kind]}", file=sys.stderr, flush=True)
            pairs = {k: np.load(Path(tmp) / f"{k}-pairs.npy") for k in kinds}
        for kind in kinds:
            if "brute" in kinds:
                sample = min(samples["brute"], samples[kind])
                stats[kind]["recall"], stats[kind]["extra"] = recall(
                    pairs[kind], pairs["brute"], sample
                )
                stats[kind]["recall_on"] = sample
            rows.append((size, kind, stats[kind]))
        if {"vigil", "tx-mih", "brute"} <= set(kinds):
            v = stats["vigil"]["qps"]
            rows.append(
                (
                    size,
                    "ratio",
                    {"vs_tx": v / stats["tx-mih"]["qps"], "vs_brute": v / stats["brute"]["qps"]},
                )
            )
    print_table(rows)


def print_table(rows: list[tuple[int, str, dict]]) -> None:
    head = (
        f"{'known':>11} {'index':<8} {'layout':>6} {'build s':>8} {'load s':>7} {'q/s':>8} "
        f"{'timed on':>8} {'recall@31':>10} {'extra':>5} {'RSS MB':>7} {'B/hash':>7} "
        f"{'build B/h':>7} "
        f"{'disk B/h':>8} {'img/s(8)':>9} {'img/s(16)':>9}"
    )
    print(head)
    print("-" * len(head))
    for size, kind, s in rows:
        if kind == "ratio":
            print(
                f"{size:>11,} {'ratio':<8} Vigil/threatexchange = {s['vs_tx']:.1f}x, "
                f"Vigil/brute force = {s['vs_brute']:.1f}x (queries/s)"
            )
            continue
        rec = f"{100 * s['recall']:.2f}%" if "recall" in s else "-"
        img = f"{s['images_per_s']:,.0f}" if "images_per_s" in s else "-"
        img_all = f"{s['images_all_per_s']:,.0f}" if "images_all_per_s" in s else "-"
        print(
            f"{size:>11,} {kind:<8} {s.get('layout', '-'):>6} {s['build_s']:>8.1f} "
            f"{s['load_s']:>7.2f} {s['qps']:>8,.0f} {s['sample']:>8,} {rec:>10} "
            f"{s.get('extra', 0):>5} {s['rss'] / 2**20:>7,.0f} {s['rss'] / size:>7.1f} "
            f"{s['build_rss'] / size:>7.1f} "
            f"{s['disk'] / size:>8.1f} {img:>9} {img_all:>9}"
        )
    print(
        "RSS MB, B/hash: RSS growth after loading the saved index and searching (mmap pages "
        "touched count); build B/h: RSS growth over building (input not counted). recall@31 is "
        "measured against brute force on the first `timed on` queries of the smaller sample; "
        "extra = pairs not in the oracle's answer. img/s(8): case images matched per second, "
        "querying their 8 dihedral variants; img/s(16): with the 8 crop-window hashes too."
    )


if __name__ == "__main__":
    main()
