"""Triage on a case store: grouping (`update_groups`) and the priority queue (`build_queue`) on
generated records with planted clusters, series (one camera body each) and background noise.

Records are written through `RecordWriter` into a SQLite case (no images are decoded: each
record carries a synthetic PDQ hash, dihedral variants equal to it, EXIF camera fields and a
capture time), then grouped and queued. Printed: records/s for both phases against the
writer's own rate measured in the same run (the baseline), peak RSS, and whether every planted
cluster and series came out whole (recall) and unmixed (purity).

Usage: python benchmarks/triage_store.py [--size 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from vigil.config import Settings
from vigil.index.codec import codes_to_hex, flip_bits
from vigil.model import FileRecord, Kind, Locator
from vigil.store import CaseStore, RecordWriter, iter_files
from vigil.triage.grouping import update_groups
from vigil.triage.queue import build_queue
from vigil.triage.weights import Weights

CLUSTER = 5  # members of a planted cluster, each within 8 bits of its anchor
SERIES = 4  # clusters per planted series, tied by one camera body


def records(size: int, rng: np.random.Generator):
    """(record, planted cluster id or -1, planted series id or -1), `size` of them."""
    planted = size // 2
    n_clusters = planted // CLUSTER
    anchors = rng.integers(0, 256, (n_clusters, 32), dtype=np.uint8)
    i = 0
    for c in range(n_clusters):
        series = c // SERIES if c % 2 == 0 else -1  # half the clusters sit in a series
        hashes = codes_to_hex(flip_bits(np.repeat(anchors[c : c + 1], CLUSTER, 0), 8, rng))
        for h in hashes:
            exif = {"make": "Bench", "model": "B1"}
            if series >= 0:
                exif["serial"] = f"S{series}"
            yield _record(i, h, exif), c, series
            i += 1
    for h in codes_to_hex(rng.integers(0, 256, (size - i, 32), dtype=np.uint8)):
        yield _record(i, h, {}), -1, -1
        i += 1


def _record(i: int, pdq: str, exif: dict) -> FileRecord:
    return FileRecord(
        locator=Locator(f"d{i // 1000}/f{i}.jpg".encode()),
        size=1000 + i,
        sha256=f"{i:064x}",
        kind=Kind.IMAGE,
        pdq=pdq,
        pdq_quality=90,
        pdq_dihedral=(pdq,) * 8,
        exif=exif,
    )


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def purity_recall(store: CaseStore, truth: dict[str, tuple[int, int]]) -> tuple[float, float]:
    """Per planted cluster: recall = share of clusters whose members all share one group;
    purity = share of grouped planted records whose group holds no other planted cluster
    outside their own series."""
    members: dict[str, set[str]] = defaultdict(set)
    label_of: dict[str, str] = {}
    for row in iter_files(store):
        label_of[row["sha256"]] = row["group"]
        members[row["group"]].add(row["sha256"])
    by_cluster: dict[int, set[str]] = defaultdict(set)
    for sha, (cluster, _) in truth.items():
        if cluster >= 0:
            by_cluster[cluster].add(label_of[sha])
    recall = sum(len(labels) == 1 for labels in by_cluster.values()) / max(len(by_cluster), 1)
    pure = total = 0
    for sha, (cluster, series) in truth.items():
        if cluster < 0:
            continue
        total += 1
        mates = {truth[m] for m in members[label_of[sha]]}
        pure += all(c == cluster or (series >= 0 and s == series) for c, s in mates)
    return pure / max(total, 1), recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = (args.keep or Path(tmp)) / "case"
        store = CaseStore.create(case)
        truth: dict[str, tuple[int, int]] = {}
        started = time.perf_counter()
        with RecordWriter(store, batch_size=2000) as writer:
            source = writer.source_id("bench", "/bench", single_file=False)
            for rec, cluster, series in records(args.size, np.random.default_rng(7)):
                truth[rec.sha256] = (cluster, series)
                writer.add(source, rec.locator.relpath, [rec])
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        summary = update_groups(store, Settings())
        group_s = time.perf_counter() - started
        started = time.perf_counter()
        queue = build_queue(store, Weights(), limit=100)
        queue_s = time.perf_counter() - started
        purity, recall = purity_recall(store, truth)
        store.close()
    n = args.size
    print(f"{n:,} records: write {n / write_s:,.0f}/s (baseline)")
    print(
        f"grouping {n / group_s:,.0f}/s ({group_s:.1f} s, {write_s / group_s:.2f}x the write "
        f"rate): {summary.new_clusters:,} clusters, series ties {summary.series_ties}"
    )
    print(f"queue    {n / queue_s:,.0f}/s ({queue_s:.1f} s), top score {queue[0].score:g}")
    print(f"planted clusters: purity {purity:.3f}, recall {recall:.3f} (targets 0.99 / 0.95)")
    print(f"peak RSS {rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
