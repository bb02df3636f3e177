"""Saved indexes: documented layout, no pickle, same answers after loading, damage detected."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vigil.errors import StoreError
from vigil.index import BruteForceIndex, PdqIndex
from vigil.index.codec import flip_bits


@pytest.fixture(scope="module")
def built() -> tuple[PdqIndex, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    ids = np.arange(5000, dtype=np.int64) * 3
    queries = flip_bits(codes[:82], np.arange(82) % 41, rng)
    want = BruteForceIndex.build(ids, codes).search(queries, threshold=31)
    return PdqIndex.build(ids, codes), queries, want


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_same_results(tmp_path: Path, built, mmap: bool) -> None:
    index, queries, want = built
    index.save(tmp_path / "idx")
    loaded = PdqIndex.load(tmp_path / "idx", mmap=mmap, verify=True)
    assert len(loaded) == len(index)
    assert loaded.layout == index.layout and loaded.threshold == index.threshold
    for method in ("probe", "scan"):
        assert np.array_equal(loaded.search(queries, method=method), want)


def test_sidecar_documents_the_arrays(tmp_path: Path, built) -> None:
    index, _, _ = built
    index.save(tmp_path)
    meta = json.loads((tmp_path / "index.json").read_text())
    assert meta["format"] == "vigil-pdq-mih" and meta["version"] == 1
    assert meta["count"] == len(index)
    assert meta["parameters"]["tables"] == index.layout.tables
    assert set(meta["arrays"]) == {"codes", "ids", "blocks", "starts", "postings"}
    for entry in meta["arrays"].values():
        path = tmp_path / entry["file"]
        assert path.stat().st_size == entry["bytes"] and len(entry["sha256"]) == 64
        np.load(path, allow_pickle=False)  # plain .npy, no objects


def test_loaded_index_can_grow(tmp_path: Path, built) -> None:
    index, queries, want = built
    index.save(tmp_path)
    loaded = PdqIndex.load(tmp_path)
    rng = np.random.default_rng(9)
    extra = rng.integers(0, 256, (100, 32), dtype=np.uint8)
    loaded.add(np.arange(100) + 10**6, extra)
    assert len(loaded) == len(index) + 100
    got = loaded.search(np.concatenate([queries, extra[:3]]), method="probe")
    assert np.array_equal(got[got["query"] < len(queries)], want)
    assert sorted(got[got["query"] >= len(queries)]["id"].tolist()) == [10**6, 10**6 + 1, 10**6 + 2]


def test_missing_sidecar(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a saved index"):
        PdqIndex.load(tmp_path)


def test_wrong_format_or_version(tmp_path: Path, built) -> None:
    index, _, _ = built
    index.save(tmp_path)
    sidecar = tmp_path / "index.json"
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(StoreError, match="version"):
        PdqIndex.load(tmp_path)
    sidecar.write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(StoreError, match="format"):
        PdqIndex.load(tmp_path)


def test_damage_detected(tmp_path: Path, built) -> None:
    index, _, _ = built
    index.save(tmp_path)
    codes = tmp_path / "codes.npy"
    data = bytearray(codes.read_bytes())
    data[-1] ^= 1
    codes.write_bytes(bytes(data))
    PdqIndex.load(tmp_path)  # same size: only the checksum notices
    with pytest.raises(StoreError, match="sha256"):
        PdqIndex.load(tmp_path, verify=True)
    codes.write_bytes(bytes(data[:-32]))
    with pytest.raises(StoreError, match="size"):
        PdqIndex.load(tmp_path)


def test_save_over_an_older_index(tmp_path: Path, built) -> None:
    index, queries, want = built
    PdqIndex.build(np.arange(10), np.zeros((10, 32), np.uint8)).save(tmp_path)
    index.save(tmp_path)
    assert np.array_equal(PdqIndex.load(tmp_path).search(queries), want)
