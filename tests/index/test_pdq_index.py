"""The fast index against the brute-force oracle: both must return the same matches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.errors import ConfigError
from vigil.index import MATCH_DTYPE, BruteForceIndex, Layout, PdqIndex
from vigil.index.codec import flip_bits

MAX_FLIPS = 40


def planted(
    seed: int, n: int, per_k: int = 3, clustered: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, known codes, queries): every query is a known code with exactly k bits flipped,
    `per_k` queries for each k in 0..40, plus a few random queries that match nothing."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    if clustered:  # near-duplicates inside the known list too, so one query hits many
        base = codes[rng.integers(0, n, n // 4)]
        codes[: n // 4] = flip_bits(base, rng.integers(0, 24, n // 4), rng)
    ids = rng.choice(10 * n, n, replace=False).astype(np.int64) + 5
    k = np.repeat(np.arange(MAX_FLIPS + 1), per_k)
    near = flip_bits(codes[rng.integers(0, n, k.size)], k, rng)
    far = rng.integers(0, 256, (5, 32), dtype=np.uint8)
    return ids, codes, np.concatenate([near, far])


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return planted(7, 20_000, clustered=True)


@pytest.fixture(scope="module")
def oracle(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> BruteForceIndex:
    ids, codes, _ = data
    return BruteForceIndex.build(ids, codes)


@pytest.mark.parametrize("threshold", [0, 1, 5, 10, 11, 16, 22, 31, 32, 33, 40])
@pytest.mark.parametrize("method", ["probe", "scan", "auto"])
def test_same_matches_as_brute_force(data, oracle, threshold: int, method: str) -> None:
    ids, codes, queries = data
    index = PdqIndex.build(ids, codes, layout=Layout(11, 16))
    got = index.search(queries, threshold=threshold, method=method)
    want = oracle.search(queries, threshold=threshold)
    assert got.dtype == MATCH_DTYPE
    assert np.array_equal(got, want)
    if threshold == 31:  # every planted neighbour up to 31 flips is among the matches
        assert len(want) >= 3 * 32


@pytest.mark.parametrize(
    "layout", [Layout(8, 32 - 8), Layout(16, 16), Layout(32, 8), Layout(5, 12)]
)
def test_other_layouts_are_exact(data, oracle, layout: Layout) -> None:
    ids, codes, queries = data
    index = PdqIndex.build(ids, codes, layout=layout)
    for threshold in (3, 31):
        want = oracle.search(queries, threshold=threshold)
        assert np.array_equal(index.search(queries, threshold=threshold, method="probe"), want)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.integers(0, 40), tables=st.integers(4, 16))
def test_random_lists_agree(seed: int, threshold: int, tables: int) -> None:
    ids, codes, queries = planted(seed, 3000, per_k=1, clustered=seed % 2 == 0)
    layout = Layout(tables, min(12, 256 // tables))
    index = PdqIndex.build(ids, codes, layout=layout)
    want = BruteForceIndex.build(ids, codes).search(queries, threshold=threshold)
    assert np.array_equal(index.search(queries, threshold=threshold, method="probe"), want)


def test_radii_satisfy_pigeonhole() -> None:
    for tables in range(1, 33):
        layout = Layout(tables, min(20, 256 // tables))
        for threshold in range(0, 64):
            if threshold + 1 > tables * layout.bits:
                with pytest.raises(ValueError):
                    layout.radii(threshold)
                continue
            radii = layout.radii(threshold)
            assert sum(r + 1 for r in radii) == threshold + 1
            assert max(radii) - min(radii) <= 1
    assert Layout(11, 22).radii(31) == [2] * 10 + [1]


def test_default_layout_follows_size() -> None:
    assert Layout.for_size(10_000_000) == Layout(11, 23)
    assert Layout.for_size(1_000_000) == Layout(11, 19)
    assert Layout.for_size(0).bits == 8
    assert Layout.for_size(10**10).bits == 23  # never more than 256 // 11


def test_planted_neighbours_found_with_distance(data) -> None:
    ids, codes, _ = data
    rng = np.random.default_rng(3)
    rows = rng.integers(0, len(codes), 41)
    queries = flip_bits(codes[rows], np.arange(41), rng)
    got = PdqIndex.build(ids, codes).search(queries, method="probe")
    pairs = {(int(q), int(i)): int(d) for q, i, d in got}
    for k in range(32):
        assert pairs[(k, int(ids[rows[k]]))] == k


def test_add_equals_build_on_union(data) -> None:
    ids, codes, queries = data
    whole = PdqIndex.build(ids, codes)
    grown = PdqIndex.build(ids[:5000], codes[:5000])
    grown.add(ids[5000:12000], codes[5000:12000])
    grown.add(ids[12000:12000], codes[12000:12000])  # adding nothing is a no-op
    grown.add(ids[12000:], codes[12000:])
    assert len(grown) == len(whole) == len(codes)
    for method in ("probe", "scan"):
        assert np.array_equal(grown.search(queries, method=method), whole.search(queries))


def test_add_to_empty_and_large_ids() -> None:
    ids, codes, queries = planted(11, 2000)
    ids = ids + 2**40  # does not fit uint32: stored as int64
    index = PdqIndex()
    assert len(index) == 0
    index.add(ids, codes)
    want = BruteForceIndex.build(ids, codes).search(queries)
    assert np.array_equal(index.search(queries, method="probe"), want)
    assert want["id"].min() >= 2**40


def test_empty_index_and_empty_queries() -> None:
    empty = PdqIndex.build(np.zeros(0, np.int64), np.zeros((0, 32), np.uint8))
    queries = np.zeros((4, 32), np.uint8)
    for index in (empty, PdqIndex(), BruteForceIndex()):
        assert len(index) == 0
        result = index.search(queries)
        assert result.dtype == MATCH_DTYPE and len(result) == 0
    ids, codes, _ = planted(1, 100)
    assert len(PdqIndex.build(ids, codes).search(np.zeros((0, 32), np.uint8))) == 0


def test_threshold_validation(data) -> None:
    ids, codes, queries = data
    with pytest.raises(ConfigError):
        PdqIndex(threshold=257)
    with pytest.raises(ConfigError):
        PdqIndex.build(ids, codes, threshold=-1)
    index = PdqIndex.build(ids[:500], codes[:500], threshold=20)
    assert index.threshold == 20
    with pytest.raises(ConfigError):
        index.search(queries, threshold=300)
    # Beyond what probing can reach, auto falls back to an exact scan; probe refuses.
    small = PdqIndex.build(ids[:500], codes[:500], layout=Layout(4, 8))
    want = BruteForceIndex.build(ids[:500], codes[:500]).search(queries, threshold=80)
    assert np.array_equal(small.search(queries, threshold=80), want)
    with pytest.raises(ValueError):
        small.search(queries, threshold=80, method="probe")


def test_default_threshold_is_the_configured_one(data, oracle) -> None:
    ids, codes, queries = data
    index = PdqIndex.build(ids, codes, threshold=12)
    assert np.array_equal(index.search(queries), oracle.search(queries, threshold=12))


def test_duplicate_codes_all_reported() -> None:
    rng = np.random.default_rng(5)
    codes = np.repeat(rng.integers(0, 256, (3, 32), dtype=np.uint8), 50, axis=0)
    ids = np.arange(150, dtype=np.uint64)
    got = PdqIndex.build(ids, codes, layout=Layout(11, 12)).search(codes[:1], method="probe")
    assert sorted(got["id"].tolist()) == list(range(50))
    assert (got["distance"] == 0).all()


def test_bad_inputs() -> None:
    codes = np.zeros((3, 32), np.uint8)
    with pytest.raises(ValueError):
        PdqIndex.build(np.arange(2), codes)
    with pytest.raises(ValueError):
        PdqIndex.build(np.array([-1, 0, 1]), codes)
    with pytest.raises(ValueError):
        PdqIndex.build(np.arange(3), codes[:, :16])
    with pytest.raises(ValueError):
        PdqIndex.build(np.arange(3), codes).search(codes, method="magic")  # type: ignore[arg-type]


def test_threads_give_the_same_answer(data) -> None:
    ids, codes, queries = data
    index = PdqIndex.build(ids, codes)
    many = np.concatenate([queries] * 20)  # several batches
    one = index.search(many, method="probe", workers=1)
    assert np.array_equal(index.search(many, method="probe", workers=3), one)
    assert np.array_equal(one, BruteForceIndex.build(ids, codes).search(many))


def test_mass_duplicates_narrow_the_blocks() -> None:
    """More than 65,535 copies of one hash overflow uint16 block starts: blocks shrink."""
    rng = np.random.default_rng(8)
    codes = np.concatenate(
        [
            np.repeat(rng.integers(0, 256, (1, 32), dtype=np.uint8), 70_000, axis=0),
            rng.integers(0, 256, (2000, 32), dtype=np.uint8),
        ]
    )
    ids = np.arange(len(codes))
    index = PdqIndex.build(ids, codes, layout=Layout(11, 12))
    assert index._shift < 6
    queries = flip_bits(codes[[0, 70_001, 70_002]], [3, 0, 31], rng)
    want = BruteForceIndex.build(ids, codes).search(queries)
    assert len(want) >= 70_002
    assert np.array_equal(index.search(queries, method="probe"), want)


def test_extreme_thresholds_and_complements() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    ids = np.arange(300)
    queries = np.concatenate([~codes[:3], flip_bits(codes[3:6], [255, 254, 200], rng)])
    oracle = BruteForceIndex.build(ids, codes)
    for layout in (Layout(32, 8), Layout(4, 8), None):
        index = PdqIndex.build(ids, codes, layout=layout)
        for threshold in (200, 254, 255, 256):
            want = oracle.search(queries, threshold=threshold)
            assert np.array_equal(index.search(queries, threshold=threshold), want)
    # All 32 chunks probed at radius 7: the largest threshold probing can serve on 8 bits.
    want = oracle.search(queries, threshold=255)
    got = PdqIndex.build(ids, codes, layout=Layout(32, 8)).search(
        queries, threshold=255, method="probe"
    )
    assert np.array_equal(got, want)
    assert 256 not in want["distance"] and 255 in want["distance"]
