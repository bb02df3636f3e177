"""Triage benchmark: visual clustering (vigil.triage.clusters) of synthetic PDQ records with
planted truth: time, peak memory, purity and recall.

Records (one per content), shuffled: that order is the first-seen order clustering gets.
  groups  half the records: groups of 2–20 copies of one picture (random dihedral and window
          hashes), the unedited original and copies 0–`--max-flips` (20) random bits from
          it: 80% whole pictures, 10% mirrored or rotated (their dihedral hashes are the
          original's, permuted as the dihedral group says), 5% crops (full hash near one of
          the original's windows), 5% captioned (a window near the original's full hash)
  chains  5%: runs of 6–10 records, each 8 bits further from the run's first than the last
  series  10%: groups of 5–15 records 24–40 bits from a common picture not in the case
          (similar shots, not copies: pairwise mostly beyond the threshold)
  noise   the rest: random hashes
With `--all-variants` every record carries its 8 dihedral and 6 window hashes, as ingest
stores them (14 index queries a record). Without it a record carries its full hash and only
the hashes its relation needs (a mirrored copy the dihedral hash that meets the original's
full hash; the originals of cropped pictures their windows): one query a record, but a
mirrored or cropped copy seen before its original cannot gather the whole copies.

  purity  fraction of clustered records whose cluster's majority truth label is their own;
          labels: the planted group, the chain (splitting a chain is the rule's intent, so it
          costs nothing; merging two chains would), every series and noise record its own
  recall  fraction of planted-group records that are in their group's majority cluster
  chains  the most chain records in one cluster, and their largest distance to its anchor
Targets: 1M records in < 5 min on one core with flat memory; purity >= 0.99, recall >= 0.95.
Clustering runs in a subprocess pinned to one core (`--cores 1`, the default) or to all, so
time and peak RSS (ru_maxrss, with the input arrays it loads) belong to it alone.

Usage: python benchmarks/triage.py [--size 100000] [--all-variants] [--max-flips 20]
                                   [--cores 1|all]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from vigil.index.codec import flip_bits
from vigil.triage.anchors import FIRST_WINDOW, FULL, Contents
from vigil.triage.clusters import cluster

THRESHOLD = 31
SEED = 20261203
WINDOWS = 6
_CHUNK = 50_000  # rows per flip_bits call: its scratch is 2 KB a row


def flipped(codes: np.ndarray, flips: np.ndarray | int, rng: np.random.Generator) -> np.ndarray:
    """`flip_bits` in chunks, so its scratch stays small at millions of rows."""
    flips = np.broadcast_to(flips, len(codes))
    parts = [
        flip_bits(codes[i : i + _CHUNK], flips[i : i + _CHUNK], rng)
        for i in range(0, len(codes), _CHUNK)
    ]
    return np.concatenate(parts) if parts else codes.copy()


def groups(total: int, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """Group sizes in low..high adding up to at most `total`."""
    sizes = rng.integers(low, high + 1, max(1, total // low))
    return sizes[: np.searchsorted(np.cumsum(sizes), total, side="right")]


def dihedral_table() -> np.ndarray:
    """compose[k, t]: the transform "k after t" in DIHEDRAL_ORDER numbering (rotations 0–3,
    reflections 4–7), so dihedral hash k of a copy transformed by t is the original's hash
    compose[k, t]. Only the group structure matters here, not which flip is which."""
    rot, ref = np.array([[0, -1], [1, 0]]), np.array([[1, 0], [0, -1]])
    mats = [np.linalg.matrix_power(rot, i) for i in range(4)]
    mats += [m @ ref for m in mats]
    where = {m.tobytes(): i for i, m in enumerate(mats)}
    return np.array([[where[(a @ b).tobytes()] for b in mats] for a in mats])


COMPOSE = dihedral_table()
INVERSE = np.argmax(COMPOSE == 0, axis=0)  # INVERSE[t]: the k with compose[k, t] = original


def chains(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Runs of hashes, each step flipping 8 bits its run has not flipped before: record j of a
    run is exactly 8·|i - j| bits from record i."""
    run = np.repeat(np.arange(len(sizes)), sizes)
    step = np.arange(len(run)) - np.repeat(np.r_[0, np.cumsum(sizes)[:-1]], sizes)
    bit = np.argsort(rng.random((len(sizes), 256)), axis=1)[run]  # each run's bit order
    flipped_by = np.zeros((len(run), 256), dtype=bool)  # bits flipped since the run's start
    np.put_along_axis(flipped_by, bit, np.arange(256)[None, :] < 8 * step[:, None], axis=1)
    start = rng.integers(0, 256, (len(sizes), 32), dtype=np.uint8)
    return start[run] ^ np.packbits(flipped_by, axis=1)


def make_records(
    n: int, all_variants: bool, max_flips: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Arrays of `Contents` (owner = record number, keys = first-seen order) plus `label`
    and `kind` (0 planted group, 1 chain, 2 series or noise) per processed content."""
    random = lambda m: rng.integers(0, 256, (m, 32), dtype=np.uint8)  # noqa: E731
    sizes = groups(n // 2, 2, 20, rng)
    group = np.repeat(np.arange(len(sizes)), sizes)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    dihedral = random(len(sizes) * 8).reshape(len(sizes), 8, 32)  # [:, 0] is the full hash
    window = random(len(sizes) * WINDOWS).reshape(len(sizes), WINDOWS, 32)
    flips = rng.integers(0, max_flips + 1, len(group))
    relation = rng.choice(4, len(group), p=[0.8, 0.1, 0.05, 0.05])
    flips[first], relation[first] = 0, 0
    turn, win = rng.integers(1, 8, len(group)), rng.integers(0, WINDOWS, len(group))
    whole, mirror, crop, caption = (np.flatnonzero(relation == r) for r in range(4))
    blocks: list[tuple[np.ndarray, np.ndarray | int, np.ndarray]] = []

    def near(rows: np.ndarray, variant: np.ndarray | int, src: np.ndarray) -> None:
        blocks.append((rows, variant, flipped(src, flips[rows], rng)))

    for v in range(8) if all_variants else [FULL]:
        near(whole, v, dihedral[group[whole], v])
        near(mirror, v, dihedral[group[mirror], COMPOSE[v, turn[mirror]]])
    if not all_variants:  # the one hash that relates a mirrored copy to its original
        near(mirror, INVERSE[turn[mirror]], dihedral[group[mirror], FULL])
    keeps = whole if all_variants else first[np.unique(group[crop])]
    for w in range(WINDOWS):
        near(keeps, FIRST_WINDOW + w, window[group[keeps], w])
    near(crop, FULL, window[group[crop], win[crop]])
    near(caption, FIRST_WINDOW + win[caption], dihedral[group[caption], FULL])

    chain_sizes = groups(n // 20, 6, 10, rng)
    chain = chains(chain_sizes, rng)
    series_sizes = groups(n // 10, 5, 15, rng)
    base = random(len(series_sizes))[np.repeat(np.arange(len(series_sizes)), series_sizes)]
    series = flipped(base, rng.integers(24, 41, len(base)), rng)
    at = len(group)
    blocks.append((np.arange(at, at + len(chain)), FULL, chain))
    at += len(chain)
    blocks.append((np.arange(at, at + len(series)), FULL, series))
    # Everything not planted is random; the planted rows come first and win the dedupe.
    for v in [*range(8), *range(FIRST_WINDOW, FIRST_WINDOW + WINDOWS)] if all_variants else [FULL]:
        blocks.append((np.arange(n), v, random(n)))
    owner = np.concatenate([rows for rows, _, _ in blocks])
    variant = np.concatenate([np.broadcast_to(v, len(rows)) for rows, v, _ in blocks])
    _, keep = np.unique(owner * 64 + variant, return_index=True)

    kind = np.full(n, 2, dtype=np.int8)
    kind[: len(group)], kind[len(group) : len(group) + len(chain)] = 0, 1
    label = np.arange(n) + len(sizes) + len(chain_sizes)  # series and noise: their own
    label[kind == 0] = group
    label[kind == 1] = len(sizes) + np.repeat(np.arange(len(chain_sizes)), chain_sizes)
    order = rng.permutation(n)  # first-seen order
    return {
        "keys": order,
        "quality": np.full(n, 90),
        "codes": np.concatenate([codes for _, _, codes in blocks])[keep],
        "owner": owner[keep],
        "variant": variant[keep],
        "label": label[order],
        "kind": kind[order],
    }


def worker(folder: Path, cores: str) -> dict:
    if cores == "1":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    arrays = {
        k: np.load(folder / f"{k}.npy") for k in ("keys", "quality", "codes", "owner", "variant")
    }
    contents = Contents(**arrays)
    loaded = psutil.Process().memory_info().rss
    start = time.perf_counter()
    got, anchors = cluster(contents, threshold=THRESHOLD, workers=1 if cores == "1" else None)
    seconds = time.perf_counter() - start
    np.save(folder / "cluster.npy", got.cluster)
    np.save(folder / "distance.npy", got.distance)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "peak": peak,
        "loaded": loaded,
        "inputs": sum(a.nbytes for a in arrays.values()),
        "hashes": len(contents.codes),
        "clusters": int(got.anchor.sum()),
        "anchor_rows": len(anchors),
    }


def majority(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct value of `a` (sorted): the most common `b` with it, and how often."""
    pairs, count = np.unique(np.stack([a, b]), axis=1, return_counts=True)
    order = np.lexsort((-count, pairs[0]))
    first = order[np.r_[True, pairs[0][order][1:] != pairs[0][order][:-1]]]
    return pairs[0][first], pairs[1][first], count[first]


def scores(cluster_id: np.ndarray, label: np.ndarray, kind: np.ndarray) -> tuple[float, float]:
    """(purity, recall) as the module docstring defines them."""
    ok = cluster_id >= 0
    clusters, labels, _ = majority(cluster_id[ok], label[ok])
    purity = float(np.mean(labels[np.searchsorted(clusters, cluster_id[ok])] == label[ok]))
    planted = kind == 0
    _, _, together = majority(label[planted], cluster_id[planted])
    return purity, float(together.sum() / planted.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--all-variants", action="store_true")
    parser.add_argument("--max-flips", type=int, default=20)
    parser.add_argument("--cores", choices=["1", "all"], default="1")
    parser.add_argument("--worker", metavar="DIR")
    ns = parser.parse_args()
    if ns.worker:
        print(json.dumps(worker(Path(ns.worker), ns.cores)))
        return
    with tempfile.TemporaryDirectory(prefix="vigil-triage-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        data = make_records(ns.size, ns.all_variants, ns.max_flips, np.random.default_rng(SEED))
        for name, arr in data.items():
            np.save(folder / f"{name}.npy", arr, allow_pickle=False)
        made = time.perf_counter() - start
        cmd = [sys.executable, __file__, "--worker", tmp, "--cores", ns.cores]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit("clustering worker failed")
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        got, distance = np.load(folder / "cluster.npy"), np.load(folder / "distance.npy")
    purity, recall = scores(got, data["label"], data["kind"])
    chained = data["kind"] == 1
    spread = int(distance[chained].max(initial=0))
    run = int(np.unique(got[chained], return_counts=True)[1].max(initial=0))
    minutes = stats["seconds"] / 60
    print(
        f"{ns.size:,} records ({stats['hashes']:,} hashes, "
        f"{'all variants' if ns.all_variants else 'planted variants only'}), "
        f"{ns.cores} core(s); data made in {made:.1f} s"
    )
    print(
        f"  clustering   {stats['seconds']:.1f} s ({minutes:.2f} min; target < 5 min at 1M) "
        f"= {ns.size / stats['seconds']:,.0f} records/s"
    )
    grown = stats["peak"] - stats["loaded"]
    print(
        f"  peak RSS     {stats['peak'] / 2**20:,.0f} MB: {stats['loaded'] / 2**20:,.0f} MB "
        f"before clustering (input arrays {stats['inputs'] / 2**20:,.0f} MB), then "
        f"+{grown / 2**20:,.0f} MB = {grown / ns.size:,.0f} B/record"
    )
    print(f"  clusters     {stats['clusters']:,} (anchor hashes kept: {stats['anchor_rows']:,})")
    print(f"  purity       {purity:.4f} (target >= 0.99)")
    print(f"  recall       {recall:.4f} (target >= 0.95)")
    print(
        f"  chains       at most {run} chain records in one cluster (of 8-bit steps, "
        f"{2 * (THRESHOLD // 8) + 1} fit within {THRESHOLD} of the middle one), members at "
        f"most {spread} bits from their anchor"
    )


if __name__ == "__main__":
    main()
